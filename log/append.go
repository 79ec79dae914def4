package log

// Appending: as the partition leader (offsets and epoch assigned here) or
// as a follower (batches copied from the leader), and rolling to a new
// segment when the active one is full or old.

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// Append writes one record batch as the partition leader:
// AppendWithGuard without KIP-890 verification.
func (l *Log) Append(batch []byte, leaderEpoch int32, nowMs int64) (AppendResult, error) {
	return l.AppendWithGuard(batch, leaderEpoch, nowMs, SkipVerification)
}

// AppendWithGuard writes one record batch as the partition leader: it
// checks the batch against its idempotent producer's state, assigns
// offsets from the log end offset, stamps the leader epoch (and
// LogAppendTime when the topic uses it) and writes it. A duplicate of one
// of the producer's last five batches is not written; the result carries
// the original offsets. The batch's bytes are modified in place.
//
// Transactions (txn.go): a transactional batch that would open a
// transaction needs the producer's verification guard (or guard
// SkipVerification), and a non-transactional batch from a producer with
// an open transaction is refused; both ErrInvalidTxnState. Control
// batches are written by AppendMarker only.
func (l *Log) AppendWithGuard(batch []byte, leaderEpoch int32, nowMs int64, guard uint64) (AppendResult, error) {
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, err
	}
	if h.TotalSize() != int64(len(batch)) {
		return AppendResult{}, fmt.Errorf("%w: Append takes exactly one whole batch", recordbatch.ErrCorrupt)
	}
	if h.Control() {
		return AppendResult{}, fmt.Errorf("%w: control batches are written by AppendMarker", recordbatch.ErrInvalidRecord)
	}
	if h.Transactional() && !h.Idempotent() {
		return AppendResult{}, fmt.Errorf("%w: a transactional batch without a producer ID", recordbatch.ErrInvalidRecord)
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
		if err := l.producers.checkTxn(h, guard); err != nil {
			return AppendResult{}, err
		}
	}
	res, h, err := l.writeAsLeader(batch, leaderEpoch, nowMs)
	if err != nil {
		return AppendResult{}, err
	}
	if h.Idempotent() {
		l.producers.update(h)
		l.publishTxns()
	}
	res.LogStartOffset = l.logStart.Load()
	return res, nil
}

// writeAsLeader gives a batch its offsets from the log end offset, the
// leader epoch (and LogAppendTime when the topic uses it) and writes it
// (mu held). It returns the offsets and the header as written.
func (l *Log) writeAsLeader(batch []byte, leaderEpoch int32, nowMs int64) (AppendResult, recordbatch.Header, error) {
	base := l.logEnd.Load()
	recordbatch.SetBaseOffset(batch, base)
	recordbatch.SetLeaderEpoch(batch, leaderEpoch)
	res := AppendResult{BaseOffset: base, LogAppendTime: -1}
	if l.cfg.LogAppendTime {
		recordbatch.SetLogAppendTime(batch, nowMs)
		res.LogAppendTime = nowMs
	}
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, h, err
	}
	res.LastOffset = h.LastOffset()
	// A new epoch's start is on disk before its first batch: a write
	// answered with an error must leave no records behind.
	if err := l.epochs.assignDurably(leaderEpoch, base); err != nil {
		return AppendResult{}, h, err
	}
	if err := l.appendBatch(batch, h, time.UnixMilli(nowMs)); err != nil {
		return AppendResult{}, h, err
	}
	return res, h, nil
}

// AppendAsFollower appends batches copied from the partition's leader,
// their offsets and leader epochs already assigned. Each batch must be
// whole, pass its CRC-32C and start at or after the log end offset (a
// compacted leader log has gaps); a partial batch at the end, as a fetch
// response may carry, is left for the next fetch. It returns the new log
// end offset. The leader-epoch cache, producer state, open transactions
// and transaction indexes follow the batches, as on the leader.
//
// Batches that go into the same segment are written with one write, as
// Kafka's follower appends a fetched record set (a run ends where the
// segment rolls); a bad batch still leaves the good ones before it
// appended.
func (l *Log) AppendAsFollower(records []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	run := followerRun{l: l, records: records, now: l.env.now(), headers: make([]recordbatch.Header, 0, 16)}
	for pos := 0; pos < len(records); {
		if len(records)-pos < recordbatch.HeaderSize {
			break // a partial batch
		}
		h, err := recordbatch.ParseHeader(records[pos:])
		if err != nil {
			return run.fail(err)
		}
		size := int(h.TotalSize())
		if size > len(records)-pos {
			break // a partial batch
		}
		batch := records[pos : pos+size]
		if !recordbatch.CRCValid(batch) {
			return run.fail(fmt.Errorf("%w: batch at offset %d from the leader fails its CRC-32C", recordbatch.ErrCorrupt, h.BaseOffset))
		}
		leo := run.logEnd()
		if h.LastOffset() < leo {
			pos += size
			continue // already have it (an overlapping fetch)
		}
		if h.BaseOffset < leo {
			return run.fail(fmt.Errorf("%w: batch %d-%d from the leader straddles the log end offset %d", recordbatch.ErrCorrupt, h.BaseOffset, h.LastOffset(), leo))
		}
		if err := run.add(pos, h); err != nil {
			return l.logEnd.Load(), err
		}
		pos += size
	}
	if err := run.flush(); err != nil {
		return l.logEnd.Load(), err
	}
	return l.logEnd.Load(), nil
}

