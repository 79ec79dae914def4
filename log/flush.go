package log

// Making writes durable: flush (flush.messages, flush.ms, Flush), and
// closing a log cleanly or abandoning it.

import (
	"errors"
	"math"
	"time"
)

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
	segs := *l.segs.Load()
	for i, seg := range segs {
		t := seg.tail.Load()
		if seg.flushedSize == t.size && t.nextOffset <= l.recoveryPoint {
			continue
		}
		if err := seg.persistIndexes(false); err != nil {
			return err
		}
		if i < len(segs)-1 {
			seg.seal()
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
	// What the disk holds already is not written again: a broker with
	// thousands of idle partitions stops in seconds.
	leo := l.logEnd.Load()
	if l.producers.snapshotAt != leo {
		if err := l.producers.writeSnapshot(l.dir, leo); err != nil {
			errs = append(errs, err)
		}
	}
	c := l.currentCheckpoint()
	l.closed = true
	l.mu.Unlock()

	l.checkpointMu.Lock()
	if len(errs) == 0 && c != l.lastCheckpoint {
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
