package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Topic is a topic's resolved configuration: its overrides over the
// broker's effective values. Durations are milliseconds; -1 means
// unlimited where Kafka allows it (retention.ms, retention.bytes) and
// Long.MAX_VALUE means never (flush.ms, max.compaction.lag.ms, ...).
type Topic struct {
	CleanupPolicy string // cleanup.policy as given, e.g. "delete" or "compact,delete"
	// Compact and Delete say which policies CleanupPolicy names.
	Compact, Delete bool

	RetentionMs        int64 // retention.ms
	RetentionBytes     int64 // retention.bytes
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	SegmentJitterMs    int64 // segment.jitter.ms
	FlushMessages      int64 // flush.messages
	FlushMs            int64 // flush.ms
	DeleteRetentionMs  int64 // delete.retention.ms
	FileDeleteDelayMs  int64 // file.delete.delay.ms
	MinCompactionLagMs int64 // min.compaction.lag.ms
	MaxCompactionLagMs int64 // max.compaction.lag.ms

	SegmentIndexBytes  int32 // segment.index.bytes
	IndexIntervalBytes int32 // index.interval.bytes
	MaxMessageBytes    int32 // max.message.bytes
	MinInsyncReplicas  int16 // min.insync.replicas

	LogAppendTime   bool   // message.timestamp.type=LogAppendTime
	CompressionType string // compression.type
	// TimestampBeforeMaxMs and TimestampAfterMaxMs bound how far a
	// CreateTime timestamp may be from the broker's clock. When one is
	// left at Long.MAX_VALUE, the deprecated
	// message.timestamp.difference.max.ms stands in for it (KIP-937).
	TimestampBeforeMaxMs int64
	TimestampAfterMaxMs  int64

	UncleanLeaderElection  bool    // unclean.leader.election.enable
	MinCleanableDirtyRatio float64 // min.cleanable.dirty.ratio
	Preallocate            bool    // preallocate
}

// topicValues is a Topic being resolved, with the values that only feed
// other fields.
type topicValues struct {
	Topic
	timestampDifferenceMaxMs int64
	downConversion           bool
}

// topicKey is one topic-level config: its Kafka type, the broker keys
// that give its default (Kafka's ServerTopicConfigSynonyms, most precise
// first), how to read its default off a Broker, and how to parse it.
type topicKey struct {
	name     string
	typ      int8
	doc      string
	synonyms []string
	// fromBroker is the topic value the broker's configuration implies.
	fromBroker func(b *Broker) string
	// set validates v (trimmed) and stores it; nothing changes on error.
	set func(t *topicValues, v string) error
}

