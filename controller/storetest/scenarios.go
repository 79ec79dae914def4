package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/samsa-io/samsa/controller"
)

// Scenarios are the behaviours every clustered store shows.
var Scenarios = []Scenario{
	{"BrokersRegisterAndAgreeOnOneController", 3, Options{}, brokersRegisterAndAgreeOnOneController},
	{"CreateTopicPlacesReplicasAndElectsLeaders", 3, Options{}, createTopicPlacesReplicasAndElectsLeaders},
	{"CreateTopicRefusesBadRequests", 2, Options{}, createTopicRefusesBadRequests},
	{"ConcurrentCreatesOfOneTopicCreateItOnce", 3, Options{}, concurrentCreatesOfOneTopicCreateItOnce},
	{"LeaderOfADeadBrokerMovesToTheFirstLiveISRMember", 3, Options{}, leaderOfADeadBrokerMovesToTheFirstLiveISRMember},
	{"ControllerRoleMovesWhenTheControllerDies", 3, Options{}, controllerRoleMovesWhenTheControllerDies},
	{"AlterPartitionWithAStaleEpochIsRefused", 3, Options{}, alterPartitionWithAStaleEpochIsRefused},
	{"ControlledShutdownMovesLeadershipAway", 3, Options{}, controlledShutdownMovesLeadershipAway},
	{"PreferredElectionRestoresThePreferredLeader", 3, Options{}, preferredElectionRestoresThePreferredLeader},
	{"UncleanElectionOnlyWhenAskedForOrEnabled", 3, Options{}, uncleanElectionOnlyWhenAskedForOrEnabled},
	{"AutoLeaderRebalanceMovesLeadershipBackToPreferredReplicas", 2, Options{AutoLeaderRebalance: true}, autoLeaderRebalance},
	{"TopicDeletionCompletesThroughTheController", 3, Options{}, topicDeletionCompletesThroughTheController},
	{"CreatePartitionsAddsPartitionsThroughTheController", 3, Options{}, createPartitionsAddsPartitionsThroughTheController},
	{"ConfigsReachEveryBroker", 3, Options{}, configsReachEveryBroker},
	{"EntityConfigsReachEveryBrokerAndKeepOtherKeys", 3, Options{}, entityConfigsReachEveryBroker},
	{"ProducerIDBlocksNeverOverlapAcrossStores", 3, Options{}, producerIDBlocksNeverOverlap},
	{"SnapshotsAreCopies", 1, Options{}, snapshotsAreCopies},
	{"LeaderThatRestartedUnseenGetsANewLeaderEpoch", 2, Options{}, leaderThatRestartedUnseenGetsANewLeaderEpoch},
}

func brokersRegisterAndAgreeOnOneController(t *testing.T, c Cluster) {
	c.Controller()
	EveryBroker(t, c, "every broker sees the three", func(_ int32, s controller.Store) error {
		if got := s.Brokers(); len(got) != 3 || got[0] != Broker(1) || got[2] != Broker(3) {
			return fmt.Errorf("brokers %+v", got)
		}
		return nil
	})
	id := c.Store(1).ClusterID()
	for _, b := range c.Running() {
		if got := c.Store(b).ClusterID(); got != id || len(id) != 22 {
			t.Fatalf("cluster ids %q and %q", id, got)
		}
	}
	if epoch := c.ControllerEpoch(); epoch != 1 {
		t.Fatalf("controller epoch %d, want 1", epoch)
	}
}

func createTopicPlacesReplicasAndElectsLeaders(t *testing.T, c Cluster) {
	rec := Record(t, c.Store(3))
	b := c.Store(Others(c, c.Controller())[0])
	created := CreateTopic(t, b, controller.CreateTopicRequest{Name: "orders", Partitions: 6, ReplicationFactor: 3, Configs: map[string]string{"retention.ms": "1000"}})
	if created.ID.IsZero() || len(created.Partitions) != 6 || created.Configs["retention.ms"] != "1000" {
		t.Fatalf("created %+v", created)
	}
	leaders := map[int32]int{}
	for _, p := range created.Partitions {
		if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) || p.LeaderEpoch != 0 || p.PartitionEpoch != 0 {
			t.Fatalf("partition %+v: want leader = first replica, ISR = replicas, epochs 0", p)
		}
		leaders[p.Leader]++
	}
	if leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Fatalf("leaders per broker %v, want 2 each", leaders)
	}
	EveryBroker(t, c, "every broker shows the topic", func(_ int32, s controller.Store) error {
		got, ok := s.Topic("orders")
		if !ok || got.ID != created.ID || len(got.Partitions) != 6 || got.Configs["retention.ms"] != "1000" {
			return fmt.Errorf("topic %+v %v", got, ok)
		}
		if byID, ok := s.TopicByID(created.ID); !ok || byID.Name != "orders" {
			return fmt.Errorf("by id: %+v", byID)
		}
		return nil
	})
	CheckFor(t, "TopicCreated on broker 3", func() error { return rec.Has(controller.Change{Kind: controller.TopicCreated, Topic: "orders"}) })
}

