package log

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// fakeClock is a settable clock for retention and roll tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var testTopicID = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func testConfig() Config {
	return Config{
		SegmentBytes:         1 << 30,
		SegmentMs:            7 * 24 * time.Hour,
		RetentionMs:          -1,
		RetentionBytes:       -1,
		FlushMessages:        1<<63 - 1,
		FlushMs:              1<<63 - 1,
		IndexIntervalBytes:   4096,
		SegmentIndexBytes:    10 << 20,
		FileDeleteDelay:      0,
		Delete:               true,
		ProducerIDExpiration: 24 * time.Hour,
	}
}

// testLogs is a Manager on a directory that outlives restarts.
type testLogs struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	m     *Manager
}

func newTestLogs(t *testing.T) *testLogs {
	t.Helper()
	tl := &testLogs{t: t, dir: t.TempDir(), clock: &fakeClock{now: time.UnixMilli(1_700_000_000_000)}}
	tl.start()
	t.Cleanup(func() {
		if tl.m != nil {
			tl.m.Close()
		}
	})
	return tl
}

func (tl *testLogs) start() {
	tl.t.Helper()
	m, err := OpenManager(ManagerConfig{Dirs: []string{tl.dir}, Logger: zerolog.Nop(), Now: tl.clock.Now})
	if err != nil {
		tl.t.Fatal(err)
	}
	tl.m = m
}

func (tl *testLogs) open(cfg Config) *Log {
	tl.t.Helper()
	l, err := tl.m.Open("events", 0, testTopicID, cfg)
	if err != nil {
		tl.t.Fatal(err)
	}
	return l
}

// cleanRestart closes the manager (clean shutdown) and starts a new one.
func (tl *testLogs) cleanRestart() {
	tl.t.Helper()
	if err := tl.m.Close(); err != nil {
		tl.t.Fatal(err)
	}
	tl.start()
}

// crashRestart abandons the manager as kill -9 would (Abandon): nothing
// is flushed or written, the lock goes with the "process".
func (tl *testLogs) crashRestart() {
	tl.t.Helper()
	tl.m.Abandon()
	tl.start()
}

func (tl *testLogs) partitionDir() string { return filepath.Join(tl.dir, "events-0") }

func plainBatch(ts int64, values ...string) []byte {
	return batchtest.Plain(ts, values...).Bytes()
}

func idempotentBatch(producerID int64, epoch int16, seq int32, values ...string) []byte {
	b := batchtest.Plain(1_700_000_000_000, values...)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence = producerID, epoch, seq
	return b.Bytes()
}

func mustAppend(t *testing.T, l *Log, batch []byte) AppendResult {
	t.Helper()
	res, err := l.Append(batch, 0, 1_700_000_000_000)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	l.SetHighWatermark(res.LastOffset + 1)
	return res
}

// readValues reads every record from offset to the end, in order.
func readValues(t *testing.T, l *Log, from int64) []string {
	t.Helper()
	var values []string
	offset := from
	for offset < l.HighWatermark() {
		rr, err := l.Read(offset, 1<<20, l.HighWatermark())
		if err != nil {
			t.Fatalf("read at %d: %v", offset, err)
		}
		if rr.Size == 0 {
			t.Fatalf("read at %d below the high watermark %d returned nothing", offset, l.HighWatermark())
		}
		buf := make([]byte, rr.Size)
		if _, err := rr.File.ReadAt(buf, rr.Position); err != nil {
			t.Fatal(err)
		}
		rr.Release()
		for len(buf) > 0 {
			h, err := recordbatch.ParseHeader(buf)
			if err != nil || h.TotalSize() > int64(len(buf)) {
				break // a partial batch at the end of the range
			}
			if !recordbatch.CRCValid(buf[:h.TotalSize()]) {
				t.Fatalf("batch at offset %d fails its CRC after reading", h.BaseOffset)
			}
			recordbatch.Records(buf[:h.TotalSize()], func(r recordbatch.Record) bool {
				if r.Offset >= offset {
					values = append(values, string(r.Value))
				}
				return true
			})
			offset = h.LastOffset() + 1
			buf = buf[h.TotalSize():]
		}
	}
	return values
}

