package log

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// Log is one partition's commit log.
//
// Writers (Append, TruncateTo, DeleteRecords, retention, roll, flush,
// close) serialise on mu. Readers (Read, Offsets, HighWatermark) take no
// lock: they load the published segment list, the segment tails and the
// offsets atomically, and pin the segment they read with a reference.
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
}

// Files of a partition directory besides segments and snapshots.
const (
	checkpointFile = "partition.checkpoint" // recovery point, log start offset, high watermark
	metadataFile   = "partition.metadata"   // topic ID, as Kafka's partition.metadata
)

// checkpoint is what partition.checkpoint holds.
type checkpoint struct {
	recoveryPoint  int64
	logStartOffset int64
	highWatermark  int64
	cleanerOffset  int64
}

func readCheckpoint(dir string) (checkpoint, error) {
	var c checkpoint
	raw, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read checkpoint: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return checkpoint{}, fmt.Errorf("%s in %s: bad value %q", key, filepath.Join(dir, checkpointFile), value)
		}
		switch key {
		case "recovery-point":
			c.recoveryPoint = n
		case "log-start-offset":
			c.logStartOffset = n
		case "high-watermark":
			c.highWatermark = n
		case "cleaner-offset":
			c.cleanerOffset = n
		}
	}
	return c, nil
}

// writeCheckpoint persists the recovery point, log start offset and high
// watermark. Called without mu: it reads the current values itself.
func (l *Log) writeCheckpoint() error { return l.checkpointIf(true) }

// writeCheckpointIfChanged writes the checkpoint when it moved since the
// last write (the periodic checkpoint).
func (l *Log) writeCheckpointIfChanged() error { return l.checkpointIf(false) }

func (l *Log) checkpointIf(always bool) error {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	l.mu.Lock()
	c := l.currentCheckpoint()
	closed := l.closed
	l.mu.Unlock()
	if closed || (!always && c == l.lastCheckpoint) {
		return nil
	}
	return l.storeCheckpoint(c)
}

func (l *Log) currentCheckpoint() checkpoint {
	return checkpoint{recoveryPoint: l.recoveryPoint, logStartOffset: l.logStart.Load(), highWatermark: l.highWatermark.Load(), cleanerOffset: l.cleanerOffset}
}

// storeCheckpoint writes c; the caller holds checkpointMu.
func (l *Log) storeCheckpoint(c checkpoint) error {
	data := fmt.Sprintf("recovery-point %d\nlog-start-offset %d\nhigh-watermark %d\ncleaner-offset %d\n",
		c.recoveryPoint, c.logStartOffset, c.highWatermark, c.cleanerOffset)
	if err := writeFileAtomic(filepath.Join(l.dir, checkpointFile), []byte(data)); err != nil {
		return err
	}
	l.lastCheckpoint = c
	return nil
}

// openLog opens the partition log in dir, recovering it when the last
// shutdown was not clean (or its index files are unusable).
func openLog(dir string, tp TopicPartition, topicID [16]byte, cfg Config, clean bool, env *logEnv, logger zerolog.Logger) (*Log, error) {
	l := &Log{dir: dir, tp: tp, topicID: topicID, cfg: cfg, env: env, logger: logger.With().Str("log", tp.String()).Logger()}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := l.removeLeftovers(); err != nil {
		return nil, err
	}
	if err := l.completeSwaps(); err != nil {
		return nil, err
	}
	cp, err := readCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if l.epochs, err = loadEpochCache(filepath.Join(dir, epochCheckpointFile)); err != nil {
		// The cache can be rebuilt from the batches' leader epochs.
		l.logger.Warn().Err(err).Msg("leader epoch checkpoint unreadable; rebuilding it from the log")
		l.epochs = &epochCache{path: filepath.Join(dir, epochCheckpointFile)}
		clean = false
		cp.recoveryPoint = 0
	}
	if err := l.loadSegments(clean, cp.recoveryPoint); err != nil {
		return nil, err
	}
	// From here a failure must close the segment files it opened.
	opened := false
	defer func() {
		if !opened {
			l.abandon()
		}
	}()
	segs := *l.segs.Load()
	leo := segs[len(segs)-1].tail.Load().nextOffset
	l.logEnd.Store(leo)
	l.logStart.Store(min(max(cp.logStartOffset, segs[0].baseOffset), leo))
	l.highWatermark.Store(min(max(cp.highWatermark, l.logStart.Load()), leo))
	l.recoveryPoint = min(cp.recoveryPoint, leo)
	l.cleanerOffset = min(cp.cleanerOffset, leo)
	l.lastCheckpoint = cp

	truncated := l.epochs.truncateFromEnd(leo)
	trimmed := l.epochs.truncateFromStart(l.logStart.Load())
	if truncated || trimmed || len(l.epochs.entries) > 0 {
		if err := l.epochs.persist(); err != nil {
			return nil, err
		}
	}
	if err := l.rebuildProducerState(leo); err != nil {
		return nil, err
	}
	if err := writeTopicID(dir, topicID); err != nil {
		return nil, err
	}
	opened = true
	return l, nil
}