// followerRun gathers a follower's batches that go into the active
// segment one after the other, to write them with one write (mu held).
type followerRun struct {
	l          *Log
	records    []byte // the fetched batches; the run is records[start:end]
	start, end int
	headers    []recordbatch.Header
	pending    pendingRun
	now        time.Time
}

// logEnd is the log end offset once the run is written.
func (r *followerRun) logEnd() int64 {
	if len(r.headers) > 0 {
		return r.headers[len(r.headers)-1].LastOffset() + 1
	}
	return r.l.logEnd.Load()
}

// add takes the batch h at pos in records into the run, first writing
// the run when the batch does not follow it in records or in the active
// segment (rolling the segment when the batch starts a run that does not
// fit it).
func (r *followerRun) add(pos int, h recordbatch.Header) error {
	l := r.l
	if len(r.headers) > 0 && (pos != r.end || !l.active().takes(h, r.pending, &l.cfg, r.now)) {
		if err := r.flush(); err != nil {
			return err
		}
	}
	if len(r.headers) == 0 {
		if seg := l.active(); !seg.takes(h, pendingRun{}, &l.cfg, r.now) {
			if _, err := l.roll(h.BaseOffset); err != nil {
				return err
			}
		}
		r.start, r.end = pos, pos
		r.pending = pendingRun{rollTimestamp: -1}
	}
	r.headers = append(r.headers, h)
	r.end += int(h.TotalSize())
	r.pending.bytes += h.TotalSize()
	r.pending.batches++
	if r.pending.rollTimestamp < 0 {
		r.pending.rollTimestamp = h.MaxTimestamp
	}
	return nil
}

// flush writes the run with one write, then lets the leader-epoch cache,
// producer state and transactions follow its batches.
func (r *followerRun) flush() error {
	if len(r.headers) == 0 {
		return nil
	}
	l := r.l
	headers := r.headers
	r.headers = r.headers[:0]
	if err := l.writeRun(r.records[r.start:r.end], headers); err != nil {
		return err
	}
	epochsChanged := false
	pos := r.start
	for _, h := range headers {
		batch := r.records[pos : pos+int(h.TotalSize())]
		pos += len(batch)
		if l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset) {
			epochsChanged = true
		}
		switch {
		case h.Control():
			if err := l.applyControlBatch(batch, h); err != nil {
				return err
			}
		case h.Idempotent():
			l.producers.update(h)
			l.publishTxns()
		}
	}
	if epochsChanged {
		return l.epochs.persist()
	}
	return nil
}

// fail writes the run gathered before a bad batch and returns err with
// the log end offset.
func (r *followerRun) fail(err error) (int64, error) {
	if ferr := r.flush(); ferr != nil {
		return r.l.logEnd.Load(), ferr
	}
	return r.l.logEnd.Load(), err
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

// appendBatch writes a batch with its offsets set, rolling first when the
// active segment is full or old, then applies flush.messages.
func (l *Log) appendBatch(batch []byte, h recordbatch.Header, now time.Time) error {
	if seg := l.active(); !seg.takes(h, pendingRun{}, &l.cfg, now) {
		if _, err := l.roll(h.BaseOffset); err != nil {
			return err
		}
	}
	return l.writeRun(batch, []recordbatch.Header{h})
}

// writeRun writes batches (headers are theirs, in order) that the active
// segment takes with one write, moves the log end offset past them, then
// applies flush.messages.
func (l *Log) writeRun(batches []byte, headers []recordbatch.Header) error {
	if err := l.active().appendRun(batches, headers, l.cfg.IndexIntervalBytes); err != nil {
		return err
	}
	l.logEnd.Store(headers[len(headers)-1].LastOffset() + 1)
	if l.firstUnflushed.IsZero() {
		l.firstUnflushed = l.env.now()
	}
	for _, h := range headers {
		l.unflushedRecords += int64(h.RecordCount)
	}
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
	old.seal()
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
