package groups

import (
	"reflect"
	"testing"
	"time"
)

func TestParseDateTimeTakesKafkasFormatWithOrWithoutAZone(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-03-04T05:06:07.890Z", time.Date(2026, 3, 4, 5, 6, 7, 890e6, time.UTC)},
		{"2026-03-04T05:06:07.890+02:00", time.Date(2026, 3, 4, 3, 6, 7, 890e6, time.UTC)},
		{"2026-03-04T05:06:07.890-01:30", time.Date(2026, 3, 4, 6, 36, 7, 890e6, time.UTC)},
		{"2026-03-04T05:06:07Z", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
		// Without a zone the time is local, as in Kafka.
		{"2026-03-04T05:06:07.890", time.Date(2026, 3, 4, 5, 6, 7, 890e6, time.Local)},
	} {
		got, err := parseDateTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "2026-03-04", "05:06:07", "2026-03-04 05:06:07", "2026-13-04T05:06:07Z", "2026-03-04T05:06:07+2"} {
		if got, err := parseDateTime(bad); err == nil {
			t.Errorf("parseDateTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseISODurationFollowsJavasDurationParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"P1D", 24 * time.Hour},
		{"PT6H", 6 * time.Hour},
		{"PT1H30M", 90 * time.Minute},
		{"P2DT3H4M5S", 51*time.Hour + 4*time.Minute + 5*time.Second},
		{"PT0.5S", 500 * time.Millisecond},
		{"PT1,25S", 1250 * time.Millisecond},
		{"-PT10M", -10 * time.Minute},
		{"PT-6H3M", -6*time.Hour + 3*time.Minute},
		{"PT-1.5S", -1500 * time.Millisecond},
		{"pt15m", 15 * time.Minute},
	} {
		got, err := parseISODuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "P1DT", "1h", "PT1H30", "P1W", "PT1.2H", "P999999999999D"} {
		if got, err := parseISODuration(bad); err == nil {
			t.Errorf("parseISODuration(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseTopicArgReadsKafkasTopicColonPartitions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want topicArg
	}{
		{"orders", topicArg{Topic: "orders"}},
		{"orders:0", topicArg{Topic: "orders", Partitions: []int32{0}}},
		{"orders:0,2, 5", topicArg{Topic: "orders", Partitions: []int32{0, 2, 5}}},
	} {
		got, err := parseTopicArg(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseTopicArg(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ":1", "orders:", "orders:x", "orders:-1", "orders:1,,2"} {
		if got, err := parseTopicArg(bad); err == nil {
			t.Errorf("parseTopicArg(%q) = %+v, want an error", bad, got)
		}
	}
}