func createTopicRefusesBadRequests(t *testing.T, c Cluster) {
	b := c.Store(1)
	CreateTopic(t, b, controller.CreateTopicRequest{Name: "a.b", Partitions: 1, ReplicationFactor: 1})
	Seen(t, c, "a.b", 1)
	for _, tc := range []struct {
		req  controller.CreateTopicRequest
		want error
	}{
		{controller.CreateTopicRequest{Name: "a.b", Partitions: 1, ReplicationFactor: 1}, controller.ErrTopicExists},
		{controller.CreateTopicRequest{Name: "a_b", Partitions: 1, ReplicationFactor: 1}, controller.ErrInvalidTopicName},
		{controller.CreateTopicRequest{Name: "bad name", Partitions: 1, ReplicationFactor: 1}, controller.ErrInvalidTopicName},
		{controller.CreateTopicRequest{Name: "p0", Partitions: 0, ReplicationFactor: 1}, controller.ErrInvalidPartitions},
		{controller.CreateTopicRequest{Name: "r3", Partitions: 1, ReplicationFactor: 3}, controller.ErrInvalidReplication},
		{controller.CreateTopicRequest{Name: "as1", Assignment: [][]int32{{1, 1}}}, controller.ErrInvalidAssignment},
		{controller.CreateTopicRequest{Name: "as2", Assignment: [][]int32{{7}}}, controller.ErrInvalidAssignment},
	} {
		if _, err := c.Store(2).CreateTopic(Ctx(t), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("CreateTopic(%q) = %v, want %v", tc.req.Name, err, tc.want)
		}
	}
	validated, err := b.CreateTopic(Ctx(t), controller.CreateTopicRequest{Name: "v", Partitions: 3, ReplicationFactor: 2, ValidateOnly: true})
	if err != nil || len(validated.Partitions) != 3 {
		t.Fatalf("validate-only: %+v, %v", validated, err)
	}
	if _, ok := b.Topic("v"); ok {
		t.Fatal("validate-only created the topic")
	}
	explicit := CreateTopic(t, b, controller.CreateTopicRequest{Name: "explicit", Assignment: [][]int32{{2, 1}, {1, 2}}})
	if explicit.Partitions[0].Leader != 2 || explicit.Partitions[1].Leader != 1 {
		t.Fatalf("explicit assignment: %+v", explicit.Partitions)
	}
	CreateTopic(t, b, controller.CreateTopicRequest{Name: "v", Partitions: 1, ReplicationFactor: 1})
}

func concurrentCreatesOfOneTopicCreateItOnce(t *testing.T, c Cluster) {
	var wg sync.WaitGroup
	running := c.Running()
	errs := make([]error, len(running))
	for i, id := range running {
		s := c.Store(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CreateTopic(Ctx(t), controller.CreateTopicRequest{Name: "race", Partitions: 2, ReplicationFactor: 2})
		}()
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, controller.ErrTopicExists):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d creations succeeded: %v", created, errs)
	}
}