// removeLeftovers deletes temporary files and files whose delayed
// deletion was cut short by a restart.
func (l *Log) removeLeftovers() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", l.dir, err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, deletedSuffix) {
			if err := os.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove leftover %s: %w", name, err)
			}
		}
	}
	return nil
}

// loadSegments opens every segment. A segment is trusted (indexes from
// disk, no scan) when the broker shut down cleanly or it lies wholly below
// the recovery point; any other segment is recovered by reading every
// batch. The first torn or corrupt batch ends the log: the file is cut
// there and later segments are deleted, as Kafka does.
func (l *Log) loadSegments(clean bool, recoveryPoint int64) error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", l.dir, err)
	}
	var bases []int64
	for _, e := range entries {
		if base, ok := parseSegmentName(e.Name()); ok {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	var segs []*segment
	next := int64(-1) // offset after the previous segment
	for i, base := range bases {
		if base < next {
			l.logger.Warn().Int64("segment", base).Int64("expected_from", next).Msg("segment overlaps the one before it; deleting it and every later segment")
			l.deleteSegmentFiles(bases[i:])
			break
		}
		seg, err := openSegment(l.dir, base, &l.cfg)
		if err != nil {
			closeSegments(segs)
			return err
		}
		trusted := clean || (i+1 < len(bases) && bases[i+1] <= recoveryPoint)
		loaded := false
		if trusted {
			if loaded, err = seg.loadClean(&l.cfg); err != nil {
				seg.release()
				closeSegments(segs)
				return err
			}
		}
		if !loaded {
			res, err := seg.recover(&l.cfg, func(h recordbatch.Header) {
				l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
			})
			if err != nil {
				seg.release()
				closeSegments(segs)
				return err
			}
			l.logger.Debug().Int64("segment", base).Int64("next_offset", seg.tail.Load().nextOffset).Msg("recovered segment")
			if res.truncated > 0 {
				l.logger.Warn().Int64("segment", base).Int64("bytes_cut", res.truncated).AnErr("reason", res.reason).
					Msg("cut a torn or corrupt tail off the log")
				segs = append(segs, seg)
				l.deleteSegmentFiles(bases[i+1:])
				break
			}
		}
		segs = append(segs, seg)
		next = seg.tail.Load().nextOffset
	}
	if len(segs) == 0 {
		cp, _ := readCheckpoint(l.dir)
		seg, err := createSegment(l.dir, cp.logStartOffset, &l.cfg, l.env.now())
		if err != nil {
			return err
		}
		segs = append(segs, seg)
	}
	l.segs.Store(&segs)
	return nil
}

func closeSegments(segs []*segment) {
	for _, s := range segs {
		s.release()
	}
}

// deleteSegmentFiles removes the files of segments that recovery dropped.
func (l *Log) deleteSegmentFiles(bases []int64) {
	for _, base := range bases {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := os.Remove(segmentName(l.dir, base, suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.logger.Error().Err(err).Int64("segment", base).Msg("remove segment file")
			}
		}
	}
}

// rebuildProducerState loads the newest usable snapshot at or below upTo
// and replays the idempotent batches after it. Snapshots above upTo (from
// before a truncation) are deleted.
func (l *Log) rebuildProducerState(upTo int64) error {
	offsets, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	var ps *producerState
	segs := *l.segs.Load()
	from := segs[0].baseOffset
	for i := len(offsets) - 1; i >= 0; i-- {
		off := offsets[i]
		path := snapshotPath(l.dir, off)
		if off > upTo || ps != nil {
			if off > upTo {
				os.Remove(path)
			}
			continue
		}
		raw, err := os.ReadFile(path)
		if err == nil {
			ps, err = decodeProducerState(raw)
		}
		if err != nil {
			l.logger.Warn().Err(err).Str("snapshot", path).Msg("skipping unusable producer state snapshot")
			os.Remove(path)
			ps = nil
			continue
		}
		from = max(from, off)
	}
	if ps == nil {
		ps = newProducerState()
	}
	for _, seg := range segs {
		t := seg.tail.Load()
		if t.nextOffset <= from || seg.baseOffset >= upTo {
			continue
		}
		sc := seg.scanner(seg.positionOf(from), t.size)
		for {
			h, _, err := sc.next()
			if errors.Is(err, io.EOF) {
				sc.close()
				break
			}
			if err != nil {
				sc.close()
				return fmt.Errorf("replay producer state: %w", err)
			}
			if h.BaseOffset >= upTo {
				sc.close()
				break
			}
			if h.BaseOffset >= from && h.Idempotent() {
				ps.update(h)
			}
		}
	}
	l.producers = ps
	return nil
}

// writeTopicID records the topic ID in partition.metadata, so a topic
// deleted and created again under the same name is told apart.
func writeTopicID(dir string, id [16]byte) error {
	path := filepath.Join(dir, metadataFile)
	want := fmt.Sprintf("version: 0\ntopic_id: %s\n", encodeTopicID(id))
	if raw, err := os.ReadFile(path); err == nil && string(raw) == want {
		return nil
	}
	return writeFileAtomic(path, []byte(want))
}

// readTopicID returns the topic ID a partition directory belongs to.
func readTopicID(dir string) ([16]byte, bool) {
	raw, err := os.ReadFile(filepath.Join(dir, metadataFile))
	if err != nil {
		return [16]byte{}, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "topic_id: "); ok {
			return decodeTopicID(strings.TrimSpace(v))
		}
	}
	return [16]byte{}, false
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

// Epochs returns the leader-epoch checkpoint entries.
func (l *Log) Epochs() []EpochEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epochs.snapshot()
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

// Append writes one record batch as the partition leader: it checks the
// batch against its idempotent producer's state, assigns offsets from the
// log end offset, stamps the leader epoch (and LogAppendTime when the
// topic uses it) and writes it. A duplicate of one of the producer's last
// five batches is not written; the result carries the original offsets.
// The batch's bytes are modified in place.
func (l *Log) Append(batch []byte, leaderEpoch int32, nowMs int64) (AppendResult, error) {
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, err
	}
	if h.TotalSize() != int64(len(batch)) {
		return AppendResult{}, fmt.Errorf("%w: Append takes exactly one whole batch", recordbatch.ErrCorrupt)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return AppendResult{}, ErrClosed
	}
	if h.Idempotent() {
		dup, err := l.producers.check(h)
		if err != nil {
			return AppendResult{}, err
		}
		if dup != nil {
			return AppendResult{
				BaseOffset: dup.firstOffset, LastOffset: dup.lastOffset, LogAppendTime: -1,
				LogStartOffset: l.logStart.Load(), Duplicate: true,
			}, nil
		}
	}
	base := l.logEnd.Load()
	recordbatch.SetBaseOffset(batch, base)
	recordbatch.SetLeaderEpoch(batch, leaderEpoch)
	res := AppendResult{BaseOffset: base, LastOffset: base + int64(h.LastOffsetDelta), LogAppendTime: -1}
	if l.cfg.LogAppendTime {
		recordbatch.SetLogAppendTime(batch, nowMs)
		res.LogAppendTime = nowMs
	}
	if h, err = recordbatch.ParseHeader(batch); err != nil {
		return AppendResult{}, err
	}
	// A new epoch's start is on disk before its first batch: a write
	// answered with an error must leave no records behind.
	if err := l.epochs.assignDurably(leaderEpoch, base); err != nil {
		return AppendResult{}, err
	}
	if err := l.appendBatch(batch, h, time.UnixMilli(nowMs)); err != nil {
		return AppendResult{}, err
	}
	if h.Idempotent() {
		l.producers.update(h)
	}
	res.LogStartOffset = l.logStart.Load()
	return res, nil
}

