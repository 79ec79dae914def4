package groupcoord

import (
	"errors"
	"math"
	"time"

	"github.com/rs/zerolog"
)

// Config is the coordinator's configuration. Every field names the Kafka
// broker setting it stands for; DefaultConfig gives Kafka's defaults (the
// broker's configuration table, broker/config, documents them).
type Config struct {
	GroupMinSessionTimeout     time.Duration // group.min.session.timeout.ms (6000)
	GroupMaxSessionTimeout     time.Duration // group.max.session.timeout.ms (1800000)
	GroupInitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms (3000)
	GroupMaxSize               int32         // group.max.size (2147483647: unlimited)

	OffsetsRetention              time.Duration // offsets.retention.minutes (10080)
	OffsetsRetentionCheckInterval time.Duration // offsets.retention.check.interval.ms (600000)
	OffsetsTopicNumPartitions     int32         // offsets.topic.num.partitions (50)
	OffsetMetadataMaxBytes        int           // offset.metadata.max.bytes (4096)
	OffsetCommitTimeout           time.Duration // offsets.commit.timeout.ms (5000): bound on one Journal.Append

	// Topics answers which topics exist and resolves topic IDs
	// (OffsetCommit and OffsetFetch v10 name topics by ID). Nil: every
	// topic is assumed to exist and no topic ID resolves.
	Topics Topics

	Logger zerolog.Logger
	// Clock drives every timer; nil means the system clock.
	Clock Clock
}

// DefaultConfig returns Kafka's defaults, a disabled logger and the system
// clock.
func DefaultConfig() Config {
	return Config{
		GroupMinSessionTimeout:        6 * time.Second,
		GroupMaxSessionTimeout:        30 * time.Minute,
		GroupInitialRebalanceDelay:    3 * time.Second,
		GroupMaxSize:                  math.MaxInt32,
		OffsetsRetention:              10080 * time.Minute,
		OffsetsRetentionCheckInterval: 10 * time.Minute,
		OffsetsTopicNumPartitions:     50,
		OffsetMetadataMaxBytes:        4096,
		OffsetCommitTimeout:           5 * time.Second,
		Logger:                        zerolog.Nop(),
	}
}

func (cfg *Config) validate() error {
	switch {
	case cfg.OffsetsTopicNumPartitions <= 0:
		return errors.New("offsets.topic.num.partitions must be positive")
	case cfg.GroupMinSessionTimeout < 0 || cfg.GroupMaxSessionTimeout < cfg.GroupMinSessionTimeout:
		return errors.New("group.max.session.timeout.ms must be at least group.min.session.timeout.ms")
	case cfg.GroupInitialRebalanceDelay < 0:
		return errors.New("group.initial.rebalance.delay.ms must not be negative")
	case cfg.GroupMaxSize <= 0:
		return errors.New("group.max.size must be positive")
	case cfg.OffsetsRetention <= 0:
		return errors.New("offsets.retention.minutes must be positive")
	case cfg.OffsetsRetentionCheckInterval <= 0:
		return errors.New("offsets.retention.check.interval.ms must be positive")
	case cfg.OffsetMetadataMaxBytes < 0:
		return errors.New("offset.metadata.max.bytes must not be negative")
	case cfg.OffsetCommitTimeout <= 0:
		return errors.New("offsets.commit.timeout.ms must be positive")
	}
	return nil
}

// Clock is the coordinator's source of time and timers. Tests use a fake
// one; the broker leaves Config.Clock nil for the system clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did. A callback that already started may still run: the coordinator
	// checks, under the group lock, that the timer is still current.
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Topics is what the coordinator asks of the broker's topic metadata.
type Topics interface {
	// PartitionExists reports whether the partition exists. OffsetCommit
	// and OffsetDelete answer UNKNOWN_TOPIC_OR_PARTITION for one that does
	// not, as Kafka's request handler does before reaching its coordinator.
	PartitionExists(topic string, partition int32) bool
	// TopicName resolves a topic ID (OffsetCommit / OffsetFetch v10).
	TopicName(id [16]byte) (string, bool)
	// TopicID returns a topic's ID (OffsetFetch v10 answers by ID).
	TopicID(name string) ([16]byte, bool)
}
