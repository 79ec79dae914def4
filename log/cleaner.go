package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/samsa-io/samsa/log/atomicfile"
	"github.com/samsa-io/samsa/log/recordbatch"
)

// Log compaction (cleanup.policy=compact), as Kafka's log cleaner does it.
//
// The log splits into a clean part, already compacted, and a dirty part
// after it, starting at the cleaner offset. The cleanable part ends at the
// first segment that may not be touched: the active segment, a segment
// reaching past the high watermark, or one holding records younger than
// min.compaction.lag.ms. A pass reads the dirty cleanable records into a
// map from key to its latest offset, then rewrites every cleanable segment
// keeping only records that are the latest for their key. Offsets never
// change; a batch that loses records keeps its base offset and last
// offset delta. Tombstones (null values) get a delete horizon, now plus
// delete.retention.ms, the first time they are cleaned (KIP-534), and are
// dropped by the first pass after it. Records without a key are dropped.
//
// Cleaned segments are written beside the originals ("*.cleaned"), fsynced,
// renamed to "*.swap", and only then replace the originals; a restart that
// finds a "*.swap" completes the swap, one that finds "*.cleaned" discards
// it. The heavy work runs without the Log's lock; the swap takes it and
// gives up when retention or truncation changed the segments meanwhile.
//
// Transactions, as Kafka's cleaner treats them: nothing at or after the
// last stable offset is cleanable (Kafka's firstUncleanableDirtyOffset
// stops at the first unstable offset), so every transaction in the
// cleanable part has ended. Batches of aborted transactions (by the
// transaction indexes: the producer's batches from the transaction's
// first offset up to its ABORT marker) are dropped whole wherever they
// are, and never enter the key map, so aborted data can neither be read
// by anyone after cleaning nor hide an older committed value of its key.
// Committed transactional records are compacted like any other. A
// control batch (marker) stays while any data of its transaction stays
// before it; once none does, it gets a delete horizon (now plus
// delete.retention.ms, as a tombstone) and is dropped by the first pass
// after it, so a read_committed consumer that already read the
// transaction's data still meets the marker. A cleaned segment's
// transaction index keeps the entries of the ABORT markers it keeps:
// an entry without its marker would make read_committed consumers skip
// the producer's later transactions.
//
// A read_uncommitted reader sees every record the cleaner left; a
// read_committed reader never sees aborted data: before cleaning the
// index entries tell it to skip the data, after cleaning the data is
// gone, and an entry goes only with its marker.

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// errCleaningAborted: the segments changed while they were being cleaned.
var errCleaningAborted = errors.New("segments changed during cleaning")

// CleanStats describes one cleaning pass.
type CleanStats struct {
	Segments       int   // segments rewritten
	BytesBefore    int64 // their size before
	BytesAfter     int64 // and after
	RecordsRemoved int64
	CleanedUpTo    int64 // the new cleaner offset
	// NextDeleteHorizon is the earliest delete horizon of a tombstone
	// still in the log (-1: none): the log is due another pass then.
	NextDeleteHorizon int64
}

// cleanable describes what a pass may clean.
type cleanable struct {
	segs       []*segment // segments that may be rewritten, oldest first
	firstDirty int64
	dirtyBytes int64
	totalBytes int64
	// lagExceeded: dirty records are older than max.compaction.lag.ms.
	lagExceeded bool
}

// ratio is the dirty share of the cleanable bytes.
func (c cleanable) ratio() float64 {
	if c.totalBytes == 0 {
		return 0
	}
	return float64(c.dirtyBytes) / float64(c.totalBytes)
}

// cleanableLocked finds the segments a pass may rewrite.
func (l *Log) cleanableLocked(now time.Time) cleanable {
	segs := *l.segs.Load()
	c := cleanable{firstDirty: max(l.cleanerOffset, l.logStart.Load())}
	lso := l.LastStableOffset()
	lagLimit := now.Add(-l.cfg.MinCompactionLag).UnixMilli()
	for i, s := range segs {
		t := s.tail.Load()
		if i == len(segs)-1 || t.nextOffset > lso || (l.cfg.MinCompactionLag > 0 && s.maxTimestamp > lagLimit) {
			break
		}
		c.segs = append(c.segs, s)
		c.totalBytes += t.size
		if t.nextOffset > c.firstDirty {
			c.dirtyBytes += t.size
			if l.cfg.MaxCompactionLag > 0 && s.rollTimestamp >= 0 && s.rollTimestamp < now.Add(-l.cfg.MaxCompactionLag).UnixMilli() {
				c.lagExceeded = true
			}
		}
	}
	return c
}

