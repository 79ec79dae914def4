package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

func txnBatch(producerID int64, epoch int16, seq int32, values ...string) []byte {
	b := batchtest.Plain(time.Now().UnixMilli(), values...)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = producerID, epoch, seq, true
	return b.Bytes()
}

// A marker is written only by the leader, is replicated like any
// write, and wakes parked read_committed fetches: ending a transaction
// moves the last stable offset even when the high watermark stays.
func TestAMarkerEndsTheTransactionAndWakesWatchersOfTheLastStableOffset(t *testing.T) {
	m := newTestTable(t)
	m.createTopic(t, "orders", 1)
	p, err := m.LookupLeader("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	l := p.Log()
	guard, needed := l.VerificationGuard(7)
	if !needed {
		t.Fatal("a producer without a transaction here needs no verification")
	}
	if _, _, err := m.AppendAsLeaderWithGuard(p, txnBatch(7, 0, 0, "a", "b"), time.Now().UnixMilli(), true, guard+1); !errors.Is(err, plog.ErrInvalidTxnState) {
		t.Fatalf("a write with another guard: %v, want ErrInvalidTxnState", err)
	}
	res, epoch, err := m.AppendAsLeaderWithGuard(p, txnBatch(7, 0, 0, "a", "b"), time.Now().UnixMilli(), true, guard)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitReplicated(context.Background(), p, epoch, res.LastOffset+1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if hw, lso := p.HighWatermark(), l.LastStableOffset(); hw != 2 || lso != 0 {
		t.Fatalf("open transaction: high watermark %d, last stable offset %d; want 2 and 0", hw, lso)
	}
	woken := make(chan struct{}, 1)
	p.Watch(woken)
	defer p.Unwatch(woken)
	mres, mepoch, err := m.AppendMarkerAsLeader(p, plog.TxnMarker{ProducerID: 7, ProducerEpoch: 0, CoordinatorEpoch: 1, Commit: true}, time.Now().UnixMilli())
	if err != nil || mres.BaseOffset != 2 {
		t.Fatalf("marker: %+v %v", mres, err)
	}
	if err := m.WaitReplicated(context.Background(), p, mepoch, mres.LastOffset+1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the marker woke no watcher")
	}
	if lso := l.LastStableOffset(); lso != 3 {
		t.Errorf("last stable offset after the commit %d, want 3", lso)
	}
	if _, _, err := m.AppendMarkerAsLeader(p, plog.TxnMarker{ProducerID: 7, ProducerEpoch: 0, CoordinatorEpoch: 0, Commit: true}, time.Now().UnixMilli()); !errors.Is(err, plog.ErrCoordinatorFenced) {
		t.Errorf("a marker from an older coordinator: %v, want ErrCoordinatorFenced", err)
	}
}