// epochsOf returns the entries of l's leader-epoch cache.
func epochsOf(l *Log) []EpochEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]EpochEntry(nil), l.epochs.entries...)
}

func TestAppendAssignsConsecutiveOffsetsAndReadReturnsTheProducersBytes(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	first := plainBatch(1000, "a", "b", "c")
	sent := bytes.Clone(first)
	if res := mustAppend(t, l, first); res.BaseOffset != 0 || res.LastOffset != 2 {
		t.Fatalf("first append at %d-%d, want 0-2", res.BaseOffset, res.LastOffset)
	}
	if res := mustAppend(t, l, plainBatch(2000, "d")); res.BaseOffset != 3 {
		t.Fatalf("second append at %d, want 3", res.BaseOffset)
	}
	rr, err := l.Read(0, 1<<20, l.HighWatermark())
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	got := make([]byte, len(sent))
	if _, err := rr.File.ReadAt(got, rr.Position); err != nil {
		t.Fatal(err)
	}
	// Only the base offset and partition leader epoch (outside the CRC)
	// may differ from what the producer sent.
	copy(sent[12:16], []byte{0, 0, 0, 0})
	if !bytes.Equal(got, sent) {
		t.Fatalf("stored batch differs from the producer's:\n got %x\nwant %x", got, sent)
	}
	if off := l.Offsets(); off.LogStartOffset != 0 || off.LogEndOffset != 4 {
		t.Fatalf("offsets %+v, want 0 to 4", off)
	}
}

func TestSegmentsRollAtSegmentBytesAndEveryOffsetIsFoundThroughTheIndex(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 2048
	cfg.IndexIntervalBytes = 100
	l := tl.open(cfg)
	var want []string
	for i := range 200 {
		v := fmt.Sprintf("value-%03d", i)
		want = append(want, v)
		mustAppend(t, l, plainBatch(int64(i), v))
	}
	segs := *l.segs.Load()
	if min := int(l.Size()/cfg.SegmentBytes) + 1; len(segs) < min {
		t.Fatalf("%d segments for %d bytes with segment.bytes=2048, want at least %d", len(segs), l.Size(), min)
	}
	for _, s := range segs {
		if s.size() > cfg.SegmentBytes {
			t.Errorf("segment %d holds %d bytes, more than segment.bytes", s.baseOffset, s.size())
		}
	}
	for _, from := range []int64{0, 1, 57, 123, 199} {
		got := readValues(t, l, from)
		if len(got) != 200-int(from) || got[0] != want[from] {
			t.Fatalf("reading from %d: %d values starting %q, want %d starting %q", from, len(got), got[0], 200-from, want[from])
		}
	}
	// Files are named by base offset.
	for _, s := range segs {
		if _, err := os.Stat(segmentName(tl.partitionDir(), s.baseOffset, logSuffix)); err != nil {
			t.Errorf("segment file of base offset %d: %v", s.baseOffset, err)
		}
	}
}

func TestSegmentRollsWhenSegmentMsPasses(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentMs = time.Hour
	l := tl.open(cfg)
	now := tl.clock.Now().UnixMilli()
	if _, err := l.Append(plainBatch(now, "old"), 0, now); err != nil {
		t.Fatal(err)
	}
	later := now + time.Hour.Milliseconds() + 1
	if _, err := l.Append(plainBatch(later, "new"), 0, later); err != nil {
		t.Fatal(err)
	}
	if n := len(*l.segs.Load()); n != 2 {
		t.Fatalf("%d segments, want a roll once segment.ms passed", n)
	}
}