// AppendAsFollower appends batches copied from the partition's leader,
// their offsets and leader epochs already assigned. Each batch must be
// whole, pass its CRC-32C and start at or after the log end offset (a
// compacted leader log has gaps); a partial batch at the end, as a fetch
// response may carry, is left for the next fetch. It returns the new log
// end offset. The leader-epoch cache and producer state follow the
// batches, as on the leader.
func (l *Log) AppendAsFollower(records []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	epochsChanged := false
	for len(records) > 0 {
		if len(records) < recordbatch.HeaderSize {
			break // a partial batch
		}
		h, err := recordbatch.ParseHeader(records)
		if err != nil {
			return l.logEnd.Load(), err
		}
		if h.TotalSize() > int64(len(records)) {
			break // a partial batch
		}
		batch := records[:h.TotalSize()]
		records = records[h.TotalSize():]
		if !recordbatch.CRCValid(batch) {
			return l.logEnd.Load(), fmt.Errorf("%w: batch at offset %d from the leader fails its CRC-32C", recordbatch.ErrCorrupt, h.BaseOffset)
		}
		leo := l.logEnd.Load()
		if h.LastOffset() < leo {
			continue // already have it (an overlapping fetch)
		}
		if h.BaseOffset < leo {
			return leo, fmt.Errorf("%w: batch %d-%d from the leader straddles the log end offset %d", recordbatch.ErrCorrupt, h.BaseOffset, h.LastOffset(), leo)
		}
		if err := l.appendBatch(batch, h, l.env.now()); err != nil {
			return l.logEnd.Load(), err
		}
		if l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset) {
			epochsChanged = true
		}
		if h.Idempotent() {
			l.producers.update(h)
		}
	}
	if epochsChanged {
		if err := l.epochs.persist(); err != nil {
			return l.logEnd.Load(), err
		}
	}
	return l.logEnd.Load(), nil
}