// needsCleaning reports the log's dirty ratio and whether a pass is due.
func (l *Log) needsCleaning(now time.Time) (float64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.cfg.Compact {
		return 0, false
	}
	c := l.cleanableLocked(now)
	tombstonesDue := l.nextDeleteHorizon >= 0 && l.nextDeleteHorizon <= now.UnixMilli() && len(c.segs) > 0
	if c.dirtyBytes == 0 && !tombstonesDue {
		return 0, false
	}
	return c.ratio(), tombstonesDue || c.lagExceeded || c.ratio() >= l.cfg.MinCleanableDirtyRatio
}

// Clean runs one compaction pass. maxKeys bounds the key map
// (log.cleaner.dedupe.buffer.size); a larger dirty part is cleaned over
// several passes.
func (l *Log) Clean(now time.Time, maxKeys int) (CleanStats, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return CleanStats{}, ErrClosed
	}
	cfg := l.cfg
	c := l.cleanableLocked(now)
	for _, s := range c.segs {
		if !s.acquire() {
			l.mu.Unlock()
			return CleanStats{}, errCleaningAborted
		}
	}
	tombstonesDue := l.nextDeleteHorizon >= 0 && l.nextDeleteHorizon <= now.UnixMilli()
	aborted := abortedByProducer(*l.segs.Load())
	l.mu.Unlock()
	defer closeSegments(c.segs)
	if len(c.segs) == 0 || (c.dirtyBytes == 0 && !tombstonesDue) {
		return CleanStats{}, nil
	}

	latest, mapEnd, err := buildOffsetMap(c.segs, c.firstDirty, maxKeys, aborted)
	if err != nil {
		return CleanStats{}, err
	}
	// Rewrite every segment up to the end of what the map covers.
	var inputs []*segment
	for _, s := range c.segs {
		if s.baseOffset >= mapEnd {
			break
		}
		inputs = append(inputs, s)
	}
	if len(inputs) == 0 {
		// Nothing dirty: a pass for tombstones past their horizon
		// rewrites the clean part.
		inputs = c.segs
		mapEnd = c.firstDirty
	}
	rules := retainRules{
		latest: latest, mapEnd: mapEnd, nowMs: now.UnixMilli(), deleteRetention: cfg.DeleteRetention.Milliseconds(),
		aborted: aborted, txnData: make(map[int64]bool),
	}
	stats := CleanStats{NextDeleteHorizon: -1}
	var outputs []*segment
	discard := func() {
		for _, o := range outputs {
			o.release()
			removeCleaned(o)
		}
	}
	for _, group := range groupSegments(inputs, &cfg) {
		out, err := l.cleanGroup(group, &cfg, rules, &stats)
		if err != nil {
			discard()
			return CleanStats{}, err
		}
		outputs = append(outputs, out)
	}
	stats.CleanedUpTo = mapEnd
	if err := l.swapCleaned(inputs, outputs, mapEnd, stats.NextDeleteHorizon); err != nil {
		discard()
		return CleanStats{}, err
	}
	return stats, l.writeCheckpoint()
}

// abortedTxnRanges are the aborted transactions of each producer, in
// marker order.
type abortedTxnRanges map[int64][]abortedEntry

func abortedByProducer(segs []*segment) abortedTxnRanges {
	out := make(abortedTxnRanges)
	for _, s := range segs {
		for _, e := range s.abortedTxns() {
			out[e.producerID] = append(out[e.producerID], e)
		}
	}
	return out
}

// holds reports whether a data batch belongs to an aborted transaction.
func (a abortedTxnRanges) holds(h recordbatch.Header) bool {
	if !h.Transactional() || h.Control() {
		return false
	}
	entries := a[h.ProducerID]
	i := sort.Search(len(entries), func(i int) bool { return entries[i].lastOffset >= h.BaseOffset })
	return i < len(entries) && entries[i].firstOffset <= h.BaseOffset
}

