package log

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// File name suffixes of a segment.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
)

func segmentName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegmentName returns the base offset of a "<base>.log" file name.
func parseSegmentName(name string) (int64, bool) {
	if !strings.HasSuffix(name, logSuffix) {
		return 0, false
	}
	base, err := strconv.ParseInt(strings.TrimSuffix(name, logSuffix), 10, 64)
	return base, err == nil && base >= 0
}

// segment is one file of record batches with its indexes.
//
// Readers see tail (committed size and next offset) and the index entries
// without a lock; everything else belongs to the Log's writer (Log.mu).
// The file stays open while anyone holds a reference: the Log holds one
// until the segment is deleted, each read holds one until its bytes were
// sent.
type segment struct {
	baseOffset  int64
	dir         string
	file        *os.File
	offsetIndex *index[offsetEntry]
	timeIndex   *index[timeEntry]
	// txnIndexPath is the transaction index file (txnindex.go) and
	// aborted its entries, published for lock-free readers.
	txnIndexPath string
	aborted      atomic.Pointer[[]abortedEntry]
	// txnIndexStale: the file does not hold the entries (it was
	// corrupt); the next rebuild rewrites it (Log.mu).
	txnIndexStale bool

	tail atomic.Pointer[segmentTail]
	refs atomic.Int32

	// Writer state (Log.mu).
	bytesSinceIndex int64
	// maxTimestamp is the largest batch max timestamp (-1: none) and
	// offsetOfMaxTimestamp the base offset of the first batch with it.
	maxTimestamp         int64
	offsetOfMaxTimestamp int64
	// rollTimestamp is the first batch's max timestamp, which segment.ms
	// counts from as in Kafka (-1 until the first batch: creation time).
	rollTimestamp int64
	created       time.Time
	rollJitter    time.Duration
	// flushedSize is how much of the file is known to be fsynced.
	flushedSize int64
}

// segmentTail is what readers need to know of the end of a segment.
type segmentTail struct {
	size       int64 // bytes of whole batches
	nextOffset int64 // offset after the last batch; baseOffset when empty
}

func newSegment(dir string, base int64, file *os.File, cfg *Config) *segment {
	s := &segment{
		baseOffset:           base,
		dir:                  dir,
		file:                 file,
		offsetIndex:          newOffsetIndex(segmentName(dir, base, indexSuffix), cfg.SegmentIndexBytes),
		timeIndex:            newTimeIndex(segmentName(dir, base, timeIndexSuffix), cfg.SegmentIndexBytes),
		txnIndexPath:         segmentName(dir, base, txnIndexSuffix),
		maxTimestamp:         -1,
		offsetOfMaxTimestamp: -1,
		rollTimestamp:        -1,
	}
	s.refs.Store(1)
	s.tail.Store(&segmentTail{nextOffset: base})
	return s
}

// createSegment creates an empty segment, replacing stale files of the
// same name.
func createSegment(dir string, base int64, cfg *Config, now time.Time) (*segment, error) {
	return makeSegment(dir, base, cfg, now, false)
}

// makeSegment is createSegment; fresh says dir was just made, so no index
// file of an earlier segment at base can be there to empty.
func makeSegment(dir string, base int64, cfg *Config, now time.Time, fresh bool) (*segment, error) {
	path := segmentName(dir, base, logSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if cfg.Preallocate && cfg.SegmentBytes > 0 {
		// Reserve the blocks without changing the file size, so
		// recovery never sees preallocated zeros as data.
		_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, cfg.SegmentBytes)
	}
	s := newSegment(dir, base, f, cfg)
	s.created = now
	s.rollJitter = cfg.rollJitter()
	if fresh {
		var none []offsetEntry
		s.offsetIndex.entries.Store(&none)
		var noTimes []timeEntry
		s.timeIndex.entries.Store(&noTimes)
		return s, nil
	}
	if err := s.offsetIndex.reset(); err != nil {
		f.Close()
		return nil, err
	}
	if err := s.timeIndex.reset(); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Remove(s.txnIndexPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.Close()
		return nil, fmt.Errorf("remove stale %s: %w", s.txnIndexPath, err)
	}
	return s, nil
}

