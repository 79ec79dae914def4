package log

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

func appendKeyedTxn(t *testing.T, l *Log, producerID int64, seq int32, ts int64, recs ...keyed) AppendResult {
	t.Helper()
	b := batchtest.Batch{ProducerID: producerID, BaseSequence: seq, Transactional: true}
	for _, r := range recs {
		rec := batchtest.Record{Key: []byte(r.key), Timestamp: ts}
		if r.value != nil {
			rec.Value = []byte(*r.value)
		}
		b.Records = append(b.Records, rec)
	}
	return mustAppend(t, l, b.Bytes())
}

// readCommitted reads the log below the last stable offset as a
// read_committed consumer does (Kafka's fetcher): the aborted
// transactions the log lists make it skip their producer's transactional
// batches until the producer's ABORT marker; markers are never shown.
func readCommitted(t *testing.T, l *Log) map[int64]string {
	t.Helper()
	lso := l.LastStableOffset()
	aborted := l.AbortedTransactions(l.Offsets().LogStartOffset, lso)
	sort.Slice(aborted, func(i, j int) bool { return aborted[i].FirstOffset < aborted[j].FirstOffset })
	skipping := map[int64]bool{}
	out := map[int64]string{}
	for _, s := range *l.segs.Load() {
		_, err := s.eachBatch(0, func(h recordbatch.Header, pos int64) (bool, error) {
			if h.BaseOffset >= lso {
				return true, nil
			}
			for len(aborted) > 0 && aborted[0].FirstOffset <= h.LastOffset() {
				skipping[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			batch, err := s.readBatch(pos, h)
			if err != nil {
				return false, err
			}
			if h.Control() {
				if cr, err := recordbatch.ParseControl(batch); err == nil && cr.Type == recordbatch.ControlAbort {
					delete(skipping, h.ProducerID)
				}
				return false, nil
			}
			if h.Transactional() && skipping[h.ProducerID] {
				return false, nil
			}
			return false, recordbatch.Records(batch, func(r recordbatch.Record) bool {
				out[r.Offset] = string(r.Key) + "=" + string(r.Value)
				return true
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func controlOffsets(t *testing.T, l *Log) []int64 {
	t.Helper()
	var out []int64
	for _, s := range *l.segs.Load() {
		s.eachBatch(0, func(h recordbatch.Header, _ int64) (bool, error) {
			if h.Control() {
				out = append(out, h.BaseOffset)
			}
			return false, nil
		})
	}
	return out
}

func hasValue(view map[int64]string, kv string) bool {
	for _, v := range view {
		if v == kv {
			return true
		}
	}
	return false
}

func TestCompactionRemovesAbortedTransactionsAndKeepsMarkersUntilTheirDataAndHorizonAreGone(t *testing.T) {
	tl := newTestLogs(t)
	cfg := compactConfig()
	l := tl.open(cfg)
	now := tl.clock.Now().UnixMilli()
	appendKeyed(t, l, now, batchtest.None, keyed{"k", val("committed-0")}) // 0
	appendKeyedTxn(t, l, 1, 0, now, keyed{"k", val("aborted")})            // 1
	abortMarker := mustMarker(t, l, 1, 0, 0, false).BaseOffset             // 2
	appendKeyedTxn(t, l, 2, 0, now, keyed{"j", val("j1")})                 // 3
	overwrittenCommit := mustMarker(t, l, 2, 0, 0, true).BaseOffset        // 4
	appendKeyed(t, l, now, batchtest.None, keyed{"j", val("j2")})          // 5
	appendKeyedTxn(t, l, 4, 0, now, keyed{"m", val("m1")})                 // 6
	keptCommit := mustMarker(t, l, 4, 0, 0, true).BaseOffset               // 7
	for i := range 15 {
		appendKeyed(t, l, now, batchtest.None, keyed{fmt.Sprintf("filler%d", i), val("x")})
	}
	open := appendKeyedTxn(t, l, 5, 0, now, keyed{"k", val("open")}).BaseOffset
	for i := range 15 {
		appendKeyed(t, l, now, batchtest.None, keyed{fmt.Sprintf("late%d", i), val("y")})
	}
	if lso := l.LastStableOffset(); lso != open {
		t.Fatalf("LSO %d, want the open transaction's first offset %d", lso, open)
	}
	if rc := readCommitted(t, l); hasValue(rc, "k=aborted") || !hasValue(rc, "k=committed-0") {
		t.Fatalf("read_committed before cleaning: %v", rc)
	}
	before := readKeyed(t, l)

	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	after := readKeyed(t, l)
	if _, ok := after[1]; ok {
		t.Error("the aborted record is still there after cleaning")
	}
	if after[0] != "k=committed-0" {
		t.Errorf("the aborted record hid the committed value of its key: offset 0 holds %q", after[0])
	}
	if _, ok := after[3]; ok {
		t.Error("a committed record overwritten later was kept")
	}
	if after[6] != "m=m1" {
		t.Errorf("committed data was lost: %q", after[6])
	}
	for off, kv := range before {
		if off >= open && after[off] != kv {
			t.Errorf("offset %d at or after the first unstable offset %d changed: %q, was %q", off, open, after[off], kv)
		}
	}
	// Every marker survives its first cleaning.
	if got := controlOffsets(t, l); !slices.Equal(got, []int64{abortMarker, overwrittenCommit, keptCommit}) {
		t.Errorf("markers after the first cleaning %v", got)
	}
	if got := l.AbortedTransactions(0, l.LastStableOffset()); !slices.Equal(got, []AbortedTxn{{1, 1}}) {
		t.Errorf("aborted transactions after the first cleaning %v", got)
	}
	if rc := readCommitted(t, l); hasValue(rc, "k=aborted") || !hasValue(rc, "k=committed-0") || !hasValue(rc, "m=m1") {
		t.Errorf("read_committed after cleaning: %v", rc)
	}

	// After delete.retention.ms the markers with no data left go, and
	// the index entry with its marker; the marker of kept data stays.
	tl.clock.Advance(cfg.DeleteRetention + time.Second)
	if _, due := l.needsCleaning(tl.clock.Now()); !due {
		t.Fatal("not due once the markers' delete horizon passed")
	}
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := controlOffsets(t, l); !slices.Equal(got, []int64{keptCommit}) {
		t.Errorf("markers after the delete horizon %v, want only %d", got, keptCommit)
	}
	if got := l.AbortedTransactions(0, l.Offsets().LogEndOffset); got != nil {
		t.Errorf("aborted transactions after their marker went: %v", got)
	}
	if rc := readCommitted(t, l); !hasValue(rc, "k=committed-0") || !hasValue(rc, "m=m1") {
		t.Errorf("read_committed after the horizon: %v", rc)
	}

	// The open transaction is aborted: its record goes at the next pass.
	lateAbort := mustMarker(t, l, 5, 0, 0, false).BaseOffset
	for i := range 15 {
		appendKeyed(t, l, tl.clock.Now().UnixMilli(), batchtest.None, keyed{fmt.Sprintf("more%d", i), val("z")})
	}
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	final := readKeyed(t, l)
	if _, ok := final[open]; ok {
		t.Error("the aborted record of the formerly open transaction survived cleaning")
	}
	if final[0] != "k=committed-0" {
		t.Errorf("offset 0 holds %q", final[0])
	}
	// Once the marker is gone too, a replay from a snapshot taken while
	// the transaction was open must not open it again.
	tl.clock.Advance(cfg.DeleteRetention + time.Second)
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := controlOffsets(t, l); slices.Contains(got, lateAbort) {
		t.Fatalf("the abort at %d outlived its horizon: %v", lateAbort, got)
	}
	snaps, _ := listSnapshots(l.Dir())
	i := slices.IndexFunc(snaps, func(off int64) bool { return off > open && off <= lateAbort })
	if i < 0 {
		t.Fatalf("no snapshot between %d and %d: %v", open, lateAbort, snaps)
	}
	l.mu.Lock()
	err := l.rebuildProducerState(l.logEnd.Load(), snaps[i])
	l.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if fu := firstUnstable(l); fu != "none" {
		t.Errorf("replaying from the snapshot at %d reopened a transaction at %s", snaps[i], fu)
	}
	// The cleaned segments' indexes survive a restart.
	want := l.AbortedTransactions(0, l.Offsets().LogEndOffset)
	if len(want) != 0 {
		t.Errorf("aborted transactions %v, want none", want)
	}
	tl.cleanRestart()
	l = tl.open(cfg)
	if got := l.AbortedTransactions(0, l.Offsets().LogEndOffset); !slices.Equal(got, want) {
		t.Errorf("after restart %v, want %v", got, want)
	}
	for off, kv := range readKeyed(t, l) {
		if strings.Contains(kv, "aborted") || strings.Contains(kv, "open") {
			t.Errorf("offset %d holds aborted data %q", off, kv)
		}
	}
}