// buildOffsetMap maps each key of the dirty records to its latest offset,
// leaving out aborted transactions' records. It stops at a segment
// boundary once maxKeys keys are mapped and returns the offset the map
// covers up to.
func buildOffsetMap(segs []*segment, firstDirty int64, maxKeys int, aborted abortedTxnRanges) (map[string]int64, int64, error) {
	latest := make(map[string]int64)
	mapEnd := firstDirty
	for _, s := range segs {
		t := s.tail.Load()
		if t.nextOffset <= firstDirty {
			continue
		}
		if len(latest) >= maxKeys && mapEnd > firstDirty {
			break
		}
		_, err := s.eachBatch(s.positionOf(firstDirty), func(h recordbatch.Header, pos int64) (bool, error) {
			if h.LastOffset() < firstDirty || h.Control() || aborted.holds(h) {
				return false, nil
			}
			batch, err := s.readBatch(pos, h)
			if err != nil {
				return false, err
			}
			return false, recordbatch.Records(batch, func(r recordbatch.Record) bool {
				if r.Offset >= firstDirty && r.Key != nil {
					latest[string(r.Key)] = r.Offset
				}
				return true
			})
		})
		if err != nil {
			return nil, 0, fmt.Errorf("map keys of segment %d: %w", s.baseOffset, err)
		}
		mapEnd = t.nextOffset
	}
	return latest, mapEnd, nil
}

// retainRules decide which records of a cleaned segment stay.
type retainRules struct {
	latest          map[string]int64
	mapEnd          int64
	nowMs           int64
	deleteRetention int64
	aborted         abortedTxnRanges
	// txnData says which producers have records of their current
	// transaction retained so far in the pass (batches are seen in
	// offset order); their next marker must stay.
	txnData map[int64]bool
}

// keep reports whether a record stays: it has a key, no later record of
// the key exists in the mapped part, and, for a tombstone, its batch's
// delete horizon has not passed.
func (r retainRules) keep(rec recordbatch.Record, deleteHorizon int64) bool {
	if rec.Key == nil {
		return false
	}
	if off, ok := r.latest[string(rec.Key)]; ok && off > rec.Offset {
		return false
	}
	if rec.Value == nil && deleteHorizon >= 0 && deleteHorizon <= r.nowMs {
		return false
	}
	return true
}

// groupSegments groups consecutive segments whose sizes add up to at most
// segment.bytes (and whose offsets fit one index), so cleaning merges
// segments that shrank, as Kafka's cleaner does.
func groupSegments(segs []*segment, cfg *Config) [][]*segment {
	var groups [][]*segment
	for i := 0; i < len(segs); {
		group := []*segment{segs[i]}
		size := segs[i].size()
		j := i + 1
		for ; j < len(segs); j++ {
			next := segs[j].tail.Load()
			if size+next.size > cfg.SegmentBytes || next.nextOffset-1-segs[i].baseOffset > 1<<31-1 {
				break
			}
			size += next.size
			group = append(group, segs[j])
		}
		groups = append(groups, group)
		i = j
	}
	return groups
}

// cleanGroup writes the retained records of a group of segments into one
// new segment, "<first base>.log.cleaned", and fsyncs it.
func (l *Log) cleanGroup(group []*segment, cfg *Config, rules retainRules, stats *CleanStats) (*segment, error) {
	base := group[0].baseOffset
	path := segmentName(l.dir, base, logSuffix+cleanedSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create cleaned segment: %w", err)
	}
	out := newSegment(l.dir, base, f, cfg)
	out.offsetIndex.path += cleanedSuffix
	out.timeIndex.path += cleanedSuffix
	out.txnIndexPath += cleanedSuffix
	keptMarkers := make(map[int64]bool)
	out.created = l.env.now()
	for _, reset := range []func() error{out.offsetIndex.reset, out.timeIndex.reset} {
		if err := reset(); err != nil {
			out.release()
			removeCleaned(out)
			return nil, err
		}
	}
	for _, s := range group {
		stats.Segments++
		stats.BytesBefore += s.size()
		_, err := s.eachBatch(0, func(h recordbatch.Header, pos int64) (bool, error) {
			batch, err := s.readBatch(pos, h)
			if err != nil {
				return false, err
			}
			kept, err := retainBatch(batch, h, rules, stats)
			if err != nil || kept == nil {
				return false, err
			}
			kh, err := recordbatch.ParseHeader(kept)
			if err != nil {
				return false, err
			}
			if kh.Control() {
				keptMarkers[kh.BaseOffset] = true
			}
			return false, out.append(kept, kh, cfg.IndexIntervalBytes)
		})
		if err != nil {
			out.release()
			removeCleaned(out)
			return nil, fmt.Errorf("clean segment %d: %w", s.baseOffset, err)
		}
	}
	out.maybeIndexTime()
	stats.BytesAfter += out.size()
	var entries []abortedEntry
	for _, s := range group {
		for _, e := range s.abortedTxns() {
			if keptMarkers[e.lastOffset] {
				entries = append(entries, e)
			}
		}
	}
	if err := out.writeTxnIndexDurably(entries); err != nil {
		out.release()
		removeCleaned(out)
		return nil, err
	}
	if err := out.persistIndexes(false); err != nil {
		out.release()
		removeCleaned(out)
		return nil, err
	}
	out.seal()
	if err := out.sync(); err != nil {
		out.release()
		removeCleaned(out)
		return nil, err
	}
	out.flushedSize = out.size()
	return out, nil
}