func TestReadHonoursLimitMaxBytesAndReturnsAnOversizedFirstBatchWhole(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	big := plainBatch(0, string(bytes.Repeat([]byte("x"), 5000)))
	mustAppend(t, l, big)
	mustAppend(t, l, plainBatch(0, "small"))
	rr, err := l.Read(0, 100, l.HighWatermark())
	if err != nil {
		t.Fatal(err)
	}
	if rr.Size != int64(len(big)) {
		t.Errorf("read with maxBytes 100 returned %d bytes, want the whole first batch (%d)", rr.Size, len(big))
	}
	rr.Release()
	// A limit below the end stops before the batch holding it.
	rr, err = l.Read(0, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Size != int64(len(big)) {
		t.Errorf("read up to limit 1 returned %d bytes, want only the first batch (%d)", rr.Size, len(big))
	}
	rr.Release()
	if rr, err := l.Read(1, 1<<20, 1); err != nil || rr.Size != 0 {
		t.Errorf("read at the limit returned %d bytes, %v; want nothing", rr.Size, err)
	}
	if _, err := l.Read(3, 1<<20, 2); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Errorf("read past the log end: %v, want ErrOffsetOutOfRange", err)
	}
}

func TestCleanRestartTrustsIndexesAndKeepsEveryRecord(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 64
	l := tl.open(cfg)
	for i := range 60 {
		mustAppend(t, l, plainBatch(int64(1000+i), fmt.Sprintf("v%d", i)))
	}
	tl.cleanRestart()
	if _, err := os.Stat(filepath.Join(tl.dir, cleanShutdownFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the clean-shutdown marker must be removed when the directory is opened")
	}
	l = tl.open(cfg)
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	if got := readValues(t, l, 0); len(got) != 60 || got[59] != "v59" {
		t.Fatalf("after a clean restart read %d values, want 60", len(got))
	}
	if ts, ok, err := l.OffsetForTimestamp(1030); err != nil || !ok || ts.Offset != 30 {
		t.Errorf("timestamp lookup after clean restart = %+v %v %v, want offset 30", ts, ok, err)
	}
	if res := mustAppend(t, l, plainBatch(5000, "next")); res.BaseOffset != 60 {
		t.Errorf("append after restart at %d, want 60", res.BaseOffset)
	}
}

// Abandon is the crash path: it writes nothing, leaves no clean-shutdown
// marker, and lets the next Manager open the directory and recover.
func TestAbandonWritesNothingAndTheNextOpenRecovers(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	for i := range 10 {
		mustAppend(t, l, plainBatch(int64(i), fmt.Sprintf("v%d", i)))
	}
	tl.m.tasks.Wait()
	before := dirListing(t, tl.dir)
	tl.m.Abandon()
	if after := dirListing(t, tl.dir); !maps.Equal(before, after) {
		t.Errorf("Abandon changed the log directory:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := l.Append(plainBatch(10, "late"), 0, 1_700_000_000_000); !errors.Is(err, ErrClosed) {
		t.Errorf("append to an abandoned log: %v, want ErrClosed", err)
	}

	var out lockedBuffer
	m, err := OpenManager(ManagerConfig{Dirs: []string{tl.dir}, Logger: zerolog.New(&out), Now: tl.clock.Now})
	if err != nil {
		t.Fatalf("open the directories of an abandoned manager: %v", err)
	}
	tl.m = m
	l = tl.open(testConfig())
	if !strings.Contains(out.String(), "recovered log after an unclean shutdown") {
		t.Errorf("no recovery after Abandon; log:\n%s", out.String())
	}
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	if got := readValues(t, l, 0); len(got) != 10 || got[9] != "v9" {
		t.Fatalf("after Abandon read %v, want v0..v9", got)
	}
}

// dirListing maps every file under dir to its size.
func dirListing(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := make(map[string]int64)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestUncleanRestartCutsATornTailAndKeepsWholeBatches(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	for i := range 10 {
		mustAppend(t, l, plainBatch(int64(i), fmt.Sprintf("v%d", i)))
	}
	// A batch whose write was cut off by the crash.
	torn := plainBatch(99, "torn-away")
	seg := l.active()
	if _, err := seg.file.WriteAt(torn[:len(torn)-7], seg.size()); err != nil {
		t.Fatal(err)
	}
	tl.crashRestart()
	l = tl.open(testConfig())
	if leo := l.Offsets().LogEndOffset; leo != 10 {
		t.Fatalf("log end after recovering a torn tail = %d, want 10", leo)
	}
	l.SetHighWatermark(10)
	if got := readValues(t, l, 0); len(got) != 10 || got[9] != "v9" {
		t.Fatalf("read %v after recovery", got)
	}
	if res := mustAppend(t, l, plainBatch(100, "after")); res.BaseOffset != 10 {
		t.Errorf("append after recovery at %d, want 10", res.BaseOffset)
	}
	if got := readValues(t, l, 10); len(got) != 1 || got[0] != "after" {
		t.Errorf("record written after recovery reads back as %v", got)
	}
}

func TestUncleanRestartCutsTheLogAtACorruptBatchAndDropsLaterSegments(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 512
	l := tl.open(cfg)
	for i := range 40 {
		mustAppend(t, l, plainBatch(int64(i), fmt.Sprintf("value-%02d", i)))
	}
	segs := *l.segs.Load()
	if len(segs) < 4 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	// Corrupt a byte inside the second batch of the last-but-one segment.
	victim := segs[len(segs)-2]
	h, pos, _, err := victim.findBatch(0, victim.size(), victim.baseOffset+1)
	if err != nil {
		t.Fatal(err)
	}
	flip := make([]byte, 1)
	victim.file.ReadAt(flip, pos+h.TotalSize()-2)
	flip[0] ^= 0xff
	victim.file.WriteAt(flip, pos+h.TotalSize()-2)
	// Segments below the recovery point were fsynced at roll and are
	// trusted; simulate a crash before any of those flushes completed.
	tl.m.tasks.Wait()
	if err := os.WriteFile(filepath.Join(tl.partitionDir(), checkpointFile), []byte("recovery-point 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tl.crashRestart()
	l = tl.open(cfg)
	if leo := l.Offsets().LogEndOffset; leo != h.BaseOffset {
		t.Fatalf("log end after recovery = %d, want %d (the corrupt batch and everything after it dropped)", leo, h.BaseOffset)
	}
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	got := readValues(t, l, 0)
	if int64(len(got)) != h.BaseOffset {
		t.Fatalf("read %d records, want %d", len(got), h.BaseOffset)
	}
	for i, v := range got {
		if v != fmt.Sprintf("value-%02d", i) {
			t.Fatalf("record %d is %q", i, v)
		}
	}
	if _, err := os.Stat(segmentName(tl.partitionDir(), segs[len(segs)-1].baseOffset, logSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the segment after the corrupt one is still on disk: %v", err)
	}
}

func TestRecoveryRebuildsAMissingIndex(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.IndexIntervalBytes = 64
	l := tl.open(cfg)
	for i := range 50 {
		mustAppend(t, l, plainBatch(int64(i), fmt.Sprintf("v%d", i)))
	}
	tl.cleanRestart()
	tl.m.Close()
	os.Remove(segmentName(tl.partitionDir(), 0, indexSuffix))
	tl.start()
	l = tl.open(cfg)
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	if got := readValues(t, l, 25); len(got) != 25 || got[0] != "v25" {
		t.Fatalf("after losing the index, reading from 25 gave %d values", len(got))
	}
	if n := l.active().offsetIndex.len(); n == 0 {
		t.Error("the offset index was not rebuilt")
	}
}

func TestRetentionBytesDeletesOldestSegmentsButKeepsTheLimit(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionBytes = 3000
	l := tl.open(cfg)
	for i := range 100 {
		mustAppend(t, l, plainBatch(tl.clock.Now().UnixMilli(), fmt.Sprintf("%0100d", i)))
	}
	before := l.Size()
	n, err := l.enforceRetention(tl.clock.Now())
	if err != nil || n == 0 {
		t.Fatalf("retention deleted %d segments (%v) of a %d-byte log with retention.bytes=3000", n, err, before)
	}
	if size := l.Size(); size < 3000-1024 || size > 3000+1024 {
		t.Errorf("log is %d bytes after size retention, want about 3000", size)
	}
	start := l.Offsets().LogStartOffset
	if start == 0 || start != (*l.segs.Load())[0].baseOffset {
		t.Errorf("log start offset %d, want the first remaining segment's base", start)
	}
	if got := readValues(t, l, start); got[len(got)-1] != fmt.Sprintf("%0100d", 99) || int64(len(got)) != 100-start {
		t.Errorf("after retention read %d records from %d", len(got), start)
	}
	if _, err := l.Read(0, 1000, l.HighWatermark()); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Errorf("reading a deleted offset: %v, want ErrOffsetOutOfRange", err)
	}
}

func TestRetentionMsDeletesExpiredSegmentsIncludingTheActiveOne(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionMs = time.Hour
	l := tl.open(cfg)
	old := tl.clock.Now().UnixMilli()
	for i := range 30 {
		mustAppend(t, l, plainBatch(old, fmt.Sprintf("%050d", i)))
	}
	if n, _ := l.enforceRetention(tl.clock.Now()); n != 0 {
		t.Fatalf("retention deleted %d fresh segments", n)
	}
	tl.clock.Advance(2 * time.Hour)
	if n, err := l.enforceRetention(tl.clock.Now()); err != nil || n == 0 {
		t.Fatalf("retention after the records expired deleted %d segments: %v", n, err)
	}
	off := l.Offsets()
	if off.LogStartOffset != 30 || off.LogEndOffset != 30 {
		t.Fatalf("offsets after everything expired: %+v, want start = end = 30", off)
	}
	if res := mustAppend(t, l, plainBatch(tl.clock.Now().UnixMilli(), "fresh")); res.BaseOffset != 30 {
		t.Errorf("append after full expiry at %d, want 30", res.BaseOffset)
	}
}

func TestRetentionNeverDeletesAboveTheHighWatermark(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 256
	cfg.RetentionMs = 0
	l := tl.open(cfg)
	for i := range 20 {
		if _, err := l.Append(plainBatch(0, fmt.Sprintf("%040d", i)), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	l.SetHighWatermark(5)
	l.enforceRetention(tl.clock.Now())
	if start := l.Offsets().LogStartOffset; start > 5 {
		t.Fatalf("retention moved the log start to %d, past the high watermark 5", start)
	}
}

func TestDeleteRecordsMovesTheStartAndRejectsOffsetsPastTheHighWatermark(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 512
	l := tl.open(cfg)
	for i := range 50 {
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("v%02d", i)))
	}
	if _, err := l.DeleteRecords(51); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("DeleteRecords past the high watermark: %v", err)
	}
	start, err := l.DeleteRecords(23)
	if err != nil || start != 23 {
		t.Fatalf("DeleteRecords(23) = %d, %v", start, err)
	}
	if got := readValues(t, l, 23); len(got) != 27 || got[0] != "v23" {
		t.Fatalf("read from the new start: %v", got)
	}
	if segs := *l.segs.Load(); segs[0].tail.Load().nextOffset <= 23 {
		t.Errorf("a segment wholly below the new start was kept")
	}
	if again, _ := l.DeleteRecords(10); again != 23 {
		t.Errorf("DeleteRecords below the start returned %d, want the unchanged 23", again)
	}
	tl.crashRestart()
	l = tl.open(cfg)
	if start := l.Offsets().LogStartOffset; start != 23 {
		t.Errorf("log start after a crash = %d, want 23", start)
	}
	// Deleting everything leaves an empty log that continues at the end.
	l.SetHighWatermark(50)
	if start, err := l.DeleteRecords(50); err != nil || start != 50 {
		t.Fatalf("DeleteRecords(50) = %d, %v", start, err)
	}
	if res := mustAppend(t, l, plainBatch(0, "next")); res.BaseOffset != 50 {
		t.Errorf("append after deleting everything at %d, want 50", res.BaseOffset)
	}
}

func TestIdempotentProducerDuplicatesGetTheOriginalOffsetsAndGapsAreRejected(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "other"))
	first := mustAppend(t, l, idempotentBatch(7, 0, 0, "a", "b"))
	mustAppend(t, l, idempotentBatch(7, 0, 2, "c"))
	dup, err := l.Append(idempotentBatch(7, 0, 0, "a", "b"), 0, 0)
	if err != nil || !dup.Duplicate || dup.BaseOffset != first.BaseOffset || dup.LastOffset != first.LastOffset {
		t.Fatalf("retried batch: %+v %v, want a duplicate at %d-%d", dup, err, first.BaseOffset, first.LastOffset)
	}
	if leo := l.Offsets().LogEndOffset; leo != 4 {
		t.Fatalf("a duplicate was written: log end %d", leo)
	}
	if _, err := l.Append(idempotentBatch(7, 0, 5, "gap"), 0, 0); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Errorf("sequence gap: %v, want ErrOutOfOrderSequence", err)
	}
	if _, err := l.Append(idempotentBatch(7, 1, 3, "new epoch"), 0, 0); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Errorf("a new epoch not starting at 0: %v", err)
	}
	mustAppend(t, l, idempotentBatch(7, 1, 0, "epoch 1"))
	if _, err := l.Append(idempotentBatch(7, 0, 3, "fenced"), 0, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("an older epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	// A producer the log does not know may start at any sequence.
	mustAppend(t, l, idempotentBatch(8, 0, 42, "late"))
}

func TestProducerStateSurvivesCleanAndUncleanRestarts(t *testing.T) {
	for name, restart := range map[string]func(*testLogs){
		"clean":   (*testLogs).cleanRestart,
		"unclean": (*testLogs).crashRestart,
	} {
		t.Run(name, func(t *testing.T) {
			tl := newTestLogs(t)
			cfg := testConfig()
			cfg.SegmentBytes = 300
			l := tl.open(cfg)
			var last AppendResult
			for seq := int32(0); seq < 30; seq++ {
				last = mustAppend(t, l, idempotentBatch(11, 3, seq, fmt.Sprintf("r%d", seq)))
			}
			restart(tl)
			l = tl.open(cfg)
			dup, err := l.Append(idempotentBatch(11, 3, 29, "r29"), 0, 0)
			if err != nil || !dup.Duplicate || dup.BaseOffset != last.BaseOffset {
				t.Fatalf("retry after restart: %+v %v, want duplicate at %d", dup, err, last.BaseOffset)
			}
			if _, err := l.Append(idempotentBatch(11, 3, 31, "gap"), 0, 0); !errors.Is(err, ErrOutOfOrderSequence) {
				t.Errorf("gap after restart: %v", err)
			}
			if res, err := l.Append(idempotentBatch(11, 3, 30, "r30"), 0, 0); err != nil || res.BaseOffset != 30 {
				t.Errorf("next sequence after restart: %+v %v", res, err)
			}
		})
	}
}

func TestOffsetForTimestampFindsTheFirstRecordAtOrAfterIt(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 400
	cfg.IndexIntervalBytes = 50
	l := tl.open(cfg)
	// Batches of three records with timestamps 100,101,102; 200,201,202; ...
	for i := range 20 {
		b := batchtest.Plain(int64(100*(i+1)), "x", "y", "z")
		b.Codec = batchtest.LZ4
		mustAppend(t, l, b.Bytes())
	}
	for _, c := range []struct {
		ts     int64
		offset int64
		found  bool
	}{
		{0, 0, true}, {100, 0, true}, {101, 1, true}, {103, 3, true}, {1001, 28, true}, {2002, 59, true}, {2003, 0, false},
	} {
		got, ok, err := l.OffsetForTimestamp(c.ts)
		if err != nil || ok != c.found || (ok && got.Offset != c.offset) {
			t.Errorf("OffsetForTimestamp(%d) = %+v %v %v, want offset %d found %v", c.ts, got, ok, err, c.offset, c.found)
		}
	}
	m, err := l.MaxTimestamp()
	if err != nil || m.Offset != 59 || m.Timestamp != 2002 {
		t.Errorf("MaxTimestamp = %+v %v, want offset 59 at 2002", m, err)
	}
}

// Any client may ask ListOffsets by timestamp again and again: the lookup
// reads past values, so a batch holding a 200 MiB record costs a few MiB
// to look inside, not 200.
func TestTimestampLookupsDoNotHoldRecordValues(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, batchtest.Zeros(batchtest.Zstd, 200<<20)) // timestamp 0
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, ok, err := l.OffsetForTimestamp(0)
	m, merr := l.MaxTimestamp()
	runtime.ReadMemStats(&after)
	if err != nil || !ok || got.Offset != 0 || merr != nil || m.Offset != 0 {
		t.Fatalf("OffsetForTimestamp = %+v %v %v, MaxTimestamp = %+v %v: want offset 0", got, ok, err, m, merr)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("two lookups allocated %d MiB", grew>>20)
	}
}

func TestLogAppendTimeStampsTheBrokersTime(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.LogAppendTime = true
	l := tl.open(cfg)
	res, err := l.Append(plainBatch(5, "a", "b"), 0, 123456)
	if err != nil || res.LogAppendTime != 123456 {
		t.Fatalf("append: %+v %v", res, err)
	}
	l.SetHighWatermark(2)
	if ts, ok, _ := l.OffsetForTimestamp(123456); !ok || ts.Offset != 0 || ts.Timestamp != 123456 {
		t.Errorf("records carry timestamp %+v, want the append time", ts)
	}
}

func TestTruncateToRemovesTheSuffixAndProducerStateFollows(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 300
	l := tl.open(cfg)
	for seq := int32(0); seq < 20; seq++ {
		mustAppend(t, l, idempotentBatch(5, 0, seq, fmt.Sprintf("r%d", seq)))
	}
	if err := l.TruncateTo(12); err != nil {
		t.Fatal(err)
	}
	if off := l.Offsets(); off.LogEndOffset != 12 {
		t.Fatalf("log end after truncation %d, want 12", off.LogEndOffset)
	}
	if hw := l.HighWatermark(); hw != 12 {
		t.Errorf("high watermark after truncation %d, want 12", hw)
	}
	// The producer continues from sequence 12 after the truncation.
	if res, err := l.Append(idempotentBatch(5, 0, 12, "again"), 0, 0); err != nil || res.Duplicate || res.BaseOffset != 12 {
		t.Fatalf("append after truncation: %+v %v", res, err)
	}
	l.SetHighWatermark(13)
	got := readValues(t, l, 0)
	if len(got) != 13 || got[11] != "r11" || got[12] != "again" {
		t.Fatalf("after truncation read %v", got)
	}
}

func TestLeaderEpochCacheAnswersOffsetForLeaderEpoch(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	appendAt := func(epoch int32, v string) {
		res, err := l.Append(plainBatch(0, v), epoch, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(res.LastOffset + 1)
	}
	appendAt(1, "a") // 0
	appendAt(1, "b") // 1
	appendAt(3, "c") // 2
	appendAt(5, "d") // 3
	for _, c := range []struct {
		ask      int32
		epoch    int32
		endOffet int64
	}{
		{0, 0, 0}, {1, 1, 2}, {2, 1, 2}, {3, 3, 3}, {4, 3, 3}, {5, 5, 4}, {6, -1, -1},
	} {
		e, off := l.EndOffsetForEpoch(c.ask)
		if e != c.epoch || off != c.endOffet {
			t.Errorf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", c.ask, e, off, c.epoch, c.endOffet)
		}
	}
	tl.crashRestart()
	l = tl.open(testConfig())
	if got := epochsOf(l); len(got) != 3 || got[2] != (EpochEntry{Epoch: 5, StartOffset: 3}) {
		t.Errorf("epochs after restart %+v", got)
	}
	if err := l.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	if got := epochsOf(l); len(got) != 1 || got[0].Epoch != 1 {
		t.Errorf("epochs after truncating to 2: %+v, want only epoch 1", got)
	}
}

func TestReopeningWithAnotherTopicIDStartsAnEmptyLog(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "old topic"))
	tl.cleanRestart()
	other := testTopicID
	other[0] = 99
	l, err := tl.m.Open("events", 0, other, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if leo := l.Offsets().LogEndOffset; leo != 0 {
		t.Fatalf("log of a new topic with an old name starts at %d, want 0", leo)
	}
}

func TestSecondManagerOnTheSameDirectoryIsRefused(t *testing.T) {
	tl := newTestLogs(t)
	_, err := OpenManager(ManagerConfig{Dirs: []string{tl.dir}, Logger: zerolog.Nop()})
	if err == nil {
		t.Fatal("a second manager locked a directory already in use")
	}
}

func TestDeleteRemovesThePartitionDirectory(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "x"))
	if err := tl.m.Delete("events", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tl.partitionDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partition directory still there: %v", err)
	}
	if _, err := l.Append(plainBatch(0, "y"), 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("append to a deleted log: %v, want ErrClosed", err)
	}
	if got := tl.m.Existing(); len(got) != 0 {
		t.Errorf("Existing after delete = %v", got)
	}
}

