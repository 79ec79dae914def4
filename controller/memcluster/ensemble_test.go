package memcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/storetest"
)

func TestControllerIsTheFirstBrokerToJoinThenTheLowestConnected(t *testing.T) {
	c := newCluster(t, 0)
	for _, id := range []int32{3, 1, 2} {
		c.Start(id)
	}
	if got := c.Controller(); got != 3 {
		t.Fatalf("controller %d, want 3, the first to join", got)
	}
	c.Kill(3)
	if got, epoch := c.Controller(), c.e.ControllerEpoch(); got != 1 || epoch != 2 {
		t.Fatalf("controller %d in epoch %d, want 1 in epoch 2", got, epoch)
	}
}

func TestPausedBrokerLosesItsSessionAndRejoins(t *testing.T) {
	c := newCluster(t, 3)
	storetest.CreateTopic(t, c.stores[1], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{2, 1, 3}}})
	victim := c.stores[2]
	rec := storetest.Record(t, victim)
	before := partition(t, victim, "t", 0)

	if err := c.e.Pause(2); err != nil {
		t.Fatal(err)
	}
	if _, err := victim.CreateTopic(storetest.Ctx(t), controller.CreateTopicRequest{Name: "cut", Partitions: 1, ReplicationFactor: 1}); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("a write while cut off: %v, want ErrStoreUnavailable", err)
	}
	if _, err := victim.AlterPartition(storetest.Ctx(t), "t", 0, before.LeaderEpoch, before.PartitionEpoch, []int32{2}); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("an ISR change while cut off: %v, want ErrStoreUnavailable", err)
	}

	c.pass(testSessionTimeout - time.Second)
	if err := registered(c.stores[1], 2, true); err != nil {
		t.Fatalf("before its session timeout: %v", err)
	}
	if p := partition(t, c.stores[1], "t", 0); p.Leader != 2 {
		t.Fatalf("leadership moved before the session expired: %+v", p)
	}

	c.pass(time.Second)
	if err := registered(c.stores[1], 2, false); err != nil {
		t.Fatalf("after its session timeout: %v", err)
	}
	if p := partition(t, c.stores[1], "t", 0); p.Leader != 1 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{1, 3}) {
		t.Fatalf("leadership after the expiry %+v, want 1 (first live ISR member), epoch 1, ISR [1 3]", p)
	}
	storetest.CreateTopic(t, c.stores[1], controller.CreateTopicRequest{Name: "during", Partitions: 1, ReplicationFactor: 2})

	// The cut-off broker's view and subscribers are as they were.
	if err := registered(victim, 2, true); err != nil {
		t.Fatalf("the paused broker's view changed: %v", err)
	}
	if _, ok := victim.Topic("during"); ok {
		t.Fatal("the paused broker sees a topic created while it was cut off")
	}
	if got := rec.Changes(); len(got) != 0 {
		t.Fatalf("the paused broker's subscribers heard %+v", got)
	}

	if err := c.e.Resume(2); err != nil {
		t.Fatal(err)
	}
	storetest.EveryBroker(t, c, "the broker registered again", func(_ int32, s controller.Store) error {
		return registered(s, 2, true)
	})
	if p := partition(t, victim, "t", 0); p.Leader != 1 || slices.Contains(p.ISR, 2) {
		t.Fatalf("the returning broker's view: %+v", p)
	}
	storetest.CheckFor(t, "the changes it missed", func() error {
		for _, want := range []controller.Change{{Kind: controller.BrokersChanged}, {Kind: controller.LeadershipChanged, Topic: "t"}, {Kind: controller.TopicCreated, Topic: "during"}} {
			if err := rec.Has(want); err != nil {
				return err
			}
		}
		return nil
	})
	if got := partition(t, victim, "during", 0); slices.Contains(got.Replicas, 2) {
		t.Fatalf("placed on a broker that was gone: %+v", got)
	}
	// Registered again, it may rejoin the ISR.
	p := partition(t, c.stores[1], "t", 0)
	if _, err := c.stores[1].AlterPartition(storetest.Ctx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, []int32{1, 3, 2}); err != nil {
		t.Fatalf("the returned broker rejoining the ISR: %v", err)
	}
}

