package log

// Removing records: from the end (a follower diverging from its leader) and
// from the start (DeleteRecords; retention.go shares deleteSegmentsLocked).

import (
	"fmt"
	"os"
	"slices"
	"sort"
)

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
	if err := last.unseal(); err != nil {
		// Rebuilt from the segment instead.
		if _, err := last.recover(&l.cfg, nil); err != nil {
			return err
		}
	}
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
	return l.rebuildProducerState(end, end)
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
	l.producers.unstableChanged = true
	l.publishTxns()
	return nil
}

// DeleteRecords moves the log start offset to offset (DeleteRecords API):
// records below it are no longer readable, and segments wholly below it
// are deleted. offset must not exceed the high watermark
// (ErrOffsetOutOfRange); an offset at or below the current start changes
// nothing. It returns the log start offset.
func (l *Log) DeleteRecords(offset int64) (int64, error) {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if offset > l.highWatermark.Load() || offset < 0 {
		return 0, fmt.Errorf("%w: %d is beyond the high watermark %d", ErrOffsetOutOfRange, offset, l.highWatermark.Load())
	}
	start := l.logStart.Load()
	if offset <= start {
		return start, nil
	}
	// The new start is on disk before it takes effect, so a deletion
	// answered with an error (a full disk) changed nothing.
	c := l.currentCheckpoint()
	c.logStartOffset = offset
	if err := l.storeCheckpoint(c); err != nil {
		return start, err
	}
	l.logStart.Store(offset)
	if err := l.trimLocked(); err != nil {
		// The records are deleted (the start offset is durable); the
		// files go with a later retention pass.
		l.logger.Warn().Err(err).Int64("log_start_offset", offset).Msg("delete records: segment files remain for now")
	}
	return offset, nil
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