// BecomeLeader records in the leader-epoch cache that epoch starts at the
// log end offset, as a new leader does before it takes writes, so that
// OffsetForLeaderEpoch answers followers of the previous epoch with the
// offset where it ended.
func (l *Log) BecomeLeader(epoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.epochs.assign(epoch, l.logEnd.Load()) {
		return l.epochs.persist()
	}
	return nil
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

// TruncateFully empties the log and restarts it at offset: a follower
// whose log lies wholly outside its leader's.
func (l *Log) TruncateFully(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.truncateFullyLocked(offset)
}

// appendBatch writes a batch with its offsets set, rolling first when the
// active segment is full or old, then applies flush.messages.
func (l *Log) appendBatch(batch []byte, h recordbatch.Header, now time.Time) error {
	seg := l.active()
	if !seg.fits(h.BaseOffset, h.LastOffsetDelta, h.TotalSize(), &l.cfg) || seg.dueForRoll(&l.cfg, h.MaxTimestamp, now) {
		var err error
		if seg, err = l.roll(h.BaseOffset); err != nil {
			return err
		}
	}
	if err := seg.append(batch, h, l.cfg.IndexIntervalBytes); err != nil {
		return err
	}
	l.logEnd.Store(h.LastOffset() + 1)
	if l.firstUnflushed.IsZero() {
		l.firstUnflushed = l.env.now()
	}
	l.unflushedRecords += int64(h.RecordCount)
	if fm := l.cfg.FlushMessages; fm > 0 && fm < math.MaxInt64 && l.unflushedRecords >= fm {
		return l.flushLocked()
	}
	return nil
}

// roll starts a new active segment at base. The old segment gets its final
// time index entry, its indexes are written, and it is fsynced in the
// background (then the recovery point moves past it), as Kafka does. A
// producer state snapshot is taken at base so recovery replays at most the
// new segment.
func (l *Log) roll(base int64) (*segment, error) {
	old := l.active()
	if old.tail.Load().size == 0 && old.baseOffset == base {
		return old, nil
	}
	old.maybeIndexTime()
	if err := old.persistIndexes(false); err != nil {
		return nil, err
	}
	seg, err := createSegment(l.dir, base, &l.cfg, l.env.now())
	if err != nil {
		return nil, err
	}
	segs := append(slices.Clone(*l.segs.Load()), seg)
	if old.tail.Load().size == 0 {
		// An empty segment (after DeleteRecords or retention emptied
		// the log) is replaced rather than kept.
		segs = slices.DeleteFunc(segs, func(s *segment) bool { return s == old })
		old.markDeleted()
		old.release()
	}
	l.segs.Store(&segs)
	if err := l.producers.writeSnapshot(l.dir, base); err != nil {
		l.logger.Warn().Err(err).Msg("producer state snapshot")
	}
	if old.tail.Load().size > 0 && old.acquire() {
		l.env.background(func() {
			defer old.release()
			if err := old.sync(); err != nil {
				l.logger.Error().Err(err).Int64("segment", old.baseOffset).Msg("flush rolled segment")
				return
			}
			l.mu.Lock()
			if l.recoveryPoint >= old.baseOffset && l.recoveryPoint < base {
				l.recoveryPoint = base
			}
			l.mu.Unlock()
			if err := l.writeCheckpoint(); err != nil {
				l.logger.Error().Err(err).Msg("write checkpoint")
			}
		})
	}
	l.logger.Debug().Int64("base_offset", base).Msg("rolled segment")
	return seg, nil
}

// Flush fsyncs everything written so far and moves the recovery point to
// the log end offset.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.flushLocked()
}

