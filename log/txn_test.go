package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

func txnBatch(producerID int64, epoch int16, seq int32, values ...string) []byte {
	b := batchtest.Plain(1_700_000_000_000, values...)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = producerID, epoch, seq, true
	return b.Bytes()
}

// appendTxn appends as the leader without KIP-890 verification and moves
// the high watermark to the log end, as a one-replica partition does.
func appendTxn(t *testing.T, l *Log, producerID int64, epoch int16, seq int32, values ...string) AppendResult {
	t.Helper()
	return mustAppend(t, l, txnBatch(producerID, epoch, seq, values...))
}

func mustMarker(t *testing.T, l *Log, producerID int64, epoch int16, coordinatorEpoch int32, commit bool) AppendResult {
	t.Helper()
	res, err := l.AppendMarker(TxnMarker{ProducerID: producerID, ProducerEpoch: epoch, CoordinatorEpoch: coordinatorEpoch, Commit: commit}, 0, 1_700_000_000_000)
	if err != nil {
		t.Fatalf("marker for producer %d: %v", producerID, err)
	}
	l.SetHighWatermark(res.LastOffset + 1)
	return res
}

func firstUnstable(l *Log) string {
	if off, ok := l.FirstUnstableOffset(); ok {
		return fmt.Sprint(off)
	}
	return "none"
}

func TestAnOpenTransactionPinsTheLastStableOffsetWhileTheHighWatermarkMoves(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "before")) // 0
	appendTxn(t, l, 1, 0, 0, "t1", "t2")      // 1-2
	mustAppend(t, l, plainBatch(0, "plain"))  // 3
	if hw, lso, fu := l.HighWatermark(), l.LastStableOffset(), firstUnstable(l); hw != 4 || lso != 1 || fu != "1" {
		t.Fatalf("open transaction at 1: high watermark %d, LSO %d, first unstable %s; want 4, 1, 1", hw, lso, fu)
	}
	// The marker is written but not yet replicated: a new leader
	// without it would see the transaction open, so the LSO waits.
	res, err := l.AppendMarker(TxnMarker{ProducerID: 1, Commit: true}, 0, 0)
	if err != nil || res.BaseOffset != 4 {
		t.Fatalf("commit marker: %+v %v", res, err)
	}
	if lso := l.LastStableOffset(); lso != 1 {
		t.Errorf("LSO %d before the marker is below the high watermark, want 1", lso)
	}
	l.SetHighWatermark(5)
	if lso, fu := l.LastStableOffset(), firstUnstable(l); lso != 5 || fu != "none" {
		t.Errorf("after the commit is replicated: LSO %d, first unstable %s; want 5, none", lso, fu)
	}
	// An abort moves it the same way.
	appendTxn(t, l, 2, 0, 0, "doomed")   // 5
	mustAppend(t, l, plainBatch(0, "x")) // 6
	if lso := l.LastStableOffset(); lso != 5 {
		t.Errorf("LSO %d with a transaction open at 5", lso)
	}
	mustMarker(t, l, 2, 0, 0, false) // 7
	if lso := l.LastStableOffset(); lso != 8 {
		t.Errorf("LSO %d after the abort, want 8", lso)
	}
}