// retainBatch returns the batch to write in place of batch: itself when
// every record stays and no delete horizon must be set, a re-encoded
// batch of the records that stay, or nil when none does. Batches of
// aborted transactions go whole; markers follow retainControl.
func retainBatch(batch []byte, h recordbatch.Header, rules retainRules, stats *CleanStats) ([]byte, error) {
	if h.Control() {
		return retainControl(batch, h, rules, stats)
	}
	if rules.aborted.holds(h) {
		stats.RecordsRemoved += int64(h.RecordCount)
		return nil, nil
	}
	kept, err := retainRecords(batch, h, rules, stats)
	if kept != nil && h.Transactional() {
		rules.txnData[h.ProducerID] = true
	}
	return kept, err
}

// retainControl decides a control batch's fate: kept as it is while data
// of its transaction stays before it; otherwise given a delete horizon the
// first time, and dropped once the horizon passed.
func retainControl(batch []byte, h recordbatch.Header, rules retainRules, stats *CleanStats) ([]byte, error) {
	hasData := rules.txnData[h.ProducerID]
	delete(rules.txnData, h.ProducerID)
	if hasData {
		return batch, nil
	}
	horizon := h.DeleteHorizon()
	if horizon >= 0 && horizon <= rules.nowMs {
		stats.RecordsRemoved += int64(h.RecordCount)
		return nil, nil
	}
	effective := horizon
	if effective < 0 {
		effective = rules.nowMs + rules.deleteRetention
	}
	if stats.NextDeleteHorizon < 0 || effective < stats.NextDeleteHorizon {
		stats.NextDeleteHorizon = effective
	}
	if horizon >= 0 {
		return batch, nil
	}
	retained := recordbatch.NewRetained(h)
	if err := recordbatch.Records(batch, func(r recordbatch.Record) bool {
		retained.Add(r)
		return true
	}); err != nil {
		return nil, err
	}
	return retained.Bytes(effective)
}

// retainRecords applies the key map and tombstone horizons to a data
// batch.
func retainRecords(batch []byte, h recordbatch.Header, rules retainRules, stats *CleanStats) ([]byte, error) {
	horizon := h.DeleteHorizon()
	retained := recordbatch.NewRetained(h)
	tombstones := false
	iterErr := recordbatch.Records(batch, func(r recordbatch.Record) bool {
		if r.Offset >= rules.mapEnd || rules.keep(r, horizon) {
			retained.Add(r)
			tombstones = tombstones || r.Value == nil
		} else {
			stats.RecordsRemoved++
		}
		return true
	})
	if iterErr != nil {
		return nil, iterErr
	}
	if retained.Count() == 0 {
		return nil, nil
	}
	if tombstones {
		effective := horizon
		if effective < 0 {
			effective = rules.nowMs + rules.deleteRetention
		}
		if stats.NextDeleteHorizon < 0 || effective < stats.NextDeleteHorizon {
			stats.NextDeleteHorizon = effective
		}
	}
	if retained.Count() == h.RecordCount && (!tombstones || horizon >= 0) {
		return batch, nil
	}
	newHorizon := int64(-1)
	if tombstones && horizon < 0 {
		newHorizon = rules.nowMs + rules.deleteRetention
	}
	return retained.Bytes(newHorizon)
}

// removeCleaned deletes a cleaned segment that will not be swapped in.
func removeCleaned(s *segment) {
	for _, p := range []string{s.path(), s.offsetIndex.path, s.timeIndex.path, s.txnIndexPath} {
		os.Remove(p)
	}
}