func leaderOfADeadBrokerMovesToTheFirstLiveISRMember(t *testing.T, c Cluster) {
	ctrl := c.Controller()
	others := Others(c, ctrl)
	a, b := others[0], others[1]
	// p0 led by a; p1 led by b with a as a follower; "single" on a alone.
	CreateTopic(t, c.Store(ctrl), controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, ctrl, b}, {b, a, ctrl}}})
	CreateTopic(t, c.Store(ctrl), controller.CreateTopicRequest{Name: "single", Assignment: [][]int32{{a}}})
	Seen(t, c, "t", 2)
	rec := Record(t, c.Store(b))

	c.Kill(a)
	EveryBroker(t, c, "leadership moved off the dead broker", func(_ int32, s controller.Store) error {
		p0, err := PartitionOf(s, "t", 0)
		if err != nil {
			return err
		}
		// The first live in-sync replica in assignment order: ctrl, not b.
		if p0.Leader != ctrl || p0.LeaderEpoch != 1 || !slices.Equal(p0.ISR, []int32{ctrl, b}) {
			return fmt.Errorf("p0 %+v", p0)
		}
		p1, _ := PartitionOf(s, "t", 1)
		if p1.Leader != b || p1.LeaderEpoch != 0 || !slices.Equal(p1.ISR, []int32{b, ctrl}) {
			return fmt.Errorf("p1 %+v: the dead follower leaves the ISR, the epoch stays", p1)
		}
		p2, _ := PartitionOf(s, "single", 0)
		if p2.Leader != -1 || p2.LeaderEpoch != 1 || !slices.Equal(p2.ISR, []int32{a}) {
			return fmt.Errorf("single %+v: offline, keeping its last in-sync replica", p2)
		}
		if len(s.Brokers()) != 2 {
			return fmt.Errorf("brokers %+v", s.Brokers())
		}
		return nil
	})
	CheckFor(t, "LeadershipChanged and BrokersChanged", func() error {
		if err := rec.Has(controller.Change{Kind: controller.BrokersChanged}); err != nil {
			return err
		}
		return rec.Has(controller.Change{Kind: controller.LeadershipChanged, Topic: "t"})
	})
	// Only live brokers join the ISR (KIP-841).
	p1, _ := PartitionOf(c.Store(b), "t", 1)
	if _, err := c.Store(b).AlterPartition(Ctx(t), "t", 1, p1.LeaderEpoch, p1.PartitionEpoch, []int32{b, ctrl, a}); !errors.Is(err, controller.ErrInvalidISR) {
		t.Fatalf("a dead broker joining the ISR: %v, want ErrInvalidISR", err)
	}

	// The last in-sync replica comes back: it leads its partition again.
	c.Start(a)
	EveryBroker(t, c, "the returning broker leads its offline partition", func(_ int32, s controller.Store) error {
		p2, err := PartitionOf(s, "single", 0)
		if err != nil {
			return err
		}
		if p2.Leader != a || p2.LeaderEpoch != 2 || !slices.Equal(p2.ISR, []int32{a}) {
			return fmt.Errorf("single %+v", p2)
		}
		return nil
	})
	// Back and registered, it may join the ISR again.
	p1, _ = PartitionOf(c.Store(b), "t", 1)
	if got, err := c.Store(b).AlterPartition(Ctx(t), "t", 1, p1.LeaderEpoch, p1.PartitionEpoch, []int32{b, ctrl, a}); err != nil || !slices.Equal(got.ISR, []int32{b, ctrl, a}) {
		t.Fatalf("the returned broker joining the ISR: %+v, %v", got, err)
	}
}

func controllerRoleMovesWhenTheControllerDies(t *testing.T, c Cluster) {
	old := c.Controller()
	others := Others(c, old)
	CreateTopic(t, c.Store(others[0]), controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{old, others[0], others[1]}}})
	rec := Record(t, c.Store(others[1]))

	c.Kill(old)
	next := c.Controller()
	if next == old {
		t.Fatal("the dead controller is still the controller")
	}
	if epoch := c.ControllerEpoch(); epoch != 2 {
		t.Fatalf("new controller epoch %d, want 2", epoch)
	}
	EveryBroker(t, c, "the new controller moved the dead controller's leadership", func(_ int32, s controller.Store) error {
		p, err := PartitionOf(s, "t", 0)
		if err != nil {
			return err
		}
		if p.Leader != others[0] || slices.Contains(p.ISR, old) {
			return fmt.Errorf("partition %+v", p)
		}
		return nil
	})
	CheckFor(t, "ControllerChanged", func() error { return rec.Has(controller.Change{Kind: controller.ControllerChanged}) })
}

