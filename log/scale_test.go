package log

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A new partition costs its directory, an empty segment and its topic ID
// (and, once it leads, its leader-epoch checkpoint): index files come
// with their first entries, as creating a 10,000-partition topic makes
// 10,000 of these.
func TestANewPartitionMakesOnlyItsSegmentAndTopicID(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	if err := l.BecomeLeader(0); err != nil {
		t.Fatal(err)
	}
	names, err := listDir(tl.partitionDir())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	want := []string{"00000000000000000000.log", epochCheckpointFile, metadataFile}
	if !slices.Equal(names, want) {
		t.Errorf("a new partition's directory holds %v, want %v", names, want)
	}

	// It opens again without recovery, clean or not, and takes writes.
	tl.cleanRestart()
	l = tl.open(testConfig())
	mustAppend(t, l, plainBatch(tl.clock.Now().UnixMilli(), "a", "b"))
	tl.crashRestart()
	l = tl.open(testConfig())
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	if got := readValues(t, l, 0); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after a crash the partition holds %v, want [a b]", got)
	}
}

// A clean start writes nothing back: an empty log's epoch entry, cut from
// memory when the log opens, is the same when it leads again.
func TestACleanStartDoesNotRewriteTheLeaderEpochCheckpoint(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	if err := l.BecomeLeader(3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tl.partitionDir(), epochCheckpointFile)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	tl.cleanRestart()
	l = tl.open(testConfig())
	if err := l.BecomeLeader(3); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the leader-epoch checkpoint was replaced by a clean start that changed nothing")
	}
	if e, end := l.EndOffsetForEpoch(3); e != 3 || end != 0 {
		t.Errorf("EndOffsetForEpoch(3) = %d, %d; want 3, 0", e, end)
	}

	// A new epoch is written.
	if err := l.BecomeLeader(4); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0\n1\n4 0\n"; string(raw) != want {
		t.Errorf("checkpoint after epoch 4 = %q, want %q", raw, want)
	}
}

