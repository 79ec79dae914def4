package groups

// The values --to-datetime and --by-duration take, parsed as Kafka's tool
// parses them (Kafka's Utils.getDateTime and Java's Duration.parse).

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parseDateTime parses Kafka's --to-datetime format,
// YYYY-MM-DDTHH:mm:SS.sss with an optional zone (Z, +hh:mm or -hh:mm);
// without a zone the time is local, as in Kafka. The milliseconds, which
// Kafka requires, may be left out here.
func parseDateTime(s string) (time.Time, error) {
	date, clock, ok := strings.Cut(s, "T")
	if !ok || date == "" || clock == "" {
		return time.Time{}, fmt.Errorf("invalid datetime %q: want YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm|-hh:mm]", s)
	}
	// Go accepts a fractional second after the seconds when parsing, even
	// where the layout has none.
	if strings.ContainsAny(clock, "Z+-") {
		if t, err := time.Parse("2006-01-02T15:04:05Z07:00", s); err == nil {
			return t, nil
		}
	} else if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q: want YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm|-hh:mm]", s)
}

// isoDuration is Java's Duration.parse grammar: an optional sign, P, days,
// then after T hours, minutes and seconds with up to nine decimals; each
// number may carry its own sign. Letters are case-insensitive.
var isoDuration = regexp.MustCompile(`(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)

// parseISODuration parses an ISO-8601 duration as Java's Duration.parse
// does (PnDTnHnMn.nS: "P1D", "PT6H", "PT1H30M", "PT0.5S", "-PT10M").
func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	// Java refuses "P", "PT" and a T with nothing after it.
	if m == nil || (m[2] == "" && m[4] == "" && m[5] == "" && m[6] == "") || strings.EqualFold(m[3], "T") {
		return 0, fmt.Errorf("invalid duration %q: want ISO-8601 PnDTnHnMn.nS, e.g. P1DT2H or PT30M", s)
	}
	var total time.Duration
	add := func(d time.Duration) bool {
		sum := total + d
		if (d > 0 && sum < total) || (d < 0 && sum > total) {
			return false
		}
		total = sum
		return true
	}
	for _, part := range []struct {
		v    string
		unit time.Duration
	}{{m[2], 24 * time.Hour}, {m[4], time.Hour}, {m[5], time.Minute}, {m[6], time.Second}} {
		if part.v == "" {
			continue
		}
		n, err := strconv.ParseInt(part.v, 10, 64)
		if err != nil || n > math.MaxInt64/int64(part.unit) || n < math.MinInt64/int64(part.unit) || !add(time.Duration(n)*part.unit) {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
	}
	if m[7] != "" {
		frac, _ := strconv.ParseInt((m[7] + "000000000")[:9], 10, 64)
		// The fraction takes the sign of the seconds it belongs to.
		if strings.HasPrefix(m[6], "-") {
			frac = -frac
		}
		if !add(time.Duration(frac)) {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
	}
	if m[1] == "-" {
		total = -total
	}
	return total, nil
}