func TestAbortedTransactionsListsExactlyTheAbortedRangesOfInterleavedProducers(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	appendTxn(t, l, 1, 0, 0, "p1a", "p1b") // 0-1
	appendTxn(t, l, 2, 0, 0, "p2a")        // 2
	mustMarker(t, l, 1, 0, 0, false)       // 3: abort p1 (p2 still open: LSO 2)
	appendTxn(t, l, 3, 0, 0, "p3a")        // 4
	mustMarker(t, l, 2, 0, 0, true)        // 5: commit p2
	appendTxn(t, l, 1, 0, 2, "p1c")        // 6: p1's next transaction
	mustMarker(t, l, 3, 0, 0, false)       // 7: abort p3 (p1 open at 6)
	mustMarker(t, l, 1, 0, 0, true)        // 8: commit p1

	for _, c := range []struct {
		from, upTo int64
		want       []AbortedTxn
	}{
		{0, 9, []AbortedTxn{{1, 0}, {3, 4}}},
		{0, 1, []AbortedTxn{{1, 0}}},
		{3, 4, []AbortedTxn{{1, 0}}},
		{4, 9, []AbortedTxn{{3, 4}}},
		{8, 9, nil},
		{5, 6, []AbortedTxn{{3, 4}}},
	} {
		if got := l.AbortedTransactions(c.from, c.upTo); !slices.Equal(got, c.want) {
			t.Errorf("AbortedTransactions(%d, %d) = %v, want %v", c.from, c.upTo, got, c.want)
		}
	}
	// The .txnindex file holds Kafka's 34-byte entries.
	raw, err := os.ReadFile(filepath.Join(tl.partitionDir(), fmt.Sprintf("%020d.txnindex", 0)))
	if err != nil {
		t.Fatal(err)
	}
	want := encodeTxnIndex([]abortedEntry{
		{producerID: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 2},
		{producerID: 3, firstOffset: 4, lastOffset: 7, lastStableOffset: 6},
	})
	if !bytes.Equal(raw, want) || len(raw) != 68 || binary.BigEndian.Uint16(raw) != 0 || binary.BigEndian.Uint64(raw[2:]) != 1 {
		t.Errorf("txnindex holds %x, want %x", raw, want)
	}
	if lso := l.LastStableOffset(); lso != 9 {
		t.Errorf("LSO %d, want 9", lso)
	}
}