// openSegment opens an existing segment file; its tail and indexes are
// set by load or recover.
func openSegment(dir string, base int64, cfg *Config) (*segment, error) {
	path := segmentName(dir, base, logSuffix)
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	s := newSegment(dir, base, f, cfg)
	if st, err := f.Stat(); err == nil {
		s.created = st.ModTime()
	}
	s.rollJitter = cfg.rollJitter()
	return s, nil
}

func (s *segment) path() string { return s.file.Name() }

// acquire takes a reference for a reader; false when the segment is
// already closed (deleted), in which case the reader looks again.
func (s *segment) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the file.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		s.file.Close()
	}
}

func (s *segment) size() int64 { return s.tail.Load().size }

// append writes one batch (base offset assigned) at the end of the
// segment and indexes it. On a failed or short write the file is cut back
// so no torn batch stays behind.
func (s *segment) append(batch []byte, h recordbatch.Header, indexInterval int32) error {
	return s.appendRun(batch, []recordbatch.Header{h}, indexInterval)
}

// appendRun writes batches, whole and in offset order (headers are
// theirs, in the same order), at the end of the segment with one write,
// then indexes each as append does. Readers see none of them until all
// are written and indexed.
func (s *segment) appendRun(batches []byte, headers []recordbatch.Header, indexInterval int32) error {
	t := s.tail.Load()
	if n, err := s.file.WriteAt(batches, t.size); err != nil || n != len(batches) {
		if terr := s.file.Truncate(t.size); terr != nil {
			return fmt.Errorf("write %s: %v; then cutting back the partial write failed: %w", s.path(), err, terr)
		}
		if err == nil {
			err = io.ErrShortWrite
		}
		return fmt.Errorf("write %s: %w", s.path(), err)
	}
	pos := t.size
	for _, h := range headers {
		s.indexBatch(h, pos, indexInterval)
		pos += h.TotalSize()
	}
	s.tail.Store(&segmentTail{size: t.size + int64(len(batches)), nextOffset: headers[len(headers)-1].LastOffset() + 1})
	return nil
}