func TestPausedControllerKeepsTheRoleUntilItsSessionExpires(t *testing.T) {
	c := newCluster(t, 3)
	storetest.CreateTopic(t, c.stores[2], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{3, 2}}})
	if err := c.e.Pause(1); err != nil {
		t.Fatal(err)
	}
	c.Kill(3)
	// Broker 3 is gone, but the controller that would move its
	// leadership is cut off: nothing is decided.
	if err := registered(c.stores[2], 3, false); err != nil {
		t.Fatal(err)
	}
	if p := partition(t, c.stores[2], "t", 0); p.Leader != 3 {
		t.Fatalf("a cut-off controller acted: %+v", p)
	}
	if got := c.stores[2].ControllerID(); got != 1 {
		t.Fatalf("controller %d, want 1 until its session expires", got)
	}
	if _, err := c.stores[2].ElectLeaders(storetest.Ctx(t), controller.PreferredElection, nil); !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("election on a non-controller: %v", err)
	}

	// Back within its session, it catches up.
	if err := c.e.Resume(1); err != nil {
		t.Fatal(err)
	}
	if p := partition(t, c.stores[2], "t", 0); p.Leader != 2 || p.LeaderEpoch != 1 {
		t.Fatalf("after the controller came back: %+v", p)
	}
	if epoch := c.e.ControllerEpoch(); epoch != 1 {
		t.Fatalf("controller epoch %d: the role did not move", epoch)
	}

	// Cut off past its session: the role moves.
	rec := storetest.Record(t, c.stores[2])
	if err := c.e.Pause(1); err != nil {
		t.Fatal(err)
	}
	c.pass(testSessionTimeout)
	if got, epoch := c.e.ControllerID(), c.e.ControllerEpoch(); got != 2 || epoch != 2 {
		t.Fatalf("controller %d in epoch %d, want 2 in 2", got, epoch)
	}
	storetest.CheckFor(t, "ControllerChanged", func() error { return rec.Has(controller.Change{Kind: controller.ControllerChanged}) })
	if _, err := c.stores[1].ElectLeaders(storetest.Ctx(t), controller.PreferredElection, nil); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("election on the cut-off former controller: %v", err)
	}
	if err := c.e.Resume(1); err != nil {
		t.Fatal(err)
	}
	if got := c.stores[1].ControllerID(); got != 2 {
		t.Fatalf("the former controller sees controller %d, want 2", got)
	}
}

func TestKilledControllerLeavesWorkQueuedUntilItsSessionExpires(t *testing.T) {
	c := newCluster(t, 3)
	storetest.CreateTopic(t, c.stores[2], controller.CreateTopicRequest{Name: "doomed", Partitions: 2, ReplicationFactor: 2})
	if err := c.e.Kill(1); err != nil {
		t.Fatal(err)
	}
	delete(c.stores, 1)
	if err := registered(c.stores[2], 1, true); err != nil {
		t.Fatalf("a killed broker is alive until its session expires: %v", err)
	}
	type result struct {
		created controller.Topic
		err     error
	}
	created, deleted := make(chan result, 1), make(chan error, 1)
	go func() {
		topic, err := c.stores[2].CreateTopic(storetest.Ctx(t), controller.CreateTopicRequest{Name: "late", Partitions: 3, ReplicationFactor: 2})
		created <- result{topic, err}
	}()
	go func() { deleted <- c.stores[3].DeleteTopic(storetest.Ctx(t), "doomed") }()
	storetest.CheckFor(t, "both requests queued for a controller", func() error {
		c.e.mu.Lock()
		defer c.e.mu.Unlock()
		if c.e.state.topics["late"] == nil || !c.e.state.pendingDeletion["doomed"] {
			return errStillWaiting
		}
		return nil
	})
	select {
	case r := <-created:
		t.Fatalf("created without a controller: %+v", r)
	case err := <-deleted:
		t.Fatalf("deleted without a controller: %v", err)
	default:
	}

	c.pass(testSessionTimeout)
	r := <-created
	if err := <-deleted; r.err != nil || err != nil {
		t.Fatalf("create: %v, delete: %v", r.err, err)
	}
	// The dead broker was still registered when the replicas were
	// placed, but it is not elected, nor in the ISR.
	for _, p := range r.created.Partitions {
		if p.Leader < 0 || p.Leader == 1 || slices.Contains(p.ISR, 1) {
			t.Fatalf("partition %+v led by or in sync on the dead broker", p)
		}
	}
	if _, ok := c.stores[3].Topic("doomed"); ok {
		t.Fatal("doomed still there")
	}
}