func (l *Log) flushLocked() error {
	for _, seg := range *l.segs.Load() {
		t := seg.tail.Load()
		if seg.flushedSize == t.size && t.nextOffset <= l.recoveryPoint {
			continue
		}
		if err := seg.persistIndexes(false); err != nil {
			return err
		}
		if err := seg.sync(); err != nil {
			return err
		}
		seg.flushedSize = t.size
	}
	l.recoveryPoint = l.logEnd.Load()
	l.unflushedRecords = 0
	l.firstUnflushed = time.Time{}
	return nil
}

// flushIfDue applies flush.ms.
func (l *Log) flushIfDue(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	fm := l.cfg.FlushMs
	if l.closed || l.firstUnflushed.IsZero() || fm <= 0 || fm == math.MaxInt64 || now.Sub(l.firstUnflushed) < fm {
		return nil
	}
	return l.flushLocked()
}

// TruncateTo removes every record at or after offset (a follower
// diverging from its leader). The log end offset becomes the base offset
// of the first removed batch, or offset when it falls between batches.
func (l *Log) TruncateTo(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if offset >= l.logEnd.Load() {
		return nil
	}
	if offset < l.logStart.Load() {
		return l.truncateFullyLocked(offset)
	}
	segs := *l.segs.Load()
	// Drop whole segments at or after offset, but keep the first.
	keep := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset >= offset })
	keep = max(keep, 1)
	for _, seg := range segs[keep:] {
		l.env.removeLater(l.cfg.FileDeleteDelay, seg.markDeleted())
		seg.release()
	}
	segs = slices.Clone(segs[:keep])
	last := segs[len(segs)-1]
	t := last.tail.Load()
	end := t.nextOffset
	if offset < t.nextOffset {
		h, pos, found, err := last.findBatch(last.positionOf(offset), t.size, offset)
		if err != nil {
			return err
		}
		if found {
			if err := last.truncateTo(pos, &l.cfg); err != nil {
				return err
			}
			end = h.BaseOffset
		}
	}
	l.segs.Store(&segs)
	end = max(end, last.tail.Load().nextOffset)
	l.logEnd.Store(end)
	l.highWatermark.Store(min(l.highWatermark.Load(), end))
	l.recoveryPoint = min(l.recoveryPoint, end)
	l.cleanerOffset = min(l.cleanerOffset, end)
	if l.epochs.truncateFromEnd(end) {
		if err := l.epochs.persist(); err != nil {
			return err
		}
	}
	return l.rebuildProducerState(end)
}

// truncateFullyLocked empties the log and restarts it at offset.
func (l *Log) truncateFullyLocked(offset int64) error {
	seg, err := createSegment(l.dir, offset, &l.cfg, l.env.now())
	if err != nil {
		return err
	}
	for _, s := range *l.segs.Load() {
		if s.baseOffset == offset {
			s.release() // createSegment already replaced its files
			continue
		}
		l.env.removeLater(l.cfg.FileDeleteDelay, s.markDeleted())
		s.release()
	}
	segs := []*segment{seg}
	l.segs.Store(&segs)
	l.logStart.Store(offset)
	l.logEnd.Store(offset)
	l.highWatermark.Store(offset)
	l.recoveryPoint = offset
	l.cleanerOffset = offset
	l.epochs.entries = nil
	if err := l.epochs.persist(); err != nil {
		return err
	}
	if offsets, err := listSnapshots(l.dir); err == nil {
		for _, off := range offsets {
			os.Remove(snapshotPath(l.dir, off))
		}
	}
	l.producers = newProducerState()
	return nil
}