func alterPartitionWithAStaleEpochIsRefused(t *testing.T, c Cluster) {
	CreateTopic(t, c.Store(1), controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{2, 1, 3}}})
	Seen(t, c, "t", 1)
	leader := c.Store(2) // leaders call AlterPartition on their own store
	p, _ := PartitionOf(leader, "t", 0)
	rec := Record(t, c.Store(3))

	got, err := leader.AlterPartition(Ctx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, []int32{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.PartitionEpoch != p.PartitionEpoch+1 || got.LeaderEpoch != p.LeaderEpoch || got.Leader != 2 || !slices.Equal(got.ISR, []int32{2, 1}) {
		t.Fatalf("after the ISR shrink: %+v", got)
	}
	if now, _ := PartitionOf(leader, "t", 0); now.PartitionEpoch != got.PartitionEpoch {
		t.Fatalf("the leader's own view lags: %+v", now)
	}
	EveryBroker(t, c, "the ISR change reached every broker", func(_ int32, s controller.Store) error {
		if q, _ := PartitionOf(s, "t", 0); !slices.Equal(q.ISR, []int32{2, 1}) || q.PartitionEpoch != got.PartitionEpoch {
			return fmt.Errorf("%+v", q)
		}
		return nil
	})
	CheckFor(t, "LeadershipChanged", func() error { return rec.Has(controller.Change{Kind: controller.LeadershipChanged, Topic: "t"}) })

	for _, tc := range []struct {
		name                      string
		leaderEpoch, partitionEpc int32
		isr                       []int32
		want                      error
	}{
		{"old partition epoch", got.LeaderEpoch, p.PartitionEpoch, []int32{2, 1, 3}, controller.ErrStalePartition},
		{"old leader epoch", got.LeaderEpoch - 1, got.PartitionEpoch, []int32{2, 1, 3}, controller.ErrStalePartition},
		{"future epoch", got.LeaderEpoch, got.PartitionEpoch + 5, []int32{2, 1, 3}, controller.ErrStalePartition},
		{"ISR without the leader", got.LeaderEpoch, got.PartitionEpoch, []int32{1, 3}, controller.ErrInvalidISR},
		{"ISR with a non-replica", got.LeaderEpoch, got.PartitionEpoch, []int32{2, 7}, controller.ErrInvalidISR},
		{"ISR with a duplicate", got.LeaderEpoch, got.PartitionEpoch, []int32{2, 2}, controller.ErrInvalidISR},
	} {
		if _, err := leader.AlterPartition(Ctx(t), "t", 0, tc.leaderEpoch, tc.partitionEpc, tc.isr); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := leader.AlterPartition(Ctx(t), "nope", 0, 0, 0, []int32{2}); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}

	// Two changes from the same epoch: exactly one wins.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, isr := range [][]int32{{2, 1, 3}, {2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = leader.AlterPartition(Ctx(t), "t", 0, got.LeaderEpoch, got.PartitionEpoch, isr)
		}()
	}
	wg.Wait()
	if (results[0] == nil) == (results[1] == nil) || !(errors.Is(results[0], controller.ErrStalePartition) || errors.Is(results[1], controller.ErrStalePartition)) {
		t.Fatalf("concurrent changes from one epoch: %v", results)
	}
}

func controlledShutdownMovesLeadershipAway(t *testing.T, c Cluster) {
	z := c.Controller()
	ctrl := c.Store(z)
	x, y := Others(c, z)[0], Others(c, z)[1]
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{x, y, z}, {y, x, z}, {z, y, x}}})
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "single", Assignment: [][]int32{{x}}})

	if _, err := c.Store(x).ControlledShutdown(Ctx(t), x); !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("controlled shutdown on a non-controller: %v", err)
	}
	if _, err := ctrl.ControlledShutdown(Ctx(t), 42); !errors.Is(err, controller.ErrBrokerNotAvailable) {
		t.Fatalf("controlled shutdown of an unknown broker: %v", err)
	}
	remaining, err := ctrl.ControlledShutdown(Ctx(t), x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []controller.TopicPartition{{Topic: "single", Partition: 0}}; !slices.Equal(remaining, want) {
		t.Fatalf("still led by the broker: %v, want %v (the single-replica partition)", remaining, want)
	}
	EveryBroker(t, c, "leadership and ISRs moved off the stopping broker", func(_ int32, s controller.Store) error {
		topic, ok := s.Topic("t")
		if !ok {
			return errors.New("no topic")
		}
		for _, p := range topic.Partitions[:2] {
			if p.Leader != y || slices.Contains(p.ISR, x) {
				return fmt.Errorf("partition %+v", p)
			}
		}
		if p := topic.Partitions[2]; p.Leader != z || slices.Contains(p.ISR, x) || p.LeaderEpoch != 0 {
			return fmt.Errorf("followed partition %+v: only the ISR changes", p)
		}
		if p := topic.Partitions[0]; p.LeaderEpoch != 1 {
			return fmt.Errorf("moved partition %+v: the leader epoch goes up", p)
		}
		return nil
	})
	// A broker shutting down is not elected, even as the preferred leader.
	res, err := ctrl.ElectLeaders(Ctx(t), controller.PreferredElection, []controller.TopicPartition{{Topic: "t", Partition: 0}})
	if err != nil || !errors.Is(res[controller.TopicPartition{Topic: "t", Partition: 0}], controller.ErrPreferredLeaderNotAvailable) {
		t.Fatalf("preferred election for a stopping broker: %v %v", res, err)
	}
}