// topicKeys is every topic config Samsa accepts, sorted by name.
var topicKeys = []topicKey{
	{name: "cleanup.policy", typ: TypeList, synonyms: []string{"log.cleanup.policy"},
		doc:        "What happens to old segments: delete, compact, or both.",
		fromBroker: func(b *Broker) string { return b.LogCleanupPolicy },
		set: func(t *topicValues, v string) error {
			policy, compact, del, err := parseCleanupPolicy(v)
			if err != nil {
				return err
			}
			t.CleanupPolicy, t.Compact, t.Delete = policy, compact, del
			return nil
		}},
	{name: "compression.type", typ: TypeString, synonyms: []string{"compression.type"},
		doc:        "Compression of stored batches: producer keeps the producer's; uncompressed, gzip, snappy, lz4 or zstd recompress.",
		fromBroker: func(b *Broker) string { return b.CompressionType },
		set: func(t *topicValues, v string) error {
			c, err := parseChoice(v, compressionTypes...)
			if err == nil {
				t.CompressionType = c
			}
			return err
		}},
	{name: "delete.retention.ms", typ: TypeLong, synonyms: []string{"log.cleaner.delete.retention.ms"},
		doc:        "How long delete tombstones stay in a compacted topic.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogCleanerDeleteRetention }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.DeleteRetentionMs })},
	{name: "file.delete.delay.ms", typ: TypeLong, synonyms: []string{"log.segment.delete.delay.ms"},
		doc:        "How long a deleted segment's files stay on disk.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogSegmentDeleteDelay }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.FileDeleteDelayMs })},
	{name: "flush.messages", typ: TypeLong, synonyms: []string{"log.flush.interval.messages"},
		doc:        "Records written before the partition is fsynced.",
		fromBroker: func(b *Broker) string { return strconv.FormatInt(b.LogFlushIntervalMessages, 10) },
		set:        setTopicNum(TypeLong, 1, func(t *topicValues) *int64 { return &t.FlushMessages })},
	{name: "flush.ms", typ: TypeLong, synonyms: []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
		doc:        "Milliseconds unflushed data may wait before an fsync.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogFlushInterval }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.FlushMs })},
	{name: "index.interval.bytes", typ: TypeInt, synonyms: []string{"log.index.interval.bytes"},
		doc:        "Bytes of log between two offset index entries.",
		fromBroker: func(b *Broker) string { return strconv.Itoa(int(b.LogIndexIntervalBytes)) },
		set:        setTopicNum(TypeInt, 0, func(t *topicValues) *int32 { return &t.IndexIntervalBytes })},
	{name: "max.compaction.lag.ms", typ: TypeLong, synonyms: []string{"log.cleaner.max.compaction.lag.ms"},
		doc:        "Longest time a record may stay uncompacted.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogCleanerMaxCompactionLag }),
		set:        setTopicNum(TypeLong, 1, func(t *topicValues) *int64 { return &t.MaxCompactionLagMs })},
	{name: "max.message.bytes", typ: TypeInt, synonyms: []string{"message.max.bytes"},
		doc:        "Largest record batch the topic accepts, after compression.",
		fromBroker: func(b *Broker) string { return strconv.Itoa(int(b.MessageMaxBytes)) },
		set:        setTopicNum(TypeInt, 0, func(t *topicValues) *int32 { return &t.MaxMessageBytes })},
	{name: "message.downconversion.enable", typ: TypeBoolean, synonyms: []string{"log.message.downconversion.enable"},
		doc:        "Convert batches for old consumers (accepted; Samsa serves magic v2 only).",
		fromBroker: func(b *Broker) string { return strconv.FormatBool(b.LogMessageDownConversionEnable) },
		set: func(t *topicValues, v string) error {
			x, err := parseBool(v)
			if err == nil {
				t.downConversion = x
			}
			return err
		}},
	{name: "message.timestamp.after.max.ms", typ: TypeLong, synonyms: []string{"log.message.timestamp.after.max.ms"},
		doc:        "How far in the future a CreateTime timestamp may be.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogMessageTimestampAfterMax }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.TimestampAfterMaxMs })},
	{name: "message.timestamp.before.max.ms", typ: TypeLong, synonyms: []string{"log.message.timestamp.before.max.ms"},
		doc:        "How far in the past a CreateTime timestamp may be.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogMessageTimestampBeforeMax }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.TimestampBeforeMaxMs })},
	{name: "message.timestamp.difference.max.ms", typ: TypeLong, synonyms: []string{"log.message.timestamp.difference.max.ms"},
		doc:        "Deprecated: largest difference between a CreateTime timestamp and the broker's clock, where the before/after limits are not set.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogMessageTimestampDifferenceMax }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.timestampDifferenceMaxMs })},
	{name: "message.timestamp.type", typ: TypeString, synonyms: []string{"log.message.timestamp.type"},
		doc:        "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's time.",
		fromBroker: func(b *Broker) string { return b.LogMessageTimestampType },
		set: func(t *topicValues, v string) error {
			c, err := parseChoice(v, timestampTypes...)
			if err == nil {
				t.LogAppendTime = c == "LogAppendTime"
			}
			return err
		}},
	{name: "min.cleanable.dirty.ratio", typ: TypeDouble, synonyms: []string{"log.cleaner.min.cleanable.ratio"},
		doc:        "Share of the log that must be uncompacted before it is compacted.",
		fromBroker: func(b *Broker) string { return formatDouble(b.LogCleanerMinCleanableRatio) },
		set: func(t *topicValues, v string) error {
			f, err := parseDouble(v, 0, 1)
			if err == nil {
				t.MinCleanableDirtyRatio = f
			}
			return err
		}},
	{name: "min.compaction.lag.ms", typ: TypeLong, synonyms: []string{"log.cleaner.min.compaction.lag.ms"},
		doc:        "Shortest time a record stays uncompacted.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogCleanerMinCompactionLag }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.MinCompactionLagMs })},
	{name: "min.insync.replicas", typ: TypeInt, synonyms: []string{"min.insync.replicas"},
		doc:        "Replicas that must be in sync for an acks=all produce to succeed.",
		fromBroker: func(b *Broker) string { return strconv.Itoa(int(b.MinInsyncReplicas)) },
		set:        setTopicNumRange(TypeInt, 1, math.MaxInt16, func(t *topicValues) *int16 { return &t.MinInsyncReplicas })},
	{name: "preallocate", typ: TypeBoolean, synonyms: []string{"log.preallocate"},
		doc:        "Preallocate segment files at their full size.",
		fromBroker: func(b *Broker) string { return strconv.FormatBool(b.LogPreallocate) },
		set: func(t *topicValues, v string) error {
			x, err := parseBool(v)
			if err == nil {
				t.Preallocate = x
			}
			return err
		}},
	{name: "retention.bytes", typ: TypeLong, synonyms: []string{"log.retention.bytes"},
		doc:        "Largest size of a partition log before old segments are deleted (-1: no limit).",
		fromBroker: func(b *Broker) string { return strconv.FormatInt(b.LogRetentionBytes, 10) },
		set:        setTopicNum(TypeLong, math.MinInt64, func(t *topicValues) *int64 { return &t.RetentionBytes })},
	{name: "retention.ms", typ: TypeLong, synonyms: []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
		doc:        "How long a segment is kept (-1: forever).",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogRetention }),
		set:        setTopicNum(TypeLong, -1, func(t *topicValues) *int64 { return &t.RetentionMs })},
	{name: "segment.bytes", typ: TypeInt, synonyms: []string{"log.segment.bytes"},
		doc:        "Largest size of a segment file.",
		fromBroker: func(b *Broker) string { return strconv.FormatInt(b.LogSegmentBytes, 10) },
		set:        setTopicNum(TypeInt, 14, func(t *topicValues) *int64 { return &t.SegmentBytes })},
	{name: "segment.index.bytes", typ: TypeInt, synonyms: []string{"log.index.size.max.bytes"},
		doc:        "Largest size of an index file; a full index rolls the segment.",
		fromBroker: func(b *Broker) string { return strconv.Itoa(int(b.LogIndexSizeMaxBytes)) },
		set:        setTopicNum(TypeInt, 4, func(t *topicValues) *int32 { return &t.SegmentIndexBytes })},
	{name: "segment.jitter.ms", typ: TypeLong, synonyms: []string{"log.roll.jitter.ms", "log.roll.jitter.hours"},
		doc:        "Largest random amount taken off segment.ms, so partitions do not roll at once.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogRollJitter }),
		set:        setTopicNum(TypeLong, 0, func(t *topicValues) *int64 { return &t.SegmentJitterMs })},
	{name: "segment.ms", typ: TypeLong, synonyms: []string{"log.roll.ms", "log.roll.hours"},
		doc:        "Time after which a new segment is started even if the active one is not full.",
		fromBroker: brokerMs(func(b *Broker) time.Duration { return b.LogRoll }),
		set:        setTopicNum(TypeLong, 1, func(t *topicValues) *int64 { return &t.SegmentMs })},
	{name: "unclean.leader.election.enable", typ: TypeBoolean, synonyms: []string{"unclean.leader.election.enable"},
		doc:        "Elect a replica outside the ISR when no in-sync replica is alive, at the risk of losing records.",
		fromBroker: func(b *Broker) string { return strconv.FormatBool(b.UncleanLeaderElection) },
		set: func(t *topicValues, v string) error {
			x, err := parseBool(v)
			if err == nil {
				t.UncleanLeaderElection = x
			}
			return err
		}},
}

var topicKeyByName = func() map[string]*topicKey {
	m := make(map[string]*topicKey, len(topicKeys))
	for i := range topicKeys {
		m[topicKeys[i].name] = &topicKeys[i]
	}
	return m
}()

// TopicKey describes one topic config.
type TopicKey struct {
	Name string
	Type int8
	Doc  string
	// Synonyms are the broker keys that give its default, the most
	// precise first.
	Synonyms []string
}

// TopicKeys lists every topic config Samsa accepts, sorted by name.
func TopicKeys() []TopicKey {
	keys := make([]TopicKey, 0, len(topicKeys))
	for _, k := range topicKeys {
		keys = append(keys, TopicKey{Name: k.name, Type: k.typ, Doc: k.doc, Synonyms: append([]string(nil), k.synonyms...)})
	}
	return keys
}

func brokerMs(field func(*Broker) time.Duration) func(*Broker) string {
	return func(b *Broker) string { return strconv.FormatInt(durationToMs(field(b)), 10) }
}

func setTopicNum[T ~int32 | ~int64](typ int8, lo int64, field func(*topicValues) *T) func(*topicValues, string) error {
	return setTopicNumRange(typ, lo, math.MaxInt64, field)
}

func setTopicNumRange[T ~int16 | ~int32 | ~int64](typ int8, lo, hi int64, field func(*topicValues) *T) func(*topicValues, string) error {
	return func(t *topicValues, v string) error {
		n, err := parseInt(v, typ, lo, hi)
		if err != nil {
			return err
		}
		*field(t) = T(n)
		return nil
	}
}

// ValidateTopicConfigs checks topic config overrides, as given to
// CreateTopics, AlterConfigs or IncrementalAlterConfigs. The error is a
// *ConfigError for the first offending key by name: an unknown key, or a
// value that does not parse or is out of range.
func ValidateTopicConfigs(configs map[string]string) error {
	for _, name := range sortedKeys(configs) {
		v := configs[name]
		k := topicKeyByName[name]
		if k == nil {
			return &ConfigError{Key: name, Value: v, Kind: UnknownTopicConfig}
		}
		var scratch topicValues
		if err := k.set(&scratch, strings.TrimSpace(v)); err != nil {
			return &ConfigError{Key: name, Value: v, Reason: err.Error()}
		}
	}
	// Kafka also refuses a minimum compaction lag above the maximum.
	minV, hasMin := configs["min.compaction.lag.ms"]
	maxV, hasMax := configs["max.compaction.lag.ms"]
	if hasMin && hasMax {
		lo, _ := strconv.ParseInt(strings.TrimSpace(minV), 10, 64)
		hi, _ := strconv.ParseInt(strings.TrimSpace(maxV), 10, 64)
		if lo > hi {
			return &ConfigError{Key: "min.compaction.lag.ms", Value: minV,
				Reason: fmt.Sprintf("must not be greater than max.compaction.lag.ms (%d)", hi)}
		}
	}
	return nil
}

// ResolveTopic is the configuration of a topic with the given overrides
// (the topic's dynamic configs) on top of b's values; call it on the
// result of WithDynamic so dynamic broker defaults count. Unknown or
// invalid overrides are skipped: ValidateTopicConfigs keeps them out of
// the store.
func (b *Broker) ResolveTopic(overrides map[string]string) Topic {
	policy, compact, del, _ := parseCleanupPolicy(b.LogCleanupPolicy)
	t := topicValues{
		Topic: Topic{
			CleanupPolicy:          policy,
			Compact:                compact,
			Delete:                 del,
			RetentionMs:            durationToMs(b.LogRetention),
			RetentionBytes:         b.LogRetentionBytes,
			SegmentBytes:           b.LogSegmentBytes,
			SegmentMs:              durationToMs(b.LogRoll),
			SegmentJitterMs:        durationToMs(b.LogRollJitter),
			FlushMessages:          b.LogFlushIntervalMessages,
			FlushMs:                durationToMs(b.LogFlushInterval),
			DeleteRetentionMs:      durationToMs(b.LogCleanerDeleteRetention),
			FileDeleteDelayMs:      durationToMs(b.LogSegmentDeleteDelay),
			MinCompactionLagMs:     durationToMs(b.LogCleanerMinCompactionLag),
			MaxCompactionLagMs:     durationToMs(b.LogCleanerMaxCompactionLag),
			SegmentIndexBytes:      b.LogIndexSizeMaxBytes,
			IndexIntervalBytes:     b.LogIndexIntervalBytes,
			MaxMessageBytes:        b.MessageMaxBytes,
			MinInsyncReplicas:      b.MinInsyncReplicas,
			LogAppendTime:          b.LogMessageTimestampType == "LogAppendTime",
			CompressionType:        b.CompressionType,
			TimestampBeforeMaxMs:   durationToMs(b.LogMessageTimestampBeforeMax),
			TimestampAfterMaxMs:    durationToMs(b.LogMessageTimestampAfterMax),
			UncleanLeaderElection:  b.UncleanLeaderElection,
			MinCleanableDirtyRatio: b.LogCleanerMinCleanableRatio,
			Preallocate:            b.LogPreallocate,
		},
		timestampDifferenceMaxMs: durationToMs(b.LogMessageTimestampDifferenceMax),
		downConversion:           b.LogMessageDownConversionEnable,
	}
	for _, name := range sortedKeys(overrides) {
		if k := topicKeyByName[name]; k != nil {
			_ = k.set(&t, strings.TrimSpace(overrides[name])) // invalid: keep the broker's value
		}
	}
	if t.TimestampBeforeMaxMs == math.MaxInt64 {
		t.TimestampBeforeMaxMs = t.timestampDifferenceMaxMs
	}
	if t.TimestampAfterMaxMs == math.MaxInt64 {
		t.TimestampAfterMaxMs = t.timestampDifferenceMaxMs
	}
	return t.Topic
}