func TestJoinWaitsForTheOldSessionToExpire(t *testing.T) {
	c := newCluster(t, 2)
	if _, err := c.e.Join(storetest.Ctx(t), storetest.Broker(1)); err == nil {
		t.Fatal("a second running broker 1 joined")
	}
	if err := c.e.Pause(2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.e.Join(storetest.Ctx(t), storetest.Broker(2)); err == nil {
		t.Fatal("joined while the broker's paused process still runs")
	}
	if err := c.e.Kill(2); err != nil {
		t.Fatal(err)
	}
	delete(c.stores, 2)
	c.e.mu.Lock()
	oldEpoch := c.e.state.brokers[2].epoch
	c.e.mu.Unlock()

	joined := make(chan error, 1)
	go func() {
		s, err := c.e.Join(storetest.Ctx(t), storetest.Broker(2))
		if err == nil {
			t.Cleanup(func() { s.Close() })
		}
		joined <- err
	}()
	select {
	case err := <-joined:
		t.Fatalf("joined while the old session held the registration: %v", err)
	default:
	}
	c.pass(testSessionTimeout)
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	c.e.mu.Lock()
	newEpoch := c.e.state.brokers[2].epoch
	c.e.mu.Unlock()
	if newEpoch <= oldEpoch {
		t.Fatalf("broker epoch %d after the restart, was %d", newEpoch, oldEpoch)
	}
}

func TestClosedStoreLeavesAtOnceAndAPausedOneAfterItsSession(t *testing.T) {
	c := newCluster(t, 3)
	c.Stop(2)
	if err := registered(c.stores[1], 2, false); err != nil {
		t.Fatal(err)
	}
	if err := c.e.Pause(3); err != nil {
		t.Fatal(err)
	}
	c.stores[3].Close()
	if err := registered(c.stores[1], 3, true); err != nil {
		t.Fatalf("a store closed while cut off cannot close its session: %v", err)
	}
	c.pass(testSessionTimeout)
	if err := registered(c.stores[1], 3, false); err != nil {
		t.Fatal(err)
	}
}

// Store.Crash is what node.Node.Kill calls: the broker's session
// outlives it, as a killed process's does, where Close ends it at once.
func TestCrashedStoreLeavesItsSessionToExpire(t *testing.T) {
	c := newCluster(t, 2)
	c.stores[2].Crash()
	crashed := c.stores[2]
	delete(c.stores, 2)
	if _, err := crashed.AllocateProducerIDs(storetest.Ctx(t), 1); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("a crashed store's write: %v, want ErrStoreUnavailable", err)
	}
	if err := registered(c.stores[1], 2, true); err != nil {
		t.Fatalf("the session ended with the crash: %v", err)
	}
	crashed.Crash()
	crashed.Close() // nothing left to close: the session is not ended
	if err := registered(c.stores[1], 2, true); err != nil {
		t.Fatalf("closing a crashed store ended its session: %v", err)
	}
	c.pass(testSessionTimeout)
	if err := registered(c.stores[1], 2, false); err != nil {
		t.Fatal(err)
	}
	c.Start(2)
}