// indexBatch updates indexes and timestamps for a batch at pos.
func (s *segment) indexBatch(h recordbatch.Header, pos int64, indexInterval int32) {
	if s.rollTimestamp < 0 {
		s.rollTimestamp = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = h.MaxTimestamp, h.BaseOffset
	}
	if s.bytesSinceIndex > int64(indexInterval) {
		s.offsetIndex.add(offsetEntry{rel: uint32(h.BaseOffset - s.baseOffset), pos: uint32(pos)})
		s.maybeIndexTime()
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.TotalSize()
}

// maybeIndexTime adds a time index entry when the largest timestamp grew
// since the last one.
func (s *segment) maybeIndexTime() {
	if s.maxTimestamp < 0 {
		return
	}
	if last, ok := s.timeIndex.last(); ok && last.timestamp >= s.maxTimestamp {
		return
	}
	s.timeIndex.add(timeEntry{timestamp: s.maxTimestamp, rel: uint32(s.offsetOfMaxTimestamp - s.baseOffset)})
}

// pendingRun is what a run of batches still to be written with one
// write (a follower's, appendRun) would add to the active segment first.
type pendingRun struct {
	bytes   int64
	batches int
	// rollTimestamp is the first max timestamp of the pending batches
	// that is not negative (-1 when none is), which becomes the
	// segment's roll timestamp when it has none yet (indexBatch).
	rollTimestamp int64
}

// takes reports whether the batch h may go into this segment after
// pending: it fits and segment.ms has not passed.
func (s *segment) takes(h recordbatch.Header, pending pendingRun, cfg *Config, now time.Time) bool {
	return s.fits(h.BaseOffset, h.LastOffsetDelta, h.TotalSize(), pending, cfg) && !s.dueForRoll(cfg, h.MaxTimestamp, pending, now)
}

// fits reports whether a batch of size bytes and lastOffsetDelta may
// still go into this segment after pending: relative offsets must fit
// the index's 32 bits, positions too, and each pending batch may take
// an entry of each index.
func (s *segment) fits(base int64, lastOffsetDelta int32, size int64, pending pendingRun, cfg *Config) bool {
	used := s.tail.Load().size + pending.bytes
	if used == 0 {
		return true
	}
	switch {
	case used+size > cfg.SegmentBytes || used+size > math.MaxUint32:
		return false
	case s.offsetIndex.len()+pending.batches >= s.offsetIndex.maxEntries || s.timeIndex.len()+pending.batches >= s.timeIndex.maxEntries:
		return false
	case base+int64(lastOffsetDelta)-s.baseOffset > math.MaxInt32:
		return false
	}
	return true
}

// dueForRoll reports whether segment.ms (less this segment's jitter) has
// passed, as Kafka decides it: from the first batch's max timestamp to the
// incoming batch's, or, when the first batch has no timestamp, from the
// segment's creation to now. The first batch may be pending.
func (s *segment) dueForRoll(cfg *Config, incomingMaxTimestamp int64, pending pendingRun, now time.Time) bool {
	if s.tail.Load().size+pending.bytes == 0 || cfg.SegmentMs <= 0 {
		return false
	}
	rollTimestamp := s.rollTimestamp
	if rollTimestamp < 0 && pending.batches > 0 {
		rollTimestamp = pending.rollTimestamp
	}
	waited := now.Sub(s.created).Milliseconds()
	if rollTimestamp >= 0 {
		waited = incomingMaxTimestamp - rollTimestamp
	}
	return waited > (cfg.SegmentMs - s.rollJitter).Milliseconds()
}

// persistIndexes writes index entries not yet on disk; with sync, it
// fsyncs them too.
func (s *segment) persistIndexes(sync bool) error {
	if err := s.offsetIndex.persist(sync); err != nil {
		return err
	}
	return s.timeIndex.persist(sync)
}

// seal drops the segment's index entries from memory once they are in
// their files (index.seal): it takes no more appends.
func (s *segment) seal() {
	s.offsetIndex.seal()
	s.timeIndex.seal()
}

// unseal loads a sealed segment's index entries back into memory: a
// truncation made it the active segment again.
func (s *segment) unseal() error {
	if s.offsetIndex.sealed.Load() {
		if err := s.offsetIndex.load(func(a, b offsetEntry) bool { return b.rel > a.rel && b.pos > a.pos }); err != nil && !errors.Is(err, errIndexMissing) {
			return err
		}
		s.offsetIndex.sealed.Store(false)
	}
	if s.timeIndex.sealed.Load() {
		if err := s.timeIndex.load(func(a, b timeEntry) bool { return b.timestamp > a.timestamp && b.rel >= a.rel }); err != nil && !errors.Is(err, errIndexMissing) {
			return err
		}
		s.timeIndex.sealed.Store(false)
	}
	return nil
}

// headerBufs recycles the buffers batch header scans read through.
var headerBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// batchScanner walks the batch headers of a segment file from a position,
// reading a few KiB at a time so small batches cost one read per chunk
// and large ones one small read each.
type batchScanner struct {
	file     *os.File
	pos, end int64
	buf      *[]byte
	bufStart int64
	bufLen   int
}

func (s *segment) scanner(from, end int64) *batchScanner {
	return &batchScanner{file: s.file, pos: from, end: end, buf: headerBufs.Get().(*[]byte)}
}

func (sc *batchScanner) close() { headerBufs.Put(sc.buf) }

// next returns the header of the batch at the scanner's position and its
// position, then moves past it. It returns io.EOF at the end.
func (sc *batchScanner) next() (recordbatch.Header, int64, error) {
	if sc.pos >= sc.end {
		return recordbatch.Header{}, 0, io.EOF
	}
	if sc.end-sc.pos < recordbatch.HeaderSize {
		return recordbatch.Header{}, 0, fmt.Errorf("%w: %d bytes at position %d cannot hold a batch header", recordbatch.ErrCorrupt, sc.end-sc.pos, sc.pos)
	}
	if sc.pos < sc.bufStart || sc.pos+recordbatch.HeaderSize > sc.bufStart+int64(sc.bufLen) {
		n, err := sc.file.ReadAt((*sc.buf)[:min(int64(len(*sc.buf)), sc.end-sc.pos)], sc.pos)
		if n < recordbatch.HeaderSize {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return recordbatch.Header{}, 0, fmt.Errorf("read batch header at %d of %s: %w", sc.pos, sc.file.Name(), err)
		}
		sc.bufStart, sc.bufLen = sc.pos, n
	}
	off := sc.pos - sc.bufStart
	h, err := recordbatch.ParseHeader((*sc.buf)[off : off+recordbatch.HeaderSize])
	if err != nil {
		return h, 0, fmt.Errorf("batch at position %d of %s: %w", sc.pos, sc.file.Name(), err)
	}
	if sc.pos+h.TotalSize() > sc.end {
		return h, 0, fmt.Errorf("%w: batch at position %d of %s runs past the end", recordbatch.ErrCorrupt, sc.pos, sc.file.Name())
	}
	pos := sc.pos
	sc.pos += h.TotalSize()
	return h, pos, nil
}

// findBatch returns the first batch at or after position from (below
// end) whose last offset is at least offset.
func (s *segment) findBatch(from, end, offset int64) (recordbatch.Header, int64, bool, error) {
	sc := s.scanner(from, end)
	defer sc.close()
	for {
		h, pos, err := sc.next()
		if err == io.EOF {
			return h, 0, false, nil
		}
		if err != nil {
			return h, 0, false, err
		}
		if h.LastOffset() >= offset {
			return h, pos, true, nil
		}
	}
}

// positionOf returns where to start scanning for offset: the position of
// the last indexed batch at or below it.
func (s *segment) positionOf(offset int64) int64 {
	rel := offset - s.baseOffset
	if rel <= 0 {
		return 0
	}
	if rel > math.MaxUint32 {
		rel = math.MaxUint32
	}
	return lookupOffset(s.offsetIndex, uint32(rel))
}

// readBatch reads the whole batch at pos.
func (s *segment) readBatch(pos int64, h recordbatch.Header) ([]byte, error) {
	buf := make([]byte, h.TotalSize())
	if _, err := s.file.ReadAt(buf, pos); err != nil {
		return nil, fmt.Errorf("read batch at %d of %s: %w", pos, s.path(), err)
	}
	return buf, nil
}

// loadClean sets up a segment that was closed cleanly: indexes from their
// files, and the tail and timestamps from the last index entries plus a
// scan of the few batches after them. ok is false when the files do not
// agree with the log and the segment must be recovered instead.
func (s *segment) loadClean(cfg *Config) (ok bool, err error) {
	st, err := s.file.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", s.path(), err)
	}
	size := st.Size()
	// A missing index file is trusted only for an empty segment: one
	// with batches is rebuilt (its index had entries, or it is small).
	usable := func(err error) bool { return err == nil || errors.Is(err, errIndexMissing) && size == 0 }
	if err := s.offsetIndex.load(func(a, b offsetEntry) bool { return b.rel > a.rel && b.pos > a.pos }); !usable(err) {
		return false, nil
	}
	if err := s.timeIndex.load(func(a, b timeEntry) bool { return b.timestamp > a.timestamp && b.rel >= a.rel }); !usable(err) {
		return false, nil
	}
	from := int64(0)
	if last, ok := s.offsetIndex.last(); ok {
		if int64(last.pos) >= size {
			return false, nil
		}
		from = int64(last.pos)
	}
	if last, ok := s.timeIndex.last(); ok {
		s.maxTimestamp, s.offsetOfMaxTimestamp = last.timestamp, s.baseOffset+int64(last.rel)
	}
	next := s.baseOffset
	sc := s.scanner(from, size)
	defer sc.close()
	for {
		h, pos, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, nil
		}
		if pos == 0 {
			s.rollTimestamp = h.MaxTimestamp
		}
		if h.MaxTimestamp > s.maxTimestamp {
			s.maxTimestamp, s.offsetOfMaxTimestamp = h.MaxTimestamp, h.BaseOffset
		}
		next = h.LastOffset() + 1
		s.bytesSinceIndex += h.TotalSize()
	}
	if s.rollTimestamp < 0 && size > 0 {
		sc0 := s.scanner(0, size)
		if h, _, err := sc0.next(); err == nil {
			s.rollTimestamp = h.MaxTimestamp
		}
		sc0.close()
	}
	if size > 0 && s.maxTimestamp < 0 {
		// No time index entry yet: rebuild to find the timestamps.
		return false, nil
	}
	s.flushedSize = size
	s.tail.Store(&segmentTail{size: size, nextOffset: next})
	return true, nil
}