func preferredElectionRestoresThePreferredLeader(t *testing.T, c Cluster) {
	z := c.Controller()
	ctrl := c.Store(z)
	a, b := Others(c, z)[0], Others(c, z)[1]
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, b, z}}})
	tp := controller.TopicPartition{Topic: "t", Partition: 0}

	res, err := ctrl.ElectLeaders(Ctx(t), controller.PreferredElection, []controller.TopicPartition{tp, {Topic: "t", Partition: 9}, {Topic: "nope", Partition: 0}})
	if err != nil || !errors.Is(res[tp], controller.ErrElectionNotNeeded) || !errors.Is(res[controller.TopicPartition{Topic: "t", Partition: 9}], controller.ErrUnknownTopic) || !errors.Is(res[controller.TopicPartition{Topic: "nope", Partition: 0}], controller.ErrUnknownTopic) {
		t.Fatalf("elections: %v %v", res, err)
	}
	if res, err := ctrl.ElectLeaders(Ctx(t), controller.UncleanElection, []controller.TopicPartition{tp}); err != nil || !errors.Is(res[tp], controller.ErrElectionNotNeeded) {
		t.Fatalf("unclean election with a live leader: %v %v", res, err)
	}
	if _, err := c.Store(a).ElectLeaders(Ctx(t), controller.PreferredElection, nil); !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("election on a non-controller: %v", err)
	}

	c.Kill(a)
	CheckFor(t, "b leads", func() error {
		if p, _ := PartitionOf(ctrl, "t", 0); p.Leader != b {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	c.Start(a)
	CheckFor(t, "a is back", func() error {
		if len(ctrl.Brokers()) != 3 {
			return errors.New("not yet")
		}
		return nil
	})
	res, err = ctrl.ElectLeaders(Ctx(t), controller.PreferredElection, []controller.TopicPartition{tp})
	if err != nil || !errors.Is(res[tp], controller.ErrPreferredLeaderNotAvailable) {
		t.Fatalf("preferred replica out of sync: %v %v", res, err)
	}
	// b, the leader, takes a back into the ISR once it caught up.
	p, _ := PartitionOf(c.Store(b), "t", 0)
	if _, err := c.Store(b).AlterPartition(Ctx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, append(slices.Clone(p.ISR), a)); err != nil {
		t.Fatal(err)
	}
	CheckFor(t, "the controller sees a in sync", func() error {
		if p, _ := PartitionOf(ctrl, "t", 0); !slices.Contains(p.ISR, a) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	res, err = ctrl.ElectLeaders(Ctx(t), controller.PreferredElection, nil)
	if err != nil || res[tp] != nil {
		t.Fatalf("preferred election: %v %v", res, err)
	}
	if p, _ := PartitionOf(ctrl, "t", 0); p.Leader != a || p.LeaderEpoch != 2 {
		t.Fatalf("after the election the controller's own view shows %+v", p)
	}
}

func uncleanElectionOnlyWhenAskedForOrEnabled(t *testing.T, c Cluster) {
	z := c.Controller()
	ctrl := c.Store(z)
	a, b := Others(c, z)[0], Others(c, z)[1]
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "api", Assignment: [][]int32{{a, b}}})
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "cfg", Assignment: [][]int32{{a, b}}})
	for _, topic := range []string{"api", "cfg"} {
		p, _ := PartitionOf(c.Store(a), topic, 0)
		if _, err := c.Store(a).AlterPartition(Ctx(t), topic, 0, p.LeaderEpoch, p.PartitionEpoch, []int32{a}); err != nil {
			t.Fatal(err)
		}
	}
	c.Kill(a)
	CheckFor(t, "both partitions offline: the live replica is out of sync", func() error {
		for _, topic := range []string{"api", "cfg"} {
			if p, _ := PartitionOf(ctrl, topic, 0); p.Leader != -1 || !slices.Equal(p.ISR, []int32{a}) {
				return fmt.Errorf("%s %+v", topic, p)
			}
		}
		return nil
	})
	res, err := ctrl.ElectLeaders(Ctx(t), controller.UncleanElection, []controller.TopicPartition{{Topic: "api", Partition: 0}})
	if err != nil || res[controller.TopicPartition{Topic: "api", Partition: 0}] != nil {
		t.Fatalf("unclean election: %v %v", res, err)
	}
	if p, _ := PartitionOf(ctrl, "api", 0); p.Leader != b || !slices.Equal(p.ISR, []int32{b}) {
		t.Fatalf("after the unclean election %+v", p)
	}
	if p, _ := PartitionOf(ctrl, "cfg", 0); p.Leader != -1 {
		t.Fatalf("a partition nobody asked for was elected uncleanly: %+v", p)
	}
	// The topic config turns unclean elections on: the controller elects.
	if err := c.Store(b).SetTopicConfigs(Ctx(t), "cfg", map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Fatal(err)
	}
	EveryBroker(t, c, "unclean election by config", func(_ int32, s controller.Store) error {
		if p, _ := PartitionOf(s, "cfg", 0); p.Leader != b || !slices.Equal(p.ISR, []int32{b}) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
}

func autoLeaderRebalance(t *testing.T, c Cluster) {
	z := c.Controller()
	ctrl := c.Store(z)
	a := Others(c, z)[0]
	CreateTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, z}, {a, z}, {z, a}}})
	c.Kill(a)
	CheckFor(t, "z leads everything", func() error {
		topic, _ := ctrl.Topic("t")
		for _, p := range topic.Partitions {
			if p.Leader != z {
				return fmt.Errorf("%+v", p)
			}
		}
		return nil
	})
	c.Start(a)
	for p := int32(0); p < 2; p++ {
		cur, _ := PartitionOf(ctrl, "t", p)
		if _, err := ctrl.AlterPartition(Ctx(t), "t", p, cur.LeaderEpoch, cur.PartitionEpoch, []int32{z, a}); err != nil {
			t.Fatal(err)
		}
	}
	c.AfterLeaderImbalanceCheck()
	EveryBroker(t, c, "preferred leaders restored without a request", func(_ int32, s controller.Store) error {
		topic, _ := s.Topic("t")
		for _, p := range topic.Partitions {
			if p.Leader != p.Replicas[0] {
				return fmt.Errorf("%+v", p)
			}
		}
		return nil
	})
}