// The ensemble shows what its connected Stores show, to a harness
// outside every broker, also while no broker runs.
func TestTheEnsembleShowsTopicsAndBrokersAsAConnectedStore(t *testing.T) {
	c := newCluster(t, 3)
	if _, err := c.stores[1].CreateTopic(storetest.Ctx(t), controller.CreateTopicRequest{Name: "seen", Partitions: 2, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	c.Kill(1)
	want, _ := c.stores[2].Topic("seen")
	got, ok := c.e.Topic("seen")
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the ensemble shows %+v (%v), broker 2 shows %+v", got, ok, want)
	}
	if got, want := c.e.Brokers(), c.stores[2].Brokers(); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 2 {
		t.Fatalf("the ensemble lists brokers %+v, broker 2 lists %+v", got, want)
	}
	c.Kill(2)
	c.Kill(3)
	if got, ok := c.e.Topic("seen"); !ok || got.ID != want.ID {
		t.Fatalf("with every broker gone the ensemble shows %+v (%v)", got, ok)
	}
	if _, ok := c.e.Topic("unseen"); ok {
		t.Fatal("the ensemble shows a topic nobody created")
	}
}

func TestTopicPlacementIsRackAware(t *testing.T) {
	c := newCluster(t, 0)
	racks := map[int32]string{1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r3", 6: "r3"}
	for id := int32(1); id <= 6; id++ {
		b := storetest.Broker(id)
		b.Rack = racks[id]
		s, err := c.e.Join(storetest.Ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		c.stores[id] = s
		t.Cleanup(func() { s.Close() })
	}
	topic := storetest.CreateTopic(t, c.stores[1], controller.CreateTopicRequest{Name: "t", Partitions: 12, ReplicationFactor: 3})
	leaders := map[int32]int{}
	for _, p := range topic.Partitions {
		seen := map[string]bool{}
		for _, r := range p.Replicas {
			seen[racks[r]] = true
		}
		if len(seen) != 3 {
			t.Fatalf("partition %d on %v spans racks %v, want all three", p.Partition, p.Replicas, seen)
		}
		leaders[p.Leader]++
	}
	for id := int32(1); id <= 6; id++ {
		if leaders[id] != 2 {
			t.Fatalf("leaders per broker %v, want 2 each", leaders)
		}
	}
	if err := c.stores[1].CreatePartitions(storetest.Ctx(t), "t", 18, nil, false); err != nil {
		t.Fatal(err)
	}
	grown, _ := c.stores[1].Topic("t")
	for _, p := range grown.Partitions[12:] {
		seen := map[string]bool{}
		for _, r := range p.Replicas {
			seen[racks[r]] = true
		}
		if len(seen) != 3 {
			t.Fatalf("added partition %d on %v spans racks %v", p.Partition, p.Replicas, seen)
		}
	}
}

func TestUncleanElectionOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		name           string
		static         bool
		clusterDefault string
		want           int32
	}{
		{"off", false, "", -1},
		{"on in the static configuration", true, "", 3},
		{"on as the cluster-wide default", false, "true", 3},
		{"off as the cluster-wide default over the static one", true, "false", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, func(o *Options) { o.UncleanLeaderElection = tc.static })
			if tc.clusterDefault != "" {
				if err := c.stores[1].SetBrokerConfigs(storetest.Ctx(t), -1, map[string]string{"unclean.leader.election.enable": tc.clusterDefault}); err != nil {
					t.Fatal(err)
				}
			}
			storetest.CreateTopic(t, c.stores[1], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{2, 3}}})
			p := partition(t, c.stores[2], "t", 0)
			if _, err := c.stores[2].AlterPartition(storetest.Ctx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, []int32{2}); err != nil {
				t.Fatal(err)
			}
			c.Kill(2)
			got := partition(t, c.stores[1], "t", 0)
			if got.Leader != tc.want {
				t.Fatalf("leader %d, want %d: %+v", got.Leader, tc.want, got)
			}
			if tc.want >= 0 && !slices.Equal(got.ISR, []int32{tc.want}) {
				t.Fatalf("an unclean leader's ISR is itself alone: %+v", got)
			}
		})
	}
}

func TestEachBrokerSeesChangesInTheOrderTheyWereMade(t *testing.T) {
	c := newCluster(t, 3)
	rec := storetest.Record(t, c.stores[3])
	ctx := storetest.Ctx(t)
	storetest.CreateTopic(t, c.stores[1], controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 3})
	if err := c.stores[2].SetTopicConfigs(ctx, "t", map[string]string{"retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}
	c.Kill(2)
	if err := c.stores[1].SetBrokerConfigs(ctx, 1, map[string]string{"log.cleaner.threads": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.stores[1].DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	want := []controller.Change{
		{Kind: controller.TopicCreated, Topic: "t"},
		{Kind: controller.TopicConfigChanged, Topic: "t"},
		{Kind: controller.BrokersChanged},
		{Kind: controller.LeadershipChanged, Topic: "t"},
		{Kind: controller.BrokerConfigChanged, BrokerID: 1},
		{Kind: controller.TopicDeleted, Topic: "t"},
	}
	storetest.CheckFor(t, "every change, in order", func() error {
		if got := rec.Changes(); !slices.Equal(got, want) {
			return fmt.Errorf("%+v", got)
		}
		return nil
	})
}

func TestEnsembleOnTheRealClockExpiresSessionsByItself(t *testing.T) {
	e := New(Options{SessionTimeout: 50 * time.Millisecond, TickInterval: 5 * time.Millisecond})
	t.Cleanup(e.Close)
	var stores []*Store
	for id := int32(1); id <= 2; id++ {
		s, err := e.Join(context.Background(), storetest.Broker(id))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	if err := e.Pause(2); err != nil {
		t.Fatal(err)
	}
	storetest.CheckFor(t, "the paused broker's session expired", func() error { return registered(stores[0], 2, false) })
	if err := e.Resume(2); err != nil {
		t.Fatal(err)
	}
	if err := registered(stores[0], 2, true); err != nil {
		t.Fatal(err)
	}
}