// swapCleaned replaces inputs with outputs under the Log's lock, unless
// the segments changed meanwhile. The order of renames keeps a crash at
// any point recoverable: "*.cleaned" becomes "*.swap", the originals are
// renamed away, then "*.swap" takes their name.
func (l *Log) swapCleaned(inputs, outputs []*segment, cleanedUpTo, nextDeleteHorizon int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	segs := *l.segs.Load()
	start := slices.Index(segs, inputs[0])
	if start < 0 || start+len(inputs) > len(segs) || !slices.Equal(segs[start:start+len(inputs)], inputs) {
		return errCleaningAborted
	}
	for _, o := range outputs {
		if err := os.Rename(o.path(), strings.TrimSuffix(o.path(), cleanedSuffix)+swapSuffix); err != nil {
			return fmt.Errorf("swap in cleaned segment: %w", err)
		}
	}
	if err := atomicfile.SyncDir(l.dir); err != nil {
		return err
	}
	for _, s := range inputs {
		l.env.removeLater(l.cfg.FileDeleteDelay, s.markDeleted())
	}
	for _, o := range outputs {
		final := segmentName(l.dir, o.baseOffset, logSuffix)
		if err := os.Rename(segmentName(l.dir, o.baseOffset, logSuffix+swapSuffix), final); err != nil {
			return fmt.Errorf("swap in cleaned segment: %w", err)
		}
		o.offsetIndex.path = segmentName(l.dir, o.baseOffset, indexSuffix)
		o.timeIndex.path = segmentName(l.dir, o.baseOffset, timeIndexSuffix)
		o.txnIndexPath = segmentName(l.dir, o.baseOffset, txnIndexSuffix)
		renames := []struct{ from, to string }{
			{o.offsetIndex.path + cleanedSuffix, o.offsetIndex.path},
			{o.timeIndex.path + cleanedSuffix, o.timeIndex.path},
		}
		if len(o.abortedTxns()) > 0 {
			renames = append(renames, struct{ from, to string }{o.txnIndexPath + cleanedSuffix, o.txnIndexPath})
		}
		for _, x := range renames {
			// An index with no entries has no file (index.go).
			if err := os.Rename(x.from, x.to); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("swap in cleaned index: %w", err)
			}
		}
	}
	if err := atomicfile.SyncDir(l.dir); err != nil {
		return err
	}
	next := slices.Clone(segs[:start])
	next = append(next, outputs...)
	next = append(next, segs[start+len(inputs):]...)
	l.segs.Store(&next)
	for _, s := range inputs {
		s.release() // the Log's reference; readers keep theirs
	}
	l.cleanerOffset = max(l.cleanerOffset, cleanedUpTo)
	l.nextDeleteHorizon = nextDeleteHorizon
	return nil
}

// completeSwaps finishes swaps a crash interrupted, before the segments
// are loaded: a "<base>.log.swap" replaces every segment whose base offset
// lies in the range it covers; "*.cleaned" files are discarded. Index
// files of swapped segments are removed so they are rebuilt.
func (l *Log) completeSwaps(names []string) (changed bool, err error) {
	var bases []int64
	var swaps []int64
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, cleanedSuffix):
			os.Remove(l.dir + "/" + name)
			changed = true
		case strings.HasSuffix(name, logSuffix+swapSuffix):
			if base, ok := parseSegmentName(strings.TrimSuffix(name, swapSuffix)); ok {
				swaps = append(swaps, base)
			}
		default:
			if base, ok := parseSegmentName(name); ok {
				bases = append(bases, base)
			}
		}
	}
	for _, base := range swaps {
		swapPath := segmentName(l.dir, base, logSuffix+swapSuffix)
		end, err := lastOffsetOf(swapPath)
		if err != nil {
			return changed, err
		}
		for _, b := range bases {
			if b >= base && b <= end {
				l.deleteSegmentFiles([]int64{b})
			}
		}
		for _, suffix := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			os.Remove(segmentName(l.dir, base, suffix))
		}
		if err := os.Rename(swapPath, segmentName(l.dir, base, logSuffix)); err != nil {
			return true, fmt.Errorf("complete swap of %s: %w", swapPath, err)
		}
		l.logger.Info().Int64("segment", base).Msg("completed a cleaned-segment swap a crash interrupted")
	}
	if len(swaps) > 0 {
		return true, atomicfile.SyncDir(l.dir)
	}
	return changed, nil
}

// lastOffsetOf scans a segment file for the offset of its last record.
func lastOffsetOf(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	s := &segment{file: f}
	sc := s.scanner(0, st.Size())
	defer sc.close()
	last := int64(-1)
	for {
		h, _, err := sc.next()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, nil // a torn tail: what came before counts
		}
		last = h.LastOffset()
	}
}