// Opens run side by side: many partitions at once each get their log, and
// concurrent opens of one partition get the same log.
func TestConcurrentOpensOfManyPartitionsAndOfTheSamePartition(t *testing.T) {
	tl := newTestLogs(t)
	const partitions = 64
	logs := make([][]*Log, partitions)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for p := range partitions {
		for range 3 {
			wg.Go(func() {
				l, err := tl.m.Open("events", int32(p), testTopicID, testConfig())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				logs[p] = append(logs[p], l)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for p, ls := range logs {
		if len(ls) != 3 || ls[0] != ls[1] || ls[1] != ls[2] {
			t.Fatalf("partition %d: three opens gave %d different logs", p, len(slices.Compact(slices.Clone(ls))))
		}
	}
	if got := len(tl.m.Existing()); got != partitions {
		t.Errorf("the manager knows %d partitions, want %d", got, partitions)
	}
	for p := range partitions {
		mustAppend(t, logs[p][0], plainBatch(tl.clock.Now().UnixMilli(), fmt.Sprint(p)))
	}
	tl.cleanRestart()
	for p := range partitions {
		l, err := tl.m.Open("events", int32(p), testTopicID, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(l.Offsets().LogEndOffset)
		if got := readValues(t, l, 0); !slices.Equal(got, []string{fmt.Sprint(p)}) {
			t.Errorf("partition %d holds %v after a restart", p, got)
		}
	}
}

// A Delete and a Close that come while a partition opens wait for it:
// the deleted partition is gone from disk, and a closed manager's late
// open answers ErrClosed.
func TestDeleteAndCloseWaitForAnOpenInProgress(t *testing.T) {
	tl := newTestLogs(t)
	var wg sync.WaitGroup
	for p := range 32 {
		wg.Go(func() {
			if _, err := tl.m.Open("events", int32(p), testTopicID, testConfig()); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := tl.m.Delete("events", int32(p)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Each partition was deleted or opened last; a deleted one is not
	// on disk under its name.
	open := make(map[TopicPartition]bool)
	for _, tp := range tl.m.Existing() {
		open[tp] = true
	}
	for p := range 32 {
		tp := TopicPartition{Topic: "events", Partition: int32(p)}
		_, err := os.Stat(filepath.Join(tl.dir, tp.String()))
		if open[tp] != (err == nil) {
			t.Errorf("partition %d: open %v, directory there: %v", p, open[tp], err == nil)
		}
	}

	done := make(chan error, 16)
	for p := range 16 {
		go func() {
			_, err := tl.m.Open("later", int32(p), testTopicID, testConfig())
			done <- err
		}()
	}
	if err := tl.m.Close(); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		select {
		case err := <-done:
			if err != nil && err != ErrClosed {
				t.Errorf("an open racing Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an open racing Close never returned")
		}
	}
	tl.m = nil
}

// The files whose fsync waits in the queue are synced, a whole file
// system at once when there are many, and none is left when the manager
// closes.
func TestQueuedFsyncsAreDrainedByCloseAndInBulk(t *testing.T) {
	dir := t.TempDir()
	q := newSyncQueue()
	var paths []string
	for i := range syncfsAbove + 10 {
		p := filepath.Join(dir, fmt.Sprint("f", i))
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		q.add(p)
	}
	rest, failed := syncWholeFileSystems(paths)
	if len(rest) != 0 || len(failed) != 0 {
		t.Errorf("%d files on one file system: %d left to fsync one by one, %d failed; want all in one syncfs", len(paths), len(rest), len(failed))
	}
	if failed := q.drain(); len(failed) != 0 {
		t.Errorf("drain failed: %v", failed)
	}
	if left := q.take(); len(left) != 0 {
		t.Errorf("%d files still queued after a drain", len(left))
	}

	tl := newTestLogs(t)
	for p := range 8 {
		if _, err := tl.m.Open("events", int32(p), testTopicID, testConfig()); err != nil {
			t.Fatal(err)
		}
	}
	syncs := tl.m.syncs
	if err := tl.m.Close(); err != nil {
		t.Fatal(err)
	}
	tl.m = nil
	if left := syncs.take(); len(left) != 0 {
		t.Errorf("%d files left unsynced after Close", len(left))
	}
}

// The periodic checkpoint of the high watermark (and recovery point and
// log start offset) is written every CheckpointInterval, as Kafka writes
// it every replica.high.watermark.checkpoint.interval.ms, not at every
// flush check: 10,000 busy partitions would otherwise replace and fsync
// 10,000 files a second.
func TestCheckpointsAreWrittenEveryCheckpointInterval(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(1_700_000_000_000)}
	dir := t.TempDir()
	m, err := OpenManager(ManagerConfig{Dirs: []string{dir}, CheckpointInterval: 5 * time.Second, Logger: zerolog.Nop(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.Open("events", 0, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	highWatermarkOnDisk := func() int64 {
		t.Helper()
		cp, err := readCheckpoint(l.Dir())
		if err != nil {
			t.Fatal(err)
		}
		return cp.highWatermark
	}
	moveHighWatermark := func() int64 {
		mustAppend(t, l, plainBatch(clock.Now().UnixMilli(), "v"))
		l.SetHighWatermark(l.Offsets().LogEndOffset)
		return l.HighWatermark()
	}

	first := moveHighWatermark()
	m.flushAndCheckpoint()
	if got := highWatermarkOnDisk(); got != first {
		t.Fatalf("first checkpoint holds high watermark %d, want %d", got, first)
	}
	second := moveHighWatermark()
	for range 4 {
		clock.Advance(time.Second)
		m.flushAndCheckpoint()
		if got := highWatermarkOnDisk(); got != first {
			t.Fatalf("checkpoint rewritten %v after the last: high watermark %d, want it still %d", clock.Now().Sub(time.UnixMilli(1_700_000_000_000)), got, first)
		}
	}
	clock.Advance(time.Second)
	m.flushAndCheckpoint()
	if got := highWatermarkOnDisk(); got != second {
		t.Errorf("checkpoint after 5 s holds high watermark %d, want %d", got, second)
	}
}

// Only the active segment keeps its index entries in memory: a rolled
// segment's are read from its index files when a read or a timestamp
// lookup needs them, so memory does not grow with the data stored.
// Lookups into old segments, a truncation back into one, and a restart
// all find the same records.
func TestRolledSegmentsServeLookupsFromTheirIndexFiles(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 4 << 10
	cfg.IndexIntervalBytes = 256
	l := tl.open(cfg)
	base := tl.clock.Now().UnixMilli()
	const n = 400
	for i := range n {
		mustAppend(t, l, plainBatch(base+int64(i), fmt.Sprintf("%060d", i)))
	}
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	segs := *l.segs.Load()
	if len(segs) < 5 {
		t.Fatalf("%d segments; the test needs several", len(segs))
	}
	for _, seg := range segs[:len(segs)-1] {
		if !seg.offsetIndex.sealed.Load() || seg.offsetIndex.all() != nil || seg.timeIndex.all() != nil {
			t.Fatalf("segment %d keeps its index entries in memory after it rolled", seg.baseOffset)
		}
	}
	if active := segs[len(segs)-1]; active.offsetIndex.sealed.Load() {
		t.Fatal("the active segment's index is sealed")
	}
	// The file answers: a lookup near a sealed segment's end starts past
	// its beginning.
	if seg := segs[1]; seg.positionOf(seg.tail.Load().nextOffset-1) == 0 {
		t.Fatalf("a lookup in sealed segment %d found no index entry in its file", seg.baseOffset)
	}
	check := func(when string) {
		t.Helper()
		for _, i := range []int{0, 7, 133, 250, n - 1} {
			if got := readValues(t, l, int64(i)); len(got) == 0 || got[0] != fmt.Sprintf("%060d", i) {
				t.Fatalf("%s: reading from offset %d starts at %.10q", when, i, got)
			}
			found, ok, err := l.OffsetForTimestamp(base + int64(i))
			if err != nil || !ok || found.Offset != int64(i) {
				t.Fatalf("%s: timestamp of record %d found offset %+v (%v, %v)", when, i, found, ok, err)
			}
		}
	}
	check("rolled")

	// Truncated back into a sealed segment, it takes appends and indexes
	// them again.
	cut := segs[2].baseOffset + 3
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	for i := cut; i < n; i++ {
		mustAppend(t, l, plainBatch(base+i, fmt.Sprintf("%060d", i)))
	}
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	check("truncated and written again")

	tl.cleanRestart()
	l = tl.open(cfg)
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	check("after a clean restart")
	tl.crashRestart()
	l = tl.open(cfg)
	l.SetHighWatermark(l.Offsets().LogEndOffset)
	check("after a crash")
}