func TestMarkersAreFencedByProducerEpochAndCoordinatorEpoch(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	appendTxn(t, l, 5, 2, 0, "a")
	if _, err := l.AppendMarker(TxnMarker{ProducerID: 5, ProducerEpoch: 1, CoordinatorEpoch: 9, Commit: true}, 0, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("marker with an older producer epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	mustMarker(t, l, 5, 2, 4, true)
	appendTxn(t, l, 5, 2, 1, "b")
	if _, err := l.AppendMarker(TxnMarker{ProducerID: 5, ProducerEpoch: 2, CoordinatorEpoch: 3}, 0, 0); !errors.Is(err, ErrCoordinatorFenced) {
		t.Errorf("marker from an older coordinator epoch: %v, want ErrCoordinatorFenced", err)
	}
	// The coordinator fences the producer: an abort with a bumped epoch.
	mustMarker(t, l, 5, 3, 4, false)
	if _, err := l.Append(txnBatch(5, 2, 2, "zombie"), 0, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("a transactional batch of the fenced epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	if _, err := l.Append(idempotentBatch(5, 2, 2, "zombie"), 0, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("an idempotent batch of the fenced epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	// The new epoch starts at sequence 0.
	appendTxn(t, l, 5, 3, 0, "c")
	// A non-transactional write inside a transaction is refused.
	if _, err := l.Append(idempotentBatch(5, 3, 1, "outside"), 0, 0); !errors.Is(err, ErrInvalidTxnState) {
		t.Errorf("a non-transactional batch inside a transaction: %v, want ErrInvalidTxnState", err)
	}
	// A marker for a producer with nothing open is written and closes
	// nothing else.
	appendTxn(t, l, 6, 0, 0, "other")
	leo := l.Offsets().LogEndOffset
	res := mustMarker(t, l, 77, 0, 0, false)
	if res.BaseOffset != leo {
		t.Errorf("marker without a transaction at %d, want %d", res.BaseOffset, leo)
	}
	want := []ProducerInfo{
		{ProducerID: 5, ProducerEpoch: 3, LastSequence: 0, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: 4, CurrentTxnStartOffset: 4},
		{ProducerID: 6, ProducerEpoch: 0, LastSequence: 0, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: -1, CurrentTxnStartOffset: 5},
		{ProducerID: 77, ProducerEpoch: 0, LastSequence: -1, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: 0, CurrentTxnStartOffset: -1},
	}
	if got := l.Producers(); !slices.Equal(got, want) {
		t.Errorf("Producers() =\n%+v, want\n%+v", got, want)
	}
	if fu := firstUnstable(l); fu != "4" {
		t.Errorf("first unstable offset %s, want 4", fu)
	}
	if _, err := l.Append(mustControl(t, 5, 3, true), 0, 0); !errors.Is(err, recordbatch.ErrInvalidRecord) {
		t.Errorf("a control batch through Append: %v, want ErrInvalidRecord", err)
	}
}

func mustControl(t *testing.T, producerID int64, epoch int16, commit bool) []byte {
	t.Helper()
	b, err := recordbatch.BuildControl(producerID, epoch, commit, 0, 1_700_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// KIP-890 part 1: a write verified before the coordinator aborted, but
// arriving after the abort marker, must not open a transaction no one
// will end.
func TestAVerificationGuardDroppedByAMarkerRefusesTheLateWrite(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	guard, needed := l.VerificationGuard(9)
	if !needed || guard == 0 || guard == SkipVerification {
		t.Fatalf("VerificationGuard = %d %v, want a fresh guard", guard, needed)
	}
	if again, _ := l.VerificationGuard(9); again != guard {
		t.Errorf("a second verification got guard %d, want the current one %d", again, guard)
	}
	if _, err := l.AppendWithGuard(txnBatch(9, 0, 0, "a"), 0, 0, guard+1); !errors.Is(err, ErrInvalidTxnState) {
		t.Errorf("a wrong guard: %v, want ErrInvalidTxnState", err)
	}
	if _, err := l.AppendWithGuard(txnBatch(9, 0, 0, "a"), 0, 0, guard); err != nil {
		t.Fatalf("the verified write: %v", err)
	}
	if _, needed := l.VerificationGuard(9); needed {
		t.Error("a producer with an open transaction here needs verification")
	}
	if _, err := l.AppendWithGuard(txnBatch(9, 0, 1, "b"), 0, 0, 12345); err != nil {
		t.Errorf("a write inside the open transaction is checked against a guard: %v", err)
	}
	mustMarker(t, l, 9, 0, 0, true)

	// Verified for the next transaction; the coordinator times it out
	// and aborts before the write lands.
	late, needed := l.VerificationGuard(9)
	if !needed || late == guard {
		t.Fatalf("VerificationGuard after the commit = %d %v, want a new guard", late, needed)
	}
	mustMarker(t, l, 9, 1, 0, false)
	if _, err := l.AppendWithGuard(txnBatch(9, 0, 2, "late"), 0, 0, late); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("the late write of the old epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	if _, err := l.AppendWithGuard(txnBatch(9, 1, 0, "late"), 0, 0, late); !errors.Is(err, ErrInvalidTxnState) {
		t.Errorf("the late write with the dropped guard: %v, want ErrInvalidTxnState", err)
	}
	// A newer epoch drops a guard too.
	g, _ := l.VerificationGuard(9)
	mustAppend(t, l, idempotentBatch(9, 2, 0, "new epoch"))
	if _, err := l.AppendWithGuard(txnBatch(9, 2, 1, "x"), 0, 0, g); !errors.Is(err, ErrInvalidTxnState) {
		t.Errorf("a guard taken before a newer epoch: %v, want ErrInvalidTxnState", err)
	}
	if _, err := l.AppendWithGuard(txnBatch(9, 2, 1, "x"), 0, 0, SkipVerification); err != nil {
		t.Errorf("SkipVerification: %v", err)
	}
}

// txnWorkload writes, over several segments, committed and aborted
// transactions of three producers, and leaves two open.
func txnWorkload(t *testing.T, l *Log) {
	t.Helper()
	seq := map[int64]int32{}
	txn := func(id int64, v string) {
		appendTxn(t, l, id, 0, seq[id], v)
		seq[id]++
	}
	for round := range 6 {
		txn(1, fmt.Sprintf("one-%d", round))
		txn(2, fmt.Sprintf("two-%d", round))
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("plain-%d", round)))
		txn(1, fmt.Sprintf("one-%d'", round))
		mustMarker(t, l, 1, 0, 0, round%2 == 0)
		txn(3, fmt.Sprintf("three-%d", round))
		mustMarker(t, l, 2, 0, 0, round%3 == 0)
		if round < 5 {
			mustMarker(t, l, 3, 0, 0, false)
		}
	}
	txn(1, "one-open")
}

type txnView struct {
	fu        string
	lso       int64
	aborted   []AbortedTxn
	producers []ProducerInfo
	indexes   map[string]string
}

func viewTxns(t *testing.T, l *Log) txnView {
	t.Helper()
	v := txnView{fu: firstUnstable(l), lso: l.LastStableOffset(), aborted: l.AbortedTransactions(0, l.Offsets().LogEndOffset), producers: l.Producers(), indexes: map[string]string{}}
	entries, _ := os.ReadDir(l.Dir())
	for _, e := range entries {
		if filepath.Ext(e.Name()) == txnIndexSuffix {
			raw, _ := os.ReadFile(filepath.Join(l.Dir(), e.Name()))
			v.indexes[e.Name()] = fmt.Sprintf("%x", raw)
		}
	}
	return v
}

func (v txnView) equal(w txnView) bool {
	if v.fu != w.fu || v.lso != w.lso || !slices.Equal(v.aborted, w.aborted) || !slices.Equal(v.producers, w.producers) || len(v.indexes) != len(w.indexes) {
		return false
	}
	for k, x := range v.indexes {
		if w.indexes[k] != x {
			return false
		}
	}
	return true
}

func TestOpenTransactionsAndTransactionIndexesSurviveRestarts(t *testing.T) {
	for _, c := range []struct {
		name    string
		restart func(*testLogs)
		damage  func(t *testing.T, dir string)
	}{
		{"clean", (*testLogs).cleanRestart, nil},
		{"kill -9", (*testLogs).crashRestart, nil},
		{"kill -9 losing the unflushed segment's txnindex file", (*testLogs).crashRestart, func(t *testing.T, dir string) {
			files, _ := filepath.Glob(filepath.Join(dir, "*"+txnIndexSuffix))
			if err := os.Remove(files[len(files)-1]); err != nil {
				t.Fatal(err)
			}
		}},
		{"kill -9 with a doubled txnindex entry", (*testLogs).crashRestart, func(t *testing.T, dir string) {
			files, _ := filepath.Glob(filepath.Join(dir, "*"+txnIndexSuffix))
			last := files[len(files)-1]
			raw, _ := os.ReadFile(last)
			os.WriteFile(last, append(raw, raw[len(raw)-txnIndexEntrySize:]...), 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := newTestLogs(t)
			cfg := testConfig()
			cfg.SegmentBytes = 700
			l := tl.open(cfg)
			txnWorkload(t, l)
			if n := len(*l.segs.Load()); n < 4 {
				t.Fatalf("the workload wrote %d segments, want several", n)
			}
			before := viewTxns(t, l)
			if before.fu == "none" || len(before.aborted) < 5 {
				t.Fatalf("workload left first unstable %s and %d aborted transactions", before.fu, len(before.aborted))
			}
			hw := l.HighWatermark()
			if c.damage != nil {
				tl.m.Abandon()
				c.damage(t, tl.partitionDir())
				tl.start()
			} else {
				c.restart(tl)
			}
			l = tl.open(cfg)
			l.SetHighWatermark(hw) // the checkpoint may be older after a crash
			if after := viewTxns(t, l); !after.equal(before) {
				t.Fatalf("after the restart:\n%+v\nbefore:\n%+v", after, before)
			}
			// The open transactions go on, and end.
			mustMarker(t, l, 1, 0, 1, false)
			mustMarker(t, l, 3, 0, 1, true)
			if fu := firstUnstable(l); fu != "none" {
				t.Errorf("first unstable offset %s after the last transaction ended", fu)
			}
		})
	}
}

// encodeV1 writes a producer state as version 1 snapshots held it, before
// transactions.
func encodeV1(ps *producerState) []byte {
	buf := make([]byte, 12)
	copy(buf, "SPS1")
	ids := make([]int64, 0, len(ps.producers))
	for id := range ps.producers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	binary.BigEndian.PutUint32(buf[8:], uint32(len(ids)))
	for _, id := range ids {
		e := ps.producers[id]
		buf = binary.BigEndian.AppendUint64(buf, uint64(id))
		buf = binary.BigEndian.AppendUint16(buf, uint16(e.epoch))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.lastTimestamp))
		buf = append(buf, byte(len(e.batches)))
		for _, b := range e.batches {
			for _, v := range []uint32{uint32(b.firstSeq), uint32(b.lastSeq)} {
				buf = binary.BigEndian.AppendUint32(buf, v)
			}
			for _, v := range []int64{b.firstOffset, b.lastOffset, b.timestamp} {
				buf = binary.BigEndian.AppendUint64(buf, uint64(v))
			}
		}
	}
	binary.BigEndian.PutUint32(buf[4:], crc32.Checksum(buf[8:], crc32.MakeTable(crc32.Castagnoli)))
	return buf
}

func TestAVersion1SnapshotStillLoads(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	var last AppendResult
	for seq := int32(0); seq < 3; seq++ {
		last = mustAppend(t, l, idempotentBatch(4, 2, seq, fmt.Sprint(seq)))
	}
	tl.cleanRestart()
	// Replace the close's snapshot with the same state in version 1.
	path := snapshotPath(tl.partitionDir(), 3)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := decodeProducerState(raw)
	if err != nil || string(raw[:4]) != "SPS2" {
		t.Fatalf("the close wrote %q: %v", raw[:4], err)
	}
	tl.m.Close()
	if err := os.WriteFile(path, encodeV1(ps), 0o644); err != nil {
		t.Fatal(err)
	}
	tl.start()
	l = tl.open(testConfig())
	if dup, err := l.Append(idempotentBatch(4, 2, 2, "2"), 0, 0); err != nil || !dup.Duplicate || dup.BaseOffset != last.BaseOffset {
		t.Fatalf("retry after loading a v1 snapshot: %+v %v", dup, err)
	}
	if got := l.Producers(); len(got) != 1 || got[0].CurrentTxnStartOffset != -1 || got[0].CoordinatorEpoch != -1 || got[0].LastSequence != 2 {
		t.Errorf("producers from a v1 snapshot: %+v", got)
	}
}

func TestTruncationDropsIndexEntriesAndReopensTransactions(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 300
	l := tl.open(cfg)
	mustAppend(t, l, plainBatch(0, "zero"))  // 0
	appendTxn(t, l, 1, 0, 0, "a")            // 1
	appendTxn(t, l, 2, 0, 0, "b")            // 2
	mustAppend(t, l, plainBatch(0, "three")) // 3
	mustMarker(t, l, 1, 0, 0, false)         // 4: abort 1
	appendTxn(t, l, 3, 0, 0, "c")            // 5
	mustMarker(t, l, 2, 0, 0, false)         // 6: abort 2
	if n := len(*l.segs.Load()); n < 3 {
		t.Fatalf("%d segments, want several", n)
	}
	if got := l.AbortedTransactions(0, 7); !slices.Equal(got, []AbortedTxn{{1, 1}, {2, 2}}) {
		t.Fatalf("before truncation: %v", got)
	}
	if err := l.TruncateTo(5); err != nil {
		t.Fatal(err)
	}
	if got := l.AbortedTransactions(0, 7); !slices.Equal(got, []AbortedTxn{{1, 1}}) {
		t.Errorf("after truncating to 5: %v, want only producer 1's abort", got)
	}
	if fu := firstUnstable(l); fu != "2" {
		t.Errorf("first unstable %s after truncation, want 2 (producer 2's abort is gone)", fu)
	}
	if err := l.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if got := l.AbortedTransactions(0, 7); got != nil {
		t.Errorf("after truncating to 3: %v, want none", got)
	}
	want := []ProducerInfo{
		{ProducerID: 1, ProducerEpoch: 0, LastSequence: 0, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: -1, CurrentTxnStartOffset: 1},
		{ProducerID: 2, ProducerEpoch: 0, LastSequence: 0, LastTimestamp: 1_700_000_000_000, CoordinatorEpoch: -1, CurrentTxnStartOffset: 2},
	}
	if got := l.Producers(); !slices.Equal(got, want) {
		t.Errorf("producers after truncation %+v, want %+v", got, want)
	}
	if fu, lso := firstUnstable(l), l.LastStableOffset(); fu != "1" || lso != 1 {
		t.Errorf("first unstable %s, LSO %d; want 1, 1", fu, lso)
	}
	files, _ := filepath.Glob(filepath.Join(tl.partitionDir(), "*"+txnIndexSuffix))
	if len(files) != 0 {
		t.Errorf("txnindex files left after every abort was truncated: %v", files)
	}
	// The state after truncation is what a restart finds.
	before := viewTxns(t, l)
	tl.crashRestart()
	l = tl.open(cfg)
	l.SetHighWatermark(3)
	if after := viewTxns(t, l); !after.equal(before) {
		t.Errorf("after restart %+v, before %+v", after, before)
	}
}

func TestRetentionNeverDeletesDataAtOrAfterTheLastStableOffset(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 256
	cfg.RetentionMs = 0
	l := tl.open(cfg)
	for i := range 5 {
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("%040d", i)))
	}
	open := appendTxn(t, l, 1, 0, 0, "open")
	for i := range 10 {
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("%040d", i)))
	}
	if hw := l.HighWatermark(); hw != l.Offsets().LogEndOffset {
		t.Fatalf("high watermark %d", hw)
	}
	tl.clock.Advance(time.Hour)
	l.enforceRetention(tl.clock.Now())
	if start := l.Offsets().LogStartOffset; start > open.BaseOffset {
		t.Fatalf("retention moved the log start to %d, past the open transaction at %d", start, open.BaseOffset)
	}
	if got := readValues(t, l, l.Offsets().LogStartOffset); !slices.Contains(got, "open") {
		t.Fatalf("the open transaction's record is gone: %v", got)
	}
	mustMarker(t, l, 1, 0, 0, true)
	l.enforceRetention(tl.clock.Now())
	if start := l.Offsets().LogStartOffset; start <= open.BaseOffset {
		t.Errorf("after the commit the log start stays at %d", start)
	}
}

