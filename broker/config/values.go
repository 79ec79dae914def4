package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Forever is the duration Kafka spells as Long.MAX_VALUE milliseconds: a
// limit that never expires (log.flush.scheduler.interval.ms,
// max.compaction.lag.ms, ...). time.Duration holds at most about 292 years;
// every longer millisecond value becomes Forever, and Forever turns back
// into Long.MAX_VALUE when a topic config is resolved or described.
const Forever = time.Duration(math.MaxInt64)

// Config types as DescribeConfigs reports them (kmsg.ConfigType, KIP-569).
const (
	TypeBoolean  = int8(kmsg.ConfigTypeBoolean)
	TypeString   = int8(kmsg.ConfigTypeString)
	TypeInt      = int8(kmsg.ConfigTypeInt)
	TypeShort    = int8(kmsg.ConfigTypeShort)
	TypeLong     = int8(kmsg.ConfigTypeLong)
	TypeDouble   = int8(kmsg.ConfigTypeDouble)
	TypeList     = int8(kmsg.ConfigTypeList)
	TypeClass    = int8(kmsg.ConfigTypeClass)
	TypePassword = int8(kmsg.ConfigTypePassword)
)

// Config sources as DescribeConfigs reports them (kmsg.ConfigSource).
const (
	SourceDynamicTopic         = int8(kmsg.ConfigSourceDynamicTopicConfig)         // 1: topic override
	SourceDynamicBroker        = int8(kmsg.ConfigSourceDynamicBrokerConfig)        // 2: AlterConfigs on this broker
	SourceDynamicDefaultBroker = int8(kmsg.ConfigSourceDynamicDefaultBrokerConfig) // 3: AlterConfigs cluster-wide default
	SourceStaticBroker         = int8(kmsg.ConfigSourceStaticBrokerConfig)         // 4: server.properties or a flag
	SourceDefault              = int8(kmsg.ConfigSourceDefaultConfig)              // 5: built-in default
)

// TypeName is the name Kafka's documentation uses for a config type.
func TypeName(t int8) string {
	switch t {
	case TypeBoolean:
		return "BOOLEAN"
	case TypeString:
		return "STRING"
	case TypeInt:
		return "INT"
	case TypeShort:
		return "SHORT"
	case TypeLong:
		return "LONG"
	case TypeDouble:
		return "DOUBLE"
	case TypeList:
		return "LIST"
	case TypeClass:
		return "CLASS"
	case TypePassword:
		return "PASSWORD"
	}
	return "UNKNOWN"
}

// ConfigErrorKind says what is wrong with a config.
type ConfigErrorKind int

const (
	// InvalidValue: the key is known but the value does not parse or is
	// out of range.
	InvalidValue ConfigErrorKind = iota
	// UnknownTopicConfig: the key is not a topic config.
	UnknownTopicConfig
	// UnknownBrokerConfig: the key is not a broker config Samsa knows.
	UnknownBrokerConfig
	// NotDynamic: the broker config exists but cannot be altered while the
	// broker runs.
	NotDynamic
)

// ConfigError reports a config the broker refuses. Its message follows
// Kafka's wording, since clients show it to users as is; the broker
// answers it with INVALID_CONFIG.
type ConfigError struct {
	Key    string
	Value  string
	Reason string
	Kind   ConfigErrorKind
}

func (e *ConfigError) Error() string {
	switch e.Kind {
	case UnknownTopicConfig:
		return "Unknown topic config name: " + e.Key
	case UnknownBrokerConfig:
		return "Unknown broker config name: " + e.Key
	case NotDynamic:
		return "Cannot update these configs dynamically: Set(" + e.Key + ")"
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", e.Value, e.Key, e.Reason)
}

// Values parse the way Kafka's ConfigDef parses them: surrounding
// whitespace is ignored, booleans are case-insensitive, lists are
// comma-separated with blanks around the commas ignored.

func parseBool(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, errors.New("expected true or false")
}

// parseInt parses a number of Kafka type typ (TypeShort, TypeInt or
// TypeLong) and checks it against [lo, hi].
func parseInt(v string, typ int8, lo, hi int64) (int64, error) {
	bits, typeMax := 64, int64(math.MaxInt64)
	switch typ {
	case TypeShort:
		bits, typeMax = 16, math.MaxInt16
	case TypeInt:
		bits, typeMax = 32, math.MaxInt32
	}
	if hi >= typeMax {
		hi = math.MaxInt64 // the type bounds it: say "at least lo"
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("out of range for type %s", TypeName(typ))
		}
		return 0, errors.New("not a number")
	}
	return n, checkRange(n, lo, hi)
}

