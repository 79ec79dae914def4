package replica

import (
	"context"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// An acks=all write waiting for its follower is woken when the follower
// catches up, well before its deadline; a write already replicated (the
// follower has it, or there is none) returns at once.
func TestAnAcksAllWriteWakesWhenItsFollowerCatchesUp(t *testing.T) {
	m := newTestTable(t)
	m.createTopic(t, "orders", 1)
	p, err := m.Lookup("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	self := m.cfg.BrokerID
	const follower = 99
	m.ApplyState(p, controller.Partition{Replicas: []int32{self, follower}, ISR: []int32{self, follower}, Leader: self, LeaderEpoch: 1})
	for round := range 3 {
		res, epoch, err := m.AppendAsLeader(p, batchtest.Plain(time.Now().UnixMilli(), "a", "b").Bytes(), time.Now().UnixMilli(), true)
		if err != nil {
			t.Fatal(err)
		}
		target := res.LastOffset + 1
		deadline := time.Now().Add(time.Minute)
		done := make(chan error, 1)
		go func() { done <- m.WaitReplicated(context.Background(), p, epoch, target, deadline) }()
		// The waiter has taken its wake-up channel: it is parked.
		for armed := false; !armed; {
			p.changedMu.Lock()
			armed = p.changed != nil
			p.changedMu.Unlock()
			select {
			case err := <-done:
				t.Fatalf("round %d: the write returned before its follower fetched: %v", round, err)
			case <-time.After(time.Millisecond):
			}
		}
		if err := m.FollowerFetched(p, follower, target, time.Now()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the follower caught up and the write still waits", round)
		}
		// Already replicated: no wait.
		if err := m.WaitReplicated(context.Background(), p, epoch, target, time.Now()); err != nil {
			t.Fatalf("round %d: a replicated write: %v", round, err)
		}
	}
}
