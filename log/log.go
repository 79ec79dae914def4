package log

// The Log type, its state and lock order, and its small accessors. Its
// methods live by job: open.go (opening and recovery), append.go (appends
// and rolls), read.go, truncate.go (removing records from either end),
// retention.go, cleaner.go (compaction), flush.go (flush and close) and
// checkpoint.go (the partition's small files).

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Log is one partition's commit log.
//
// Writers (Append, AppendMarker, TruncateTo, DeleteRecords, retention,
// roll, flush, close) serialise on mu. Readers (Read, Offsets,
// HighWatermark, LastStableOffset, AbortedTransactions) take no lock: they load the published segment list, the segment tails and the
// offsets atomically, and pin the segment they read with a reference.
// A checkpoint write takes checkpointMu before mu, never the other way.
type Log struct {
	dir     string
	tp      TopicPartition
	topicID [16]byte
	logger  zerolog.Logger
	env     *logEnv

	mu            sync.Mutex
	cfg           Config
	closed        bool
	epochs        *epochCache
	producers     *producerState
	recoveryPoint int64 // every offset below is fsynced
	cleanerOffset int64 // first offset not yet compacted (cleaner.go)
	// nextDeleteHorizon is when the oldest tombstone may go (-1: none);
	// unknown after a restart, so 0: the cleaner looks once.
	nextDeleteHorizon int64
	unflushedRecords  int64     // records appended since the last flush
	firstUnflushed    time.Time // zero when everything is flushed

	checkpointMu   sync.Mutex // serialises writes of the checkpoint file
	lastCheckpoint checkpoint // what the file holds (checkpointMu)

	segs          atomic.Pointer[[]*segment]
	unstableTxns  atomic.Pointer[[]unstableTxn] // producers.unstable, published (txn.go)
	logStart      atomic.Int64
	logEnd        atomic.Int64
	highWatermark atomic.Int64
}

// logEnv is what a Log borrows from its Manager.
type logEnv struct {
	now func() time.Time
	// background runs fn on a goroutine the Manager waits for at Close.
	background func(fn func())
	// removeLater deletes files after a delay (file.delete.delay.ms).
	removeLater func(delay time.Duration, paths []string)
	// syncLater queues a file written with atomicfile.Replace for a
	// background fsync (syncqueue.go).
	syncLater func(path string)
}

// Dir is the partition's directory.
func (l *Log) Dir() string { return l.dir }

// Offsets returns the log start and end offsets.
func (l *Log) Offsets() Offsets {
	return Offsets{LogStartOffset: l.logStart.Load(), LogEndOffset: l.logEnd.Load()}
}

// HighWatermark is the offset below which records are committed.
func (l *Log) HighWatermark() int64 { return l.highWatermark.Load() }

// SetHighWatermark moves the high watermark, kept between the log start
// and end offsets. It is persisted with the next checkpoint.
func (l *Log) SetHighWatermark(hw int64) {
	hw = min(max(hw, l.logStart.Load()), l.logEnd.Load())
	l.highWatermark.Store(hw)
}

// Size is the bytes of all segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range *l.segs.Load() {
		n += s.size()
	}
	return n
}

// UpdateConfig applies a new configuration to later appends and to
// retention.
func (l *Log) UpdateConfig(cfg Config) {
	l.mu.Lock()
	l.cfg = cfg
	l.mu.Unlock()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-101, KIP-279).
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epochs.endOffsetFor(epoch, l.logEnd.Load())
}

func (l *Log) active() *segment {
	segs := *l.segs.Load()
	return segs[len(segs)-1]
}

// LatestEpoch is the newest leader epoch that wrote to the log, or -1.
func (l *Log) LatestEpoch() int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.epochs.latest(); ok {
		return e.Epoch
	}
	return -1
}