func checkRange(n, lo, hi int64) error {
	switch {
	case lo != math.MinInt64 && hi != math.MaxInt64 && (n < lo || n > hi):
		return fmt.Errorf("must be between %d and %d", lo, hi)
	case n < lo:
		return fmt.Errorf("must be at least %d", lo)
	case n > hi:
		return fmt.Errorf("must be at most %d", hi)
	}
	return nil
}

func parseDouble(v string, lo, hi float64) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number")
	}
	if f < lo || f > hi {
		return 0, fmt.Errorf("must be between %s and %s", formatDouble(lo), formatDouble(hi))
	}
	return f, nil
}

// formatDouble writes a float as Java's Double.toString does for ordinary
// values ("0.5", "1.0").
func formatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// parseList splits a comma-separated list, dropping blanks around items.
func parseList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// parseChoice accepts one of choices (exact case, as Kafka's ValidString).
func parseChoice(v string, choices ...string) (string, error) {
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", fmt.Errorf("must be one of %s", strings.Join(choices, ", "))
}

// parseCleanupPolicy accepts "delete", "compact" or both, in any order.
// Kafka's ValidList would take an empty list too, leaving a log that is
// neither deleted nor compacted; Samsa refuses it as an easy mistake.
func parseCleanupPolicy(v string) (policy string, compact, del bool, err error) {
	items := parseList(v)
	if len(items) == 0 {
		return "", false, false, errors.New("must be compact, delete or both")
	}
	for _, it := range items {
		switch strings.ToLower(it) {
		case "compact":
			compact = true
		case "delete":
			del = true
		default:
			return "", false, false, fmt.Errorf("%q is not a cleanup policy: must be compact, delete or both", it)
		}
	}
	return strings.Join(items, ","), compact, del, nil
}

var compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}

var timestampTypes = []string{"CreateTime", "LogAppendTime"}

// msToDuration turns milliseconds into a Duration: negative values become
// -1 (Kafka's "unlimited" where a key allows it) and values too large for a
// Duration become Forever.
func msToDuration(ms int64) time.Duration {
	switch {
	case ms < 0:
		return -1
	case ms > int64(Forever/time.Millisecond):
		return Forever
	}
	return time.Duration(ms) * time.Millisecond
}

// durationToMs is msToDuration's inverse: -1 for negative, Long.MAX_VALUE
// for Forever.
func durationToMs(d time.Duration) int64 {
	switch {
	case d < 0:
		return -1
	case d == Forever:
		return math.MaxInt64
	}
	return d.Milliseconds()
}

// unitToMs multiplies a count of minutes or hours into milliseconds,
// keeping negative (unlimited) values negative and saturating on overflow.
func unitToMs(n int64, unit time.Duration) int64 {
	per := int64(unit / time.Millisecond)
	if n < 0 {
		return -1
	}
	if n > math.MaxInt64/per {
		return math.MaxInt64
	}
	return n * per
}

// normalize writes a valid value the way Kafka writes a parsed value back
// out in DescribeConfigs (trimmed, "true" not "TRUE", "10" not "+10").
func normalize(typ int8, v string) string {
	v = strings.TrimSpace(v)
	switch typ {
	case TypeBoolean:
		if b, err := parseBool(v); err == nil {
			return strconv.FormatBool(b)
		}
	case TypeShort, TypeInt, TypeLong:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.FormatInt(n, 10)
		}
	case TypeDouble:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return formatDouble(f)
		}
	case TypeList:
		return strings.Join(parseList(v), ",")
	}
	return v
}