func TestFollowersBuildTheLeadersTransactionState(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 700
	leader := tl.open(cfg)
	txnWorkload(t, leader)
	follower, err := tl.m.Open("events", 1, testTopicID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < leader.Offsets().LogEndOffset; {
		rr, err := leader.Read(off, 1<<20, leader.Offsets().LogEndOffset)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, rr.Size)
		rr.File.ReadAt(buf, rr.Position)
		rr.Release()
		if off, err = follower.AppendAsFollower(buf); err != nil {
			t.Fatal(err)
		}
	}
	follower.SetHighWatermark(leader.HighWatermark())
	lv, fv := viewTxns(t, leader), viewTxns(t, follower)
	if !slices.Equal(lv.aborted, fv.aborted) || lv.fu != fv.fu || lv.lso != fv.lso || !slices.Equal(lv.producers, fv.producers) {
		t.Fatalf("follower:\n%+v\nleader:\n%+v", fv, lv)
	}
	for i, s := range *leader.segs.Load() {
		fs := (*follower.segs.Load())[i]
		if !slices.Equal(s.abortedTxns(), fs.abortedTxns()) {
			t.Errorf("segment %d: follower's index %v, leader's %v", s.baseOffset, fs.abortedTxns(), s.abortedTxns())
		}
	}
}
