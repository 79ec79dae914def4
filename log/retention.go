package log

import (
	"time"
)

// enforceRetention deletes old segments from the front of the log, as
// Kafka's retention does, and returns how many it deleted. A segment is
// deleted when it lies wholly below the log start offset (DeleteRecords),
// or, for topics whose cleanup.policy includes delete, when its newest
// record is older than retention.ms or the log without it is still at
// least retention.bytes. Only segments wholly below the last stable
// offset are deleted, so no uncommitted record goes, nor the data of a
// transaction still open (or whose marker is not yet replicated); when
// every segment goes, a new empty one starts at the log end offset. It
// also forgets idempotent producers idle for longer than
// producer.id.expiration.ms (but not one with an open transaction).
func (l *Log) enforceRetention(now time.Time) (int, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, nil
	}
	if exp := l.cfg.ProducerIDExpiration; exp > 0 {
		l.producers.expire(now.UnixMilli(), exp.Milliseconds())
	}
	segs := *l.segs.Load()
	start, lso := l.logStart.Load(), l.LastStableOffset()
	var total int64
	for _, s := range segs {
		total += s.size()
	}
	excess := int64(-1)
	if l.cfg.Delete && l.cfg.RetentionBytes >= 0 {
		excess = total - l.cfg.RetentionBytes
	}
	n := 0
	for ; n < len(segs); n++ {
		s := segs[n]
		t := s.tail.Load()
		if t.size == 0 || t.nextOffset > lso {
			break
		}
		expired := false
		switch {
		case t.nextOffset <= start:
			expired = true
		case l.cfg.Delete && l.cfg.RetentionMs >= 0 && s.newestTimestamp() < now.Add(-l.cfg.RetentionMs).UnixMilli():
			expired = true
		case excess >= 0 && excess-t.size >= 0:
			expired = true
		}
		if !expired {
			break
		}
		if excess >= 0 {
			excess -= t.size
		}
	}
	if n == 0 {
		l.mu.Unlock()
		return 0, nil
	}
	err := l.deleteSegmentsLocked(n)
	if err == nil && l.epochs.truncateFromStart(l.logStart.Load()) {
		err = l.epochs.persist()
	}
	l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	l.logger.Info().Int("segments", n).Int64("log_start_offset", l.logStart.Load()).Msg("retention deleted old segments")
	return n, l.writeCheckpoint()
}

// newestTimestamp is the largest record timestamp of the segment, or its
// file's modification time when its records carry none, as Kafka decides
// time retention.
func (s *segment) newestTimestamp() int64 {
	if s.maxTimestamp >= 0 {
		return s.maxTimestamp
	}
	if st, err := s.file.Stat(); err == nil {
		return st.ModTime().UnixMilli()
	}
	return time.Now().UnixMilli()
}
