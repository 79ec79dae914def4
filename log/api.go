// Package log stores each partition as an append-only commit log on disk.
//
// A partition log lives in one directory, "<topic>-<partition>", under one of
// the broker's log.dirs. It is a sequence of segments; each segment is a file
// of record batches named by the base offset of its first batch
// ("00000000000000000000.log") with a sparse offset index (".index"), a
// time index (".timeindex") and, once an ABORT marker lands in it, a
// transaction index (".txnindex", txnindex.go) beside it.
//
// Record batches (magic v2) are stored verbatim, exactly as the producer sent
// them. On append the log rewrites only the fields the batch CRC does not
// cover (base offset and partition leader epoch) and, for topics with
// message.timestamp.type=LogAppendTime, the timestamp type and max timestamp
// (recomputing the CRC, as Kafka does).
//
// Ownership: a Log has one writer at a time. Append, TruncateTo, DeleteRecords
// and retention serialise on the Log's mutex; Read may run concurrently with
// them and never sees bytes past the end of the last completed append.
// The Manager owns every Log of the broker and runs retention and the flush
// scheduler in the background.
package log

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// Sentinel errors. The broker maps them to Kafka error codes.
var (
	// ErrOffsetOutOfRange: the requested offset is below the log start
	// offset or above the log end offset (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrOutOfOrderSequence: an idempotent batch's sequence does not follow
	// the last one written by its producer (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidProducerEpoch: the batch's producer epoch is older than the
	// one the log knows for its producer ID (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("invalid producer epoch")
	// ErrClosed: the log was closed or deleted.
	ErrClosed = errors.New("log closed")
)

// Config is the per-partition log configuration, resolved from topic
// configs with broker defaults. Zero values are not defaults: the broker
// always passes a fully resolved Config.
type Config struct {
	SegmentBytes       int64         // segment.bytes
	SegmentMs          time.Duration // segment.ms: roll the active segment when its first batch is older
	SegmentJitter      time.Duration // segment.jitter.ms: each segment rolls up to this much earlier
	RetentionMs        time.Duration // retention.ms; negative = unlimited
	RetentionBytes     int64         // retention.bytes; negative = unlimited
	FlushMessages      int64         // flush.messages: fsync after this many records; <= 0 or math.MaxInt64 = never
	FlushMs            time.Duration // flush.ms: fsync when the oldest unflushed data is older; <= 0 or huge = never
	IndexIntervalBytes int32         // index.interval.bytes
	SegmentIndexBytes  int32         // segment.index.bytes: max size of an index file (bounds entries per segment)
	LogAppendTime      bool          // message.timestamp.type=LogAppendTime
	FileDeleteDelay    time.Duration // file.delete.delay.ms
	Preallocate        bool          // preallocate
	// Delete and Compact are cleanup.policy: time and size retention
	// apply only with Delete.
	Delete  bool
	Compact bool
	// ProducerIDExpiration is producer.id.expiration.ms.
	ProducerIDExpiration time.Duration

	// Compaction (cleanup.policy=compact).
	MinCleanableDirtyRatio float64       // min.cleanable.dirty.ratio
	MinCompactionLag       time.Duration // min.compaction.lag.ms
	MaxCompactionLag       time.Duration // max.compaction.lag.ms; huge = never forces a pass
	DeleteRetention        time.Duration // delete.retention.ms: how long tombstones outlive their first cleaning
}

// rollJitter picks a segment's random roll jitter (segment.jitter.ms).
func (c *Config) rollJitter() time.Duration {
	if c.SegmentJitter <= 0 {
		return 0
	}
	limit := c.SegmentJitter
	if c.SegmentMs > 0 && c.SegmentMs < limit {
		limit = c.SegmentMs
	}
	return time.Duration(rand.Int64N(int64(limit)))
}

// TopicPartition names a partition log.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// DirUsage describes one log directory for DescribeLogDirs.
type DirUsage struct {
	Dir         string
	TotalBytes  int64 // size of the file system holding it
	UsableBytes int64 // free space on it
	Err         error // the directory cannot be used
	Partitions  []PartitionUsage
}

// PartitionUsage is one partition log of a directory.
type PartitionUsage struct {
	Topic     string
	Partition int32
	Size      int64
}

// AppendResult describes where an append landed.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record appended (or of the original, for a duplicate)
	LastOffset     int64 // offset of the last record appended
	LogAppendTime  int64 // broker time in ms if the log uses LogAppendTime, else -1
	LogStartOffset int64 // the log start offset after the append
	// Duplicate is true when the batch repeated one of the last five
	// batches of its idempotent producer; nothing was written and the
	// offsets are those of the original write.
	Duplicate bool
}

// ReadResult is a byte range of one segment file holding record batches,
// starting with the batch that contains the requested offset. As in Kafka,
// the range ends at the read limit or after maxBytes, so its last batch
// may be cut short (clients drop a partial trailing batch); the first
// batch is always whole even when larger than maxBytes (KIP-74).
//
// The caller must call Release once the bytes were sent: until then the
// segment file stays open even if retention deletes it.
type ReadResult struct {
	File     *os.File
	Position int64 // byte position of the first batch in File
	Size     int64 // number of bytes to send; 0 when there is nothing to read
	release  func()
}

// Release gives the segment file back.
func (r *ReadResult) Release() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// Offsets are the log's current boundaries.
type Offsets struct {
	LogStartOffset int64 // first offset still readable
	LogEndOffset   int64 // next offset to be written (LEO)
}

// TimestampOffset is the answer of a by-timestamp lookup.
type TimestampOffset struct {
	Offset    int64
	Timestamp int64
}

// EpochEntry is one entry of the leader-epoch checkpoint: the first offset
// written under a leader epoch.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}
