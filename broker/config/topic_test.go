package config

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestResolveTopicDefaultsAreTheBrokers(t *testing.T) {
	got := Default().ResolveTopic(nil)
	want := Topic{
		CleanupPolicy:          "delete",
		Delete:                 true,
		RetentionMs:            604800000,
		RetentionBytes:         -1,
		SegmentBytes:           1073741824,
		SegmentMs:              604800000,
		SegmentJitterMs:        0,
		FlushMessages:          math.MaxInt64,
		FlushMs:                math.MaxInt64,
		DeleteRetentionMs:      86400000,
		FileDeleteDelayMs:      60000,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
		SegmentIndexBytes:      10485760,
		IndexIntervalBytes:     4096,
		MaxMessageBytes:        1048588,
		MinInsyncReplicas:      1,
		CompressionType:        "producer",
		TimestampBeforeMaxMs:   math.MaxInt64,
		TimestampAfterMaxMs:    math.MaxInt64,
		MinCleanableDirtyRatio: 0.5,
	}
	if got != want {
		t.Errorf("ResolveTopic(nil) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestResolveTopicOverridesBeatBrokerValues(t *testing.T) {
	b, _ := load(t, "log.retention.hours=1\nlog.segment.bytes=5000\nlog.cleanup.policy=compact\nmin.insync.replicas=2\n")
	got := b.ResolveTopic(nil)
	if got.RetentionMs != 3600000 || got.SegmentBytes != 5000 || !got.Compact || got.Delete || got.MinInsyncReplicas != 2 {
		t.Errorf("broker values not used: %+v", got)
	}
	got = b.ResolveTopic(map[string]string{
		"retention.ms":           "-1",
		"cleanup.policy":         "compact, delete",
		"message.timestamp.type": "LogAppendTime",
		"max.message.bytes":      "2048",
		"flush.ms":               "1000",
		"segment.bytes":          "bogus", // invalid overrides are skipped
		"no.such.config":         "1",
	})
	if got.RetentionMs != -1 || got.CleanupPolicy != "compact,delete" || !got.Compact || !got.Delete ||
		!got.LogAppendTime || got.MaxMessageBytes != 2048 || got.FlushMs != 1000 || got.SegmentBytes != 5000 {
		t.Errorf("overrides not applied: %+v", got)
	}
}

// TestTimestampDifferenceStandsInForUnsetBeforeAfter: KIP-937 kept the
// old single limit working where the new pair is left unlimited.
func TestTimestampDifferenceStandsInForUnsetBeforeAfter(t *testing.T) {
	got := Default().ResolveTopic(map[string]string{
		"message.timestamp.difference.max.ms": "5000",
		"message.timestamp.after.max.ms":      "100",
	})
	if got.TimestampBeforeMaxMs != 5000 || got.TimestampAfterMaxMs != 100 {
		t.Errorf("before %d after %d, want 5000 100", got.TimestampBeforeMaxMs, got.TimestampAfterMaxMs)
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	ok := map[string]string{
		"cleanup.policy": "compact,delete", "retention.ms": "-1", "segment.bytes": "14", "min.insync.replicas": "2",
		"compression.type": "zstd", "message.timestamp.type": "CreateTime", "min.cleanable.dirty.ratio": "0.1",
		"unclean.leader.election.enable": "TRUE", "retention.bytes": "-1", "preallocate": "false",
	}
	if err := ValidateTopicConfigs(ok); err != nil {
		t.Errorf("valid configs: %v", err)
	}
	cases := []struct {
		configs map[string]string
		kind    ConfigErrorKind
		msg     string
	}{
		{map[string]string{"retention.mss": "1"}, UnknownTopicConfig, "Unknown topic config name: retention.mss"},
		{map[string]string{"log.retention.ms": "1"}, UnknownTopicConfig, "Unknown topic config name: log.retention.ms"},
		{map[string]string{"retention.ms": "abc"}, InvalidValue, "Invalid value abc for configuration retention.ms: not a number"},
		{map[string]string{"retention.ms": "-2"}, InvalidValue, "Invalid value -2 for configuration retention.ms: must be at least -1"},
		{map[string]string{"segment.bytes": "13"}, InvalidValue, "Invalid value 13 for configuration segment.bytes: must be at least 14"},
		{map[string]string{"segment.ms": "0"}, InvalidValue, "Invalid value 0 for configuration segment.ms: must be at least 1"},
		{map[string]string{"min.insync.replicas": "0"}, InvalidValue, "Invalid value 0 for configuration min.insync.replicas: must be between 1 and 32767"},
		{map[string]string{"cleanup.policy": ""}, InvalidValue, "Invalid value  for configuration cleanup.policy: must be compact, delete or both"},
		{map[string]string{"min.cleanable.dirty.ratio": "2"}, InvalidValue, "Invalid value 2 for configuration min.cleanable.dirty.ratio: must be between 0.0 and 1.0"},
		{map[string]string{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"}, InvalidValue,
			"Invalid value 10 for configuration min.compaction.lag.ms: must not be greater than max.compaction.lag.ms (5)"},
	}
	for _, c := range cases {
		err := ValidateTopicConfigs(c.configs)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%v: error %v is not a *ConfigError", c.configs, err)
			continue
		}
		if ce.Kind != c.kind || ce.Error() != c.msg {
			t.Errorf("%v: kind %d message %q, want %d %q", c.configs, ce.Kind, ce.Error(), c.kind, c.msg)
		}
	}
}

func entryNamed(t *testing.T, entries []Entry, name string) Entry {
	t.Helper()
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %s", name)
	return Entry{}
}

func value(e Entry) string {
	if e.Value == nil {
		return "<nil>"
	}
	return *e.Value
}

type syn struct {
	name, value string
	source      int8
}

func synonyms(e Entry) []syn {
	var out []syn
	for _, s := range e.Synonyms {
		v := "<nil>"
		if s.Value != nil {
			v = *s.Value
		}
		out = append(out, syn{s.Name, v, s.Source})
	}
	return out
}

func TestDescribeTopicListsEveryConfigSorted(t *testing.T) {
	entries := Default().DescribeTopic(nil)
	if len(entries) != len(topicKeys) {
		t.Fatalf("%d entries, want %d", len(entries), len(topicKeys))
	}
	for i, e := range entries {
		if i > 0 && entries[i-1].Name >= e.Name {
			t.Errorf("not sorted: %s before %s", entries[i-1].Name, e.Name)
		}
		if e.ReadOnly || e.Sensitive || e.Value == nil || e.Doc == "" {
			t.Errorf("%s: %+v", e.Name, e)
		}
	}
}

func TestDescribeTopicSourcesAndSynonyms(t *testing.T) {
	// Nothing set: the value is the default of the least precise synonym.
	e := entryNamed(t, Default().DescribeTopic(nil), "retention.ms")
	if value(e) != "604800000" || e.Source != SourceDefault || e.Type != TypeLong {
		t.Errorf("default retention.ms: %s source %d type %d", value(e), e.Source, e.Type)
	}
	if got, want := synonyms(e), []syn{{"log.retention.hours", "168", SourceDefault}}; !reflect.DeepEqual(got, want) {
		t.Errorf("synonyms %v, want %v", got, want)
	}

	// Static broker config.
	static, _ := load(t, "log.retention.hours=24\nlog.retention.minutes=90\n")
	e = entryNamed(t, static.DescribeTopic(nil), "retention.ms")
	if value(e) != "5400000" || e.Source != SourceStaticBroker {
		t.Errorf("static: %s source %d", value(e), e.Source)
	}
	want := []syn{
		{"log.retention.minutes", "90", SourceStaticBroker},
		{"log.retention.hours", "24", SourceStaticBroker},
		{"log.retention.hours", "168", SourceDefault},
	}
	if got := synonyms(e); !reflect.DeepEqual(got, want) {
		t.Errorf("static synonyms\n%v, want\n%v", got, want)
	}

	// Dynamic configs come first: per broker, then cluster default.
	dyn := static.WithDynamic(map[string]string{"log.retention.ms": "7000"}, map[string]string{"log.retention.ms": "8000"})
	e = entryNamed(t, dyn.DescribeTopic(nil), "retention.ms")
	if value(e) != "8000" || e.Source != SourceDynamicBroker {
		t.Errorf("dynamic: %s source %d", value(e), e.Source)
	}
	want = append([]syn{
		{"log.retention.ms", "8000", SourceDynamicBroker},
		{"log.retention.ms", "7000", SourceDynamicDefaultBroker},
	}, want...)
	if got := synonyms(e); !reflect.DeepEqual(got, want) {
		t.Errorf("dynamic synonyms\n%v, want\n%v", got, want)
	}

	// A topic override beats them all and heads the synonyms.
	e = entryNamed(t, dyn.DescribeTopic(map[string]string{"retention.ms": " 100 "}), "retention.ms")
	if value(e) != "100" || e.Source != SourceDynamicTopic {
		t.Errorf("override: %s source %d", value(e), e.Source)
	}
	if got := synonyms(e); len(got) != len(want)+1 || got[0] != (syn{"retention.ms", "100", SourceDynamicTopic}) {
		t.Errorf("override synonyms %v", got)
	}

	// Other configs of the same topic keep their own sources.
	e = entryNamed(t, dyn.DescribeTopic(map[string]string{"retention.ms": "100"}), "segment.bytes")
	if value(e) != "1073741824" || e.Source != SourceDefault {
		t.Errorf("segment.bytes: %s source %d", value(e), e.Source)
	}
	e = entryNamed(t, Default().DescribeTopic(map[string]string{"cleanup.policy": "compact , delete"}), "cleanup.policy")
	if value(e) != "compact,delete" || e.Type != TypeList {
		t.Errorf("cleanup.policy: %s type %d", value(e), e.Type)
	}
	e = entryNamed(t, Default().DescribeTopic(nil), "flush.ms")
	if got, want := synonyms(e), []syn{{"log.flush.scheduler.interval.ms", "9223372036854775807", SourceDefault}}; value(e) != "9223372036854775807" || !reflect.DeepEqual(got, want) {
		t.Errorf("flush.ms: %s %v", value(e), got)
	}
}

func TestDescribeBroker(t *testing.T) {
	static, _ := load(t, "log.retention.ms=5000\nnum.partitions=3\n")
	entries := static.DescribeBroker(map[string]string{"log.segment.bytes": "3000"}, map[string]string{"log.segment.bytes": "4000", "message.max.bytes": "99"})
	if len(entries) != len(brokerKeys) {
		t.Fatalf("%d entries, want %d", len(entries), len(brokerKeys))
	}

	e := entryNamed(t, entries, "num.partitions")
	if value(e) != "3" || e.Source != SourceStaticBroker || !e.ReadOnly || e.Type != TypeInt {
		t.Errorf("num.partitions: %+v", e)
	}
	if got, want := synonyms(e), []syn{{"num.partitions", "3", SourceStaticBroker}, {"num.partitions", "1", SourceDefault}}; !reflect.DeepEqual(got, want) {
		t.Errorf("num.partitions synonyms %v", got)
	}

	e = entryNamed(t, entries, "log.segment.bytes")
	if value(e) != "3000" || e.Source != SourceDynamicBroker || e.ReadOnly {
		t.Errorf("log.segment.bytes: %+v", e)
	}
	e = entryNamed(t, entries, "message.max.bytes")
	if value(e) != "99" || e.Source != SourceDynamicDefaultBroker {
		t.Errorf("message.max.bytes: %+v", e)
	}

	// log.retention.ms lists its less precise synonyms; log.retention.hours
	// does not list the more precise ones.
	e = entryNamed(t, entries, "log.retention.ms")
	if value(e) != "5000" || e.Source != SourceStaticBroker {
		t.Errorf("log.retention.ms: %+v", e)
	}
	if got, want := synonyms(e), []syn{{"log.retention.ms", "5000", SourceStaticBroker}, {"log.retention.hours", "168", SourceDefault}}; !reflect.DeepEqual(got, want) {
		t.Errorf("log.retention.ms synonyms %v", got)
	}
	e = entryNamed(t, entries, "log.retention.hours")
	if value(e) != "168" || e.Source != SourceDefault || !e.ReadOnly {
		t.Errorf("log.retention.hours: %+v", e)
	}
	e = entryNamed(t, entries, "log.retention.minutes")
	if e.Value != nil || e.Source != SourceDefault || len(e.Synonyms) != 0 {
		t.Errorf("unset log.retention.minutes: value %s source %d synonyms %v", value(e), e.Source, synonyms(e))
	}

	defs := static.DescribeClusterDefaults(map[string]string{"log.segment.bytes": "4000", "num.partitions": "9"})
	if len(defs) != 1 || defs[0].Name != "log.segment.bytes" || value(defs[0]) != "4000" || defs[0].Source != SourceDynamicDefaultBroker {
		t.Errorf("cluster defaults: %+v", defs)
	}
}