func topicDeletionCompletesThroughTheController(t *testing.T, c Cluster) {
	b := c.Store(Others(c, c.Controller())[0])
	created := CreateTopic(t, b, controller.CreateTopicRequest{Name: "doomed", Partitions: 4, ReplicationFactor: 2, Configs: map[string]string{"cleanup.policy": "compact"}})
	Seen(t, c, "doomed", 4)
	recs := map[int32]*Recorder{}
	for _, id := range c.Running() {
		recs[id] = Record(t, c.Store(id))
	}
	if err := b.DeleteTopic(Ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Topic("doomed"); ok {
		t.Fatal("topic still shown after DeleteTopic returned")
	}
	EveryBroker(t, c, "TopicDeleted everywhere", func(id int32, s controller.Store) error {
		if _, ok := s.Topic("doomed"); ok {
			return errors.New("still shown")
		}
		if _, ok := s.TopicByID(created.ID); ok {
			return errors.New("still shown by id")
		}
		return recs[id].Has(controller.Change{Kind: controller.TopicDeleted, Topic: "doomed"})
	})
	if err := b.DeleteTopic(Ctx(t), "doomed"); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Fatalf("deleting a deleted topic: %v", err)
	}
	again := CreateTopic(t, b, controller.CreateTopicRequest{Name: "doomed", Partitions: 1, ReplicationFactor: 1})
	if again.ID == created.ID || again.Configs["cleanup.policy"] != "" {
		t.Fatalf("recreated topic %+v", again)
	}
}