// recoverResult says what recovery found in a segment.
type recoverResult struct {
	truncated int64 // bytes cut off the end
	reason    error // why, when truncated > 0
}

// recover rebuilds the segment's indexes and tail by reading every batch,
// checking its framing, CRC-32C and offsets, and cuts the file at the
// first batch that is torn or corrupt. onBatch sees each valid batch.
func (s *segment) recover(cfg *Config, onBatch func(recordbatch.Header)) (recoverResult, error) {
	var res recoverResult
	st, err := s.file.Stat()
	if err != nil {
		return res, fmt.Errorf("stat %s: %w", s.path(), err)
	}
	size := st.Size()
	if err := s.offsetIndex.reset(); err != nil {
		return res, err
	}
	if err := s.timeIndex.reset(); err != nil {
		return res, err
	}
	s.bytesSinceIndex, s.maxTimestamp, s.offsetOfMaxTimestamp, s.rollTimestamp = 0, -1, -1, -1

	// The buffer is no larger than the segment: a crash of a broker
	// holding 10,000 mostly empty partitions recovers 10,000 segments.
	r := bufio.NewReaderSize(io.NewSectionReader(s.file, 0, size), int(min(size, 1<<20)))
	var (
		pos   int64
		next  = s.baseOffset
		batch []byte
	)
	for pos < size {
		bad := func(format string, args ...any) {
			res.truncated = size - pos
			res.reason = fmt.Errorf(format, args...)
		}
		prefix, err := r.Peek(recordbatch.LogOverhead)
		if err != nil {
			bad("%d bytes at position %d cannot hold a batch", size-pos, pos)
			break
		}
		length := int64(int32(binary.BigEndian.Uint32(prefix[8:])))
		total := length + recordbatch.LogOverhead
		if length < recordbatch.HeaderSize-recordbatch.LogOverhead || pos+total > size {
			bad("batch at position %d claims %d bytes, %d remain", pos, total, size-pos)
			break
		}
		if int64(cap(batch)) < total {
			batch = make([]byte, total)
		}
		batch = batch[:total]
		if _, err := io.ReadFull(r, batch); err != nil {
			bad("reading batch at position %d: %v", pos, err)
			break
		}
		h, err := recordbatch.ParseHeader(batch)
		if err != nil {
			bad("batch at position %d: %v", pos, err)
			break
		}
		if !recordbatch.CRCValid(batch) {
			bad("batch at position %d (offset %d) fails its CRC-32C", pos, h.BaseOffset)
			break
		}
		if h.BaseOffset < next || h.LastOffsetDelta < 0 || h.LastOffset()-s.baseOffset > math.MaxInt32 {
			bad("batch at position %d has offsets %d-%d after offset %d", pos, h.BaseOffset, h.LastOffset(), next-1)
			break
		}
		s.indexBatch(h, pos, cfg.IndexIntervalBytes)
		if onBatch != nil {
			onBatch(h)
		}
		next = h.LastOffset() + 1
		pos += total
	}
	if res.truncated > 0 {
		if err := s.file.Truncate(pos); err != nil {
			return res, fmt.Errorf("truncate %s to %d: %w", s.path(), pos, err)
		}
	}
	s.maybeIndexTime()
	s.tail.Store(&segmentTail{size: pos, nextOffset: next})
	return res, nil
}

// truncateTo cuts the segment at pos, the start of a batch, and rebuilds
// the writer state of what is left.
func (s *segment) truncateTo(pos int64, cfg *Config) error {
	if err := s.file.Truncate(pos); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", s.path(), pos, err)
	}
	s.flushedSize = min(s.flushedSize, pos)
	_, err := s.recover(cfg, nil)
	return err
}

// flush fsyncs the segment's file and indexes up to what is written now.
// Index entries are persisted by the caller under the Log's lock.
func (s *segment) sync() error {
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.path(), err)
	}
	for _, p := range []string{s.offsetIndex.path, s.timeIndex.path, s.txnIndexPath} {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", p, err)
		}
	}
	return nil
}

// markDeleted renames the segment's files to "*.deleted" and returns the
// new paths; the files are removed later (file.delete.delay.ms). Open
// readers keep reading through their descriptor.
func (s *segment) markDeleted() []string {
	var paths []string
	for _, p := range []string{s.path(), s.offsetIndex.path, s.timeIndex.path, s.txnIndexPath} {
		if err := os.Rename(p, p+deletedSuffix); err == nil {
			paths = append(paths, p+deletedSuffix)
		}
	}
	return paths
}