// DeleteRecords moves the log start offset to offset (DeleteRecords API):
// records below it are no longer readable, and segments wholly below it
// are deleted. offset must not exceed the high watermark
// (ErrOffsetOutOfRange); an offset at or below the current start changes
// nothing. It returns the log start offset.
func (l *Log) DeleteRecords(offset int64) (int64, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	if offset > l.highWatermark.Load() || offset < 0 {
		l.mu.Unlock()
		return 0, fmt.Errorf("%w: %d is beyond the high watermark %d", ErrOffsetOutOfRange, offset, l.highWatermark.Load())
	}
	start := l.logStart.Load()
	if offset <= start {
		l.mu.Unlock()
		return start, nil
	}
	l.logStart.Store(offset)
	err := l.trimLocked()
	l.mu.Unlock()
	if err != nil {
		return offset, err
	}
	return offset, l.writeCheckpoint()
}

// trimLocked deletes segments wholly below the log start offset and
// trims the leader-epoch cache to it.
func (l *Log) trimLocked() error {
	start := l.logStart.Load()
	segs := *l.segs.Load()
	n := 0
	for n < len(segs) && segs[n].tail.Load().nextOffset <= start && (n+1 < len(segs) || segs[n].size() > 0) {
		n++
	}
	if err := l.deleteSegmentsLocked(n); err != nil {
		return err
	}
	if l.epochs.truncateFromStart(start) {
		return l.epochs.persist()
	}
	return nil
}

// deleteSegmentsLocked deletes the n oldest segments. When that is every
// segment, a new empty segment starts at the log end offset first, so the
// log always has an active segment.
func (l *Log) deleteSegmentsLocked(n int) error {
	if n == 0 {
		return nil
	}
	segs := *l.segs.Load()
	if n == len(segs) {
		if _, err := l.roll(l.logEnd.Load()); err != nil {
			return err
		}
		segs = *l.segs.Load()
		n = min(n, len(segs)-1) // roll may have replaced an empty segment
	}
	dropped := segs[:n]
	rest := slices.Clone(segs[n:])
	l.segs.Store(&rest)
	for _, seg := range dropped {
		l.env.removeLater(l.cfg.FileDeleteDelay, seg.markDeleted())
		seg.release()
	}
	if first := rest[0].baseOffset; first > l.logStart.Load() {
		l.logStart.Store(first)
	}
	if hw := l.highWatermark.Load(); hw < l.logStart.Load() {
		l.highWatermark.Store(l.logStart.Load())
	}
	// Snapshots below the first segment can never be used again.
	if offsets, err := listSnapshots(l.dir); err == nil {
		for _, off := range offsets {
			if off < rest[0].baseOffset {
				os.Remove(snapshotPath(l.dir, off))
			}
		}
	}
	return nil
}

// close shuts the log down. A clean close writes everything a restart
// needs to skip recovery: index files, a final time index entry, a
// producer state snapshot at the log end, fsynced segments and the
// checkpoint.
func (l *Log) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	var errs []error
	segs := *l.segs.Load()
	l.active().maybeIndexTime()
	if err := l.flushLocked(); err != nil {
		errs = append(errs, err)
	}
	leo := l.logEnd.Load()
	if err := l.producers.writeSnapshot(l.dir, leo); err != nil {
		errs = append(errs, err)
	}
	c := l.currentCheckpoint()
	l.closed = true
	l.mu.Unlock()

	l.checkpointMu.Lock()
	if len(errs) == 0 {
		if err := l.storeCheckpoint(c); err != nil {
			errs = append(errs, err)
		}
	}
	l.checkpointMu.Unlock()
	closeSegments(segs)
	return errors.Join(errs...)
}

// abandon closes the log without writing anything: its directory is about
// to be deleted.
func (l *Log) abandon() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	closeSegments(*l.segs.Load())
}