func createPartitionsAddsPartitionsThroughTheController(t *testing.T, c Cluster) {
	b := c.Store(Others(c, c.Controller())[0])
	CreateTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 2, ReplicationFactor: 2})
	Seen(t, c, "t", 2)
	rec := Record(t, c.Store(1))
	if err := b.CreatePartitions(Ctx(t), "t", 5, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Topic("t"); len(got.Partitions) != 5 {
		t.Fatalf("%d partitions right after CreatePartitions", len(got.Partitions))
	}
	EveryBroker(t, c, "five partitions with leaders", func(_ int32, s controller.Store) error {
		topic, _ := s.Topic("t")
		if len(topic.Partitions) != 5 {
			return fmt.Errorf("%d partitions", len(topic.Partitions))
		}
		for _, p := range topic.Partitions {
			if p.Leader != p.Replicas[0] || len(p.Replicas) != 2 {
				return fmt.Errorf("%+v", p)
			}
		}
		return nil
	})
	CheckFor(t, "PartitionsCreated", func() error { return rec.Has(controller.Change{Kind: controller.PartitionsCreated, Topic: "t"}) })
	if err := b.CreatePartitions(Ctx(t), "t", 7, [][]int32{{3, 1}, {1, 2}}, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := PartitionOf(b, "t", 5); !slices.Equal(p.Replicas, []int32{3, 1}) || p.Leader != 3 {
		t.Fatalf("explicitly placed partition %+v", p)
	}
	for _, tc := range []struct {
		total      int32
		assignment [][]int32
		want       error
	}{
		{7, nil, controller.ErrInvalidPartitions},
		{9, [][]int32{{1, 2}}, controller.ErrInvalidAssignment},
		{8, [][]int32{{1}}, controller.ErrInvalidAssignment},
		{8, [][]int32{{1, 9}}, controller.ErrInvalidAssignment},
	} {
		if err := b.CreatePartitions(Ctx(t), "t", tc.total, tc.assignment, false); !errors.Is(err, tc.want) {
			t.Errorf("CreatePartitions(%d, %v) = %v, want %v", tc.total, tc.assignment, err, tc.want)
		}
	}
	if err := b.CreatePartitions(Ctx(t), "nope", 3, nil, false); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}
	if err := b.CreatePartitions(Ctx(t), "t", 10, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Topic("t"); len(got.Partitions) != 7 {
		t.Fatalf("validate-only added partitions: %d", len(got.Partitions))
	}
}

func configsReachEveryBroker(t *testing.T, c Cluster) {
	CreateTopic(t, c.Store(1), controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	Seen(t, c, "t", 1)
	rec := Record(t, c.Store(3))
	if err := c.Store(1).SetTopicConfigs(Ctx(t), "t", map[string]string{"retention.ms": "5"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Store(1).Topic("t"); got.Configs["retention.ms"] != "5" {
		t.Fatalf("the writer's own view: %v", got.Configs)
	}
	if err := c.Store(2).SetBrokerConfigs(Ctx(t), -1, map[string]string{"log.retention.ms": "7"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(2).SetBrokerConfigs(Ctx(t), 2, map[string]string{"log.cleaner.threads": "2"}); err != nil {
		t.Fatal(err)
	}
	EveryBroker(t, c, "configs everywhere", func(_ int32, s controller.Store) error {
		topic, _ := s.Topic("t")
		if topic.Configs["retention.ms"] != "5" || s.BrokerConfigs(-1)["log.retention.ms"] != "7" || s.BrokerConfigs(2)["log.cleaner.threads"] != "2" || len(s.BrokerConfigs(1)) != 0 {
			return fmt.Errorf("topic %v, default %v, broker 2 %v", topic.Configs, s.BrokerConfigs(-1), s.BrokerConfigs(2))
		}
		return nil
	})
	CheckFor(t, "config changes delivered", func() error {
		for _, want := range []controller.Change{{Kind: controller.TopicConfigChanged, Topic: "t"}, {Kind: controller.BrokerConfigChanged, BrokerID: -1}, {Kind: controller.BrokerConfigChanged, BrokerID: 2}} {
			if err := rec.Has(want); err != nil {
				return err
			}
		}
		return nil
	})
	if err := c.Store(2).SetBrokerConfigs(Ctx(t), -1, nil); err != nil {
		t.Fatal(err)
	}
	EveryBroker(t, c, "default configs cleared", func(_ int32, s controller.Store) error {
		if len(s.BrokerConfigs(-1)) != 0 {
			return fmt.Errorf("%v", s.BrokerConfigs(-1))
		}
		return nil
	})
	if err := c.Store(1).SetTopicConfigs(Ctx(t), "nope", nil); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
}

func entityConfigsReachEveryBroker(t *testing.T, c Cluster) {
	rec := Record(t, c.Store(3))
	alice := controller.UserEntity("alice@example.com").Path() // sanitized in ZooKeeper
	combo := controller.UserClientEntity("alice@example.com", "app 1*").Path()
	// SCRAM credentials and quotas of one user, written by two brokers at
	// once: neither write loses the other's key.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = c.Store(1).AlterEntityConfigs(Ctx(t), alice, map[string]string{"SCRAM-SHA-256": "salt=c2FsdA==,stored_key=a2V5,server_key=a2V5,iterations=4096"}, nil)
	}()
	go func() {
		defer wg.Done()
		errs[1] = c.Store(2).AlterEntityConfigs(Ctx(t), alice, map[string]string{"producer_byte_rate": "1024"}, nil)
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []struct {
		entity  string
		configs map[string]string
	}{
		{combo, map[string]string{"consumer_byte_rate": "2048"}},
		{controller.ClientEntity(controller.DefaultEntityName).Path(), map[string]string{"request_percentage": "50"}},
		{controller.IPEntity("10.0.0.1").Path(), map[string]string{"connection_creation_rate": "5"}},
	} {
		if err := c.Store(1).AlterEntityConfigs(Ctx(t), w.entity, w.configs, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Store(1).EntityConfigs(combo); got["consumer_byte_rate"] != "2048" {
		t.Fatalf("the writer's own view of %s: %v", combo, got)
	}
	EveryBroker(t, c, "entity configs everywhere", func(_ int32, s controller.Store) error {
		users := s.ListEntityConfigs(controller.EntityUsers)
		if len(users) != 2 || len(users[alice]) != 2 || users[alice]["producer_byte_rate"] != "1024" || users[combo]["consumer_byte_rate"] != "2048" {
			return fmt.Errorf("users %v", users)
		}
		if got := s.EntityConfigs("clients/<default>"); got["request_percentage"] != "50" {
			return fmt.Errorf("clients/<default> %v", got)
		}
		if got := s.ListEntityConfigs(controller.EntityIPs); len(got) != 1 || got["ips/10.0.0.1"]["connection_creation_rate"] != "5" {
			return fmt.Errorf("ips %v", got)
		}
		return nil
	})
	CheckFor(t, "entity changes delivered", func() error {
		for _, path := range []string{alice, combo, "clients/<default>", "ips/10.0.0.1"} {
			if err := rec.Has(controller.Change{Kind: controller.EntityConfigChanged, Entity: path}); err != nil {
				return err
			}
		}
		return nil
	})
	// Removing a key keeps the others; removing the last empties it.
	if err := c.Store(3).AlterEntityConfigs(Ctx(t), alice, nil, []string{"producer_byte_rate"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(3).AlterEntityConfigs(Ctx(t), combo, nil, []string{"consumer_byte_rate"}); err != nil {
		t.Fatal(err)
	}
	EveryBroker(t, c, "keys removed everywhere", func(_ int32, s controller.Store) error {
		users := s.ListEntityConfigs(controller.EntityUsers)
		if len(users) != 1 || len(users[alice]) != 1 || users[alice]["SCRAM-SHA-256"] == "" || s.EntityConfigs(combo) != nil {
			return fmt.Errorf("users %v, %s %v", users, combo, s.EntityConfigs(combo))
		}
		return nil
	})
	if err := c.Store(1).AlterEntityConfigs(Ctx(t), "groups/g", map[string]string{"a": "b"}, nil); err == nil {
		t.Fatal("an unknown entity type was accepted")
	}
}

func producerIDBlocksNeverOverlap(t *testing.T, c Cluster) {
	type block struct{ start, count int64 }
	var mu sync.Mutex
	var blocks []block
	var wg sync.WaitGroup
	for _, id := range c.Running() {
		s := c.Store(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				count := int64(10 + i)
				start, err := s.AllocateProducerIDs(Ctx(t), count)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				blocks = append(blocks, block{start, count})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(blocks, func(a, b block) int { return int(a.start - b.start) })
	for i := 1; i < len(blocks); i++ {
		if prev := blocks[i-1]; prev.start+prev.count > blocks[i].start {
			t.Fatalf("blocks %+v and %+v overlap", prev, blocks[i])
		}
	}
	if blocks[0].start != 0 || len(blocks) != 60 {
		t.Fatalf("%d blocks from %d", len(blocks), blocks[0].start)
	}
	last := blocks[len(blocks)-1]
	c.Stop(1)
	next := c.Start(1)
	if start, err := next.AllocateProducerIDs(Ctx(t), 1); err != nil || start != last.start+last.count {
		t.Fatalf("after a restart: %d, %v; want %d", start, err, last.start+last.count)
	}
}

// The store must hand out copies.
func snapshotsAreCopies(t *testing.T, c Cluster) {
	b := c.Store(1)
	CreateTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"a": "1"}})
	got, _ := b.Topic("t")
	got.Partitions[0].ISR[0] = 99
	got.Partitions[0].Replicas[0] = 99
	got.Configs["a"] = "2"
	again, _ := b.Topic("t")
	if again.Partitions[0].ISR[0] != 1 || again.Partitions[0].Replicas[0] != 1 || again.Configs["a"] != "1" {
		t.Fatalf("snapshot shares memory with the store: %+v", again)
	}
	bc := b.BrokerConfigs(-1)
	bc["x"] = "y"
	if len(b.BrokerConfigs(-1)) != 0 {
		t.Fatal("broker configs share memory")
	}
}

func leaderThatRestartedUnseenGetsANewLeaderEpoch(t *testing.T, c Cluster) {
	k := c.Controller()
	l := Others(c, k)[0]
	CreateTopic(t, c.Store(k), controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{l, k}}})
	Seen(t, c, "t", 1)
	// Both die; the leader comes back first and, alone, becomes the
	// controller: it never saw itself die, but its registration is newer
	// than the partition state, so its leadership is renewed with a new
	// epoch rather than carried over from its previous process.
	c.Kill(k)
	c.Kill(l)
	back := c.Start(l)
	CheckFor(t, "a new leader epoch for the restarted leader", func() error {
		p, err := PartitionOf(back, "t", 0)
		if err != nil {
			return err
		}
		if p.Leader != l || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{l}) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
}