func TestReadersKeepReadingASegmentThatRetentionDeletes(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 200
	cfg.RetentionBytes = 0
	l := tl.open(cfg)
	for i := range 10 {
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("%080d", i)))
	}
	rr, err := l.Read(0, 1<<20, l.HighWatermark())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.enforceRetention(tl.clock.Now()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, rr.Size)
	if _, err := rr.File.ReadAt(buf, rr.Position); err != nil && err != io.EOF {
		t.Fatalf("reading a deleted segment through a held read: %v", err)
	}
	if h, err := recordbatch.ParseHeader(buf); err != nil || h.BaseOffset != 0 {
		t.Fatalf("held read returned %+v %v", h, err)
	}
	rr.Release()
}

func TestFollowerAppendCopiesTheLeadersBatchesAndEpochs(t *testing.T) {
	tl := newTestLogs(t)
	leader := tl.open(testConfig())
	for i := range 5 {
		if _, err := leader.Append(plainBatch(int64(i), fmt.Sprintf("v%d", i)), int32(1+i/3), 0); err != nil {
			t.Fatal(err)
		}
	}
	leader.SetHighWatermark(5)
	rr, err := leader.Read(0, 1<<20, 5)
	if err != nil {
		t.Fatal(err)
	}
	fetched := make([]byte, rr.Size)
	rr.File.ReadAt(fetched, rr.Position)
	rr.Release()

	follower, err := tl.m.Open("events", 1, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	// A fetch response may end in a partial batch: it is left for later.
	leo, err := follower.AppendAsFollower(fetched[:len(fetched)-5])
	if err != nil || leo != 4 {
		t.Fatalf("append of 4.x batches: leo %d, %v", leo, err)
	}
	// An overlapping fetch appends only what is new.
	if leo, err = follower.AppendAsFollower(fetched); err != nil || leo != 5 {
		t.Fatalf("append of the overlapping fetch: leo %d, %v", leo, err)
	}
	if e, end := follower.EndOffsetForEpoch(1); e != 1 || end != 3 {
		t.Errorf("follower's epoch 1 ends at %d (epoch %d), want 3", end, e)
	}
	follower.SetHighWatermark(5)
	if got := readValues(t, follower, 0); len(got) != 5 || got[4] != "v4" {
		t.Errorf("follower reads %v", got)
	}
	corrupt := bytes.Clone(fetched)
	corrupt[len(corrupt)-1] ^= 1
	follower2, _ := tl.m.Open("events", 2, testTopicID, testConfig())
	if _, err := follower2.AppendAsFollower(corrupt); !errors.Is(err, recordbatch.ErrCorrupt) {
		t.Errorf("a corrupt batch from the leader: %v, want ErrCorrupt", err)
	}
}

func TestLogDirectoriesBelongToOneBrokerOfOneCluster(t *testing.T) {
	tl := newTestLogs(t)
	if err := tl.m.ClaimDirs(1, "cluster-a"); err != nil {
		t.Fatal(err)
	}
	if err := tl.m.ClaimDirs(1, "cluster-a"); err != nil {
		t.Fatalf("the same broker and cluster again: %v", err)
	}
	if err := tl.m.ClaimDirs(2, "cluster-a"); !errors.Is(err, ErrForeignLogDir) {
		t.Errorf("another broker.id: %v, want ErrForeignLogDir", err)
	}
	if err := tl.m.ClaimDirs(1, "cluster-b"); !errors.Is(err, ErrForeignLogDir) {
		t.Errorf("another cluster.id: %v, want ErrForeignLogDir", err)
	}
}
