package log

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// Read returns the bytes to send for a fetch at offset: a range of one
// segment file starting with the batch that holds offset and ending before
// the first batch at or after limit (the high watermark for consumers,
// the log end offset for followers), at most maxBytes long unless the
// first batch alone is longer (KIP-74). An offset below the log start or
// above the log end offset is ErrOffsetOutOfRange; an offset at or past
// limit gives an empty result.
//
// Read takes no lock. The caller must Release the result once its bytes
// were sent.
func (l *Log) Read(offset int64, maxBytes int32, limit int64) (ReadResult, error) {
	for {
		start, end := l.logStart.Load(), l.logEnd.Load()
		if offset < start || offset > end {
			return ReadResult{}, fmt.Errorf("%w: offset %d, log holds %d to %d", ErrOffsetOutOfRange, offset, start, end)
		}
		limit = min(limit, end)
		if offset >= limit {
			return ReadResult{}, nil
		}
		segs := *l.segs.Load()
		i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > offset }) - 1
		retry := false
		for i = max(i, 0); i < len(segs); i++ {
			seg := segs[i]
			if seg.baseOffset >= limit {
				return ReadResult{}, nil
			}
			if !seg.acquire() {
				retry = true // deleted under us: look again
				break
			}
			rr, found, err := seg.read(offset, maxBytes, limit)
			if err != nil {
				seg.release()
				return ReadResult{}, err
			}
			if found {
				if rr.Size == 0 {
					seg.release()
					return ReadResult{}, nil
				}
				rr.release = seg.release
				return rr, nil
			}
			seg.release()
		}
		if !retry {
			return ReadResult{}, nil
		}
	}
}

// read finds offset in the segment. found is false when every batch of
// the segment lies below offset, so the read continues in the next one.
func (s *segment) read(offset int64, maxBytes int32, limit int64) (ReadResult, bool, error) {
	t := s.tail.Load()
	if offset >= t.nextOffset {
		return ReadResult{}, false, nil
	}
	first, startPos, found, err := s.findBatch(s.positionOf(offset), t.size, offset)
	if err != nil || !found {
		return ReadResult{}, false, err
	}
	if first.BaseOffset >= limit {
		return ReadResult{}, true, nil
	}
	endPos := t.size
	if limit < t.nextOffset {
		// The range ends before the first batch holding limit.
		_, pos, found, err := s.findBatch(max(s.positionOf(limit), startPos), t.size, limit)
		if err != nil {
			return ReadResult{}, false, err
		}
		if found {
			endPos = pos
		}
	}
	size := endPos - startPos
	if size > int64(maxBytes) {
		size = min(max(int64(maxBytes), first.TotalSize()), size)
	}
	return ReadResult{File: s.file, Position: startPos, Size: size}, true, nil
}

// OffsetForTimestamp finds the first record, at or after the log start
// offset, whose timestamp is at or after ts (ListOffsets by timestamp). ok
// is false when every record is older. Records are scanned without their
// keys and values (recordbatch.ScanRecords): any client may ask, again
// and again, about batches holding huge records.
func (l *Log) OffsetForTimestamp(ts int64) (TimestampOffset, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.logStart.Load()
	for _, seg := range *l.segs.Load() {
		if seg.maxTimestamp < ts || seg.tail.Load().nextOffset <= start {
			continue
		}
		from := int64(0)
		if rel, ok := lookupTime(seg.timeIndex, ts); ok {
			from = seg.positionOf(seg.baseOffset + int64(rel))
		}
		var found TimestampOffset
		ok, err := seg.eachBatch(from, func(h recordbatch.Header, pos int64) (bool, error) {
			if h.MaxTimestamp < ts || h.LastOffset() < start {
				return false, nil
			}
			batch, err := seg.readBatch(pos, h)
			if err != nil {
				return false, err
			}
			var hit bool
			err = recordbatch.ScanRecords(batch, func(r recordbatch.RecordInfo) bool {
				if r.Offset >= start && r.Timestamp >= ts {
					found, hit = TimestampOffset{Offset: r.Offset, Timestamp: r.Timestamp}, true
					return false
				}
				return true
			})
			return hit, err
		})
		if err != nil {
			return TimestampOffset{}, false, err
		}
		if ok {
			return found, true, nil
		}
	}
	return TimestampOffset{}, false, nil
}

// MaxTimestamp returns the first record holding the largest timestamp in
// the log (ListOffsets MAX_TIMESTAMP, KIP-734); Offset is -1 when the log
// is empty.
func (l *Log) MaxTimestamp() (TimestampOffset, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.logStart.Load()
	var best *segment
	for _, seg := range *l.segs.Load() {
		if seg.tail.Load().nextOffset <= start {
			continue
		}
		if best == nil || seg.maxTimestamp > best.maxTimestamp {
			best = seg
		}
	}
	none := TimestampOffset{Offset: -1, Timestamp: -1}
	if best == nil || best.maxTimestamp < 0 {
		return none, nil
	}
	target := best.maxTimestamp
	found := none
	_, err := best.eachBatch(best.positionOf(best.offsetOfMaxTimestamp), func(h recordbatch.Header, pos int64) (bool, error) {
		if h.MaxTimestamp != target {
			return false, nil
		}
		batch, err := best.readBatch(pos, h)
		if err != nil {
			return false, err
		}
		var hit bool
		err = recordbatch.ScanRecords(batch, func(r recordbatch.RecordInfo) bool {
			if r.Timestamp == target && r.Offset >= start {
				found, hit = TimestampOffset{Offset: r.Offset, Timestamp: r.Timestamp}, true
				return false
			}
			return true
		})
		return hit, err
	})
	return found, err
}

// eachBatch walks the batch headers from position from until fn returns
// true (done) or the segment ends; fn reads the batch itself when it needs
// to look inside. Used by the lookups under the Log's lock.
func (s *segment) eachBatch(from int64, fn func(recordbatch.Header, int64) (bool, error)) (bool, error) {
	t := s.tail.Load()
	sc := s.scanner(from, t.size)
	defer sc.close()
	for {
		h, pos, err := sc.next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		done, err := fn(h, pos)
		if err != nil || done {
			return done, err
		}
	}
}
