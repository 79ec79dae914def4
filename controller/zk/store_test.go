package zk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/zktest"
)

func TestBrokersRegisterAndElectOneController(t *testing.T) {
	c := newCluster(t, 3)
	ctrl := c.controller()
	c.everyBroker("every broker sees the three", func(b *testBroker) error {
		if got := b.Brokers(); len(got) != 3 || got[0].ID != 1 || got[2].Port != 9093 {
			return fmt.Errorf("brokers %+v", got)
		}
		return nil
	})
	id := c.brokers[1].ClusterID()
	for _, b := range c.brokers {
		if b.ClusterID() != id || len(id) != 22 {
			t.Fatalf("cluster ids %q and %q", id, b.ClusterID())
		}
	}

	raw := c.raw()
	data, _, err := raw.get("/brokers/ids/2")
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	json.Unmarshal(data, &reg)
	if reg["version"] != 5.0 || fmt.Sprint(reg["endpoints"]) != "[PLAINTEXT://127.0.0.1:9092]" || reg["host"] != "127.0.0.1" || reg["port"] != 9092.0 || reg["jmx_port"] != -1.0 {
		t.Fatalf("registration %s", data)
	}
	data, _, _ = raw.get("/controller")
	var cn map[string]any
	json.Unmarshal(data, &cn)
	if cn["version"] != 1.0 || cn["brokerid"] != float64(ctrl.cfg.Self.ID) {
		t.Fatalf("/controller %s", data)
	}
	if data, _, _ := raw.get("/controller_epoch"); string(data) != "1" {
		t.Fatalf("/controller_epoch %q", data)
	}
	if data, _, _ := raw.get("/cluster/id"); !strings.Contains(string(data), `"version":"1"`) || !strings.Contains(string(data), id) {
		t.Fatalf("/cluster/id %s", data)
	}
}

func TestChrootIsCreatedWhenMissing(t *testing.T) {
	server := sharedZK(t)
	c := &testCluster{t: t, zk: server, connect: server.Addr + fmt.Sprintf("/nested-%d/deeper/samsa", chrootN.Add(1)), brokers: map[int32]*testBroker{}, tweak: func(*Config) {}}
	b := c.start(1)
	createTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	if ok, _, err := c.raw().exists("/brokers/topics/t/partitions/0/state"); !ok || err != nil {
		t.Fatalf("state under the chroot: %v %v", ok, err)
	}
}

func TestCreateTopicPlacesReplicasAndElectsLeaders(t *testing.T) {
	c := newCluster(t, 3)
	rec := record(t, c.brokers[3])
	b := c.nonController()
	created := createTopic(t, b, controller.CreateTopicRequest{Name: "orders", Partitions: 6, ReplicationFactor: 3, Configs: map[string]string{"retention.ms": "1000"}})
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
	c.everyBroker("every broker shows the topic", func(b *testBroker) error {
		got, ok := b.Topic("orders")
		if !ok || got.ID != created.ID || len(got.Partitions) != 6 || got.Configs["retention.ms"] != "1000" {
			return fmt.Errorf("topic %+v %v", got, ok)
		}
		if byID, ok := b.TopicByID(created.ID); !ok || byID.Name != "orders" {
			return fmt.Errorf("by id: %+v", byID)
		}
		return nil
	})
	checkFor(t, 10*time.Second, "TopicCreated on broker 3", func() error { return rec.has(controller.Change{Kind: controller.TopicCreated, Topic: "orders"}) })

	raw := c.raw()
	data, _, _ := raw.get("/brokers/topics/orders")
	var tn map[string]any
	json.Unmarshal(data, &tn)
	if tn["version"] != 2.0 || tn["topic_id"] == nil || tn["adding_replicas"] == nil || len(tn["partitions"].(map[string]any)) != 6 {
		t.Fatalf("topic znode %s", data)
	}
	data, _, _ = raw.get("/brokers/topics/orders/partitions/0/state")
	var sn map[string]any
	json.Unmarshal(data, &sn)
	if sn["version"] != 1.0 || sn["leader"] != float64(created.Partitions[0].Leader) || sn["leader_epoch"] != 0.0 || sn["controller_epoch"] != 1.0 || len(sn["isr"].([]any)) != 3 {
		t.Fatalf("state znode %s", data)
	}
	if data, _, _ := raw.get("/config/topics/orders"); string(data) != `{"version":1,"config":{"retention.ms":"1000"}}` {
		t.Fatalf("config znode %s", data)
	}
}

func TestZKCreateTopicErrors(t *testing.T) {
	c := newCluster(t, 2)
	b := c.brokers[1]
	createTopic(t, b, controller.CreateTopicRequest{Name: "a.b", Partitions: 1, ReplicationFactor: 1})
	c.everyBroker("topic visible", func(b *testBroker) error {
		if _, ok := b.Topic("a.b"); !ok {
			return errors.New("missing")
		}
		return nil
	})
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
		if _, err := c.brokers[2].CreateTopic(testCtx(t), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("CreateTopic(%q) = %v, want %v", tc.req.Name, err, tc.want)
		}
	}
	if _, err := b.CreateTopic(testCtx(t), controller.CreateTopicRequest{Name: "v", Partitions: 3, ReplicationFactor: 2, ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := c.raw().exists("/brokers/topics/v"); ok {
		t.Fatal("validate-only created the topic")
	}
	explicit := createTopic(t, b, controller.CreateTopicRequest{Name: "explicit", Assignment: [][]int32{{2, 1}, {1, 2}}})
	if explicit.Partitions[0].Leader != 2 || explicit.Partitions[1].Leader != 1 {
		t.Fatalf("explicit assignment: %+v", explicit.Partitions)
	}
}

func TestConcurrentCreatesOfOneTopicCreateItOnce(t *testing.T) {
	c := newCluster(t, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, b := range c.others(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.CreateTopic(testCtx(t), controller.CreateTopicRequest{Name: "race", Partitions: 2, ReplicationFactor: 2})
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

func TestControllerMovesLeadershipToFirstLiveISRReplicaWhenLeaderDies(t *testing.T) {
	c := newCluster(t, 3)
	ctrl := c.controller().cfg.Self.ID
	others := c.others(ctrl)
	a, b := others[0].cfg.Self.ID, others[1].cfg.Self.ID
	// p0 led by a; p1 led by b with a as a follower; "single" on a alone.
	createTopic(t, c.brokers[ctrl], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, ctrl, b}, {b, a, ctrl}}})
	createTopic(t, c.brokers[ctrl], controller.CreateTopicRequest{Name: "single", Assignment: [][]int32{{a}}})
	c.seen("t", 2)
	rec := record(t, c.brokers[b])

	c.kill(a)
	c.everyBroker("leadership moved off the dead broker", func(br *testBroker) error {
		p0, err := partitionOf(br, "t", 0)
		if err != nil {
			return err
		}
		// The first live in-sync replica in assignment order: ctrl, not b.
		if p0.Leader != ctrl || p0.LeaderEpoch != 1 || !slices.Equal(p0.ISR, []int32{ctrl, b}) {
			return fmt.Errorf("p0 %+v", p0)
		}
		p1, _ := partitionOf(br, "t", 1)
		if p1.Leader != b || p1.LeaderEpoch != 0 || !slices.Equal(p1.ISR, []int32{b, ctrl}) {
			return fmt.Errorf("p1 %+v: the dead follower leaves the ISR, the epoch stays", p1)
		}
		p2, _ := partitionOf(br, "single", 0)
		if p2.Leader != -1 || p2.LeaderEpoch != 1 || !slices.Equal(p2.ISR, []int32{a}) {
			return fmt.Errorf("single %+v: offline, keeping its last in-sync replica", p2)
		}
		if len(br.Brokers()) != 2 {
			return fmt.Errorf("brokers %+v", br.Brokers())
		}
		return nil
	})
	checkFor(t, 5*time.Second, "LeadershipChanged and BrokersChanged", func() error {
		if err := rec.has(controller.Change{Kind: controller.BrokersChanged}); err != nil {
			return err
		}
		return rec.has(controller.Change{Kind: controller.LeadershipChanged, Topic: "t"})
	})
	// The dead broker cannot be brought back into an ISR (KIP-841).
	p1, _ := partitionOf(c.brokers[b], "t", 1)
	if _, err := c.brokers[b].AlterPartition(testCtx(t), "t", 1, p1.LeaderEpoch, p1.PartitionEpoch, []int32{b, ctrl, a}); !errors.Is(err, controller.ErrInvalidISR) {
		t.Fatalf("a dead broker joining the ISR: %v, want ErrInvalidISR", err)
	}

	// The last in-sync replica comes back: it leads its partition again.
	c.start(a)
	c.everyBroker("the returning broker leads its offline partition", func(br *testBroker) error {
		p2, err := partitionOf(br, "single", 0)
		if err != nil {
			return err
		}
		if p2.Leader != a || p2.LeaderEpoch != 2 || !slices.Equal(p2.ISR, []int32{a}) {
			return fmt.Errorf("single %+v", p2)
		}
		return nil
	})
}

func TestNewControllerIsElectedWhenTheControllerDies(t *testing.T) {
	c := newCluster(t, 3)
	old := c.controller().cfg.Self.ID
	others := c.others(old)
	createTopic(t, others[0], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{old, others[0].cfg.Self.ID, others[1].cfg.Self.ID}}})
	rec := record(t, others[1])

	c.kill(old)
	next := c.controller()
	if next.cfg.Self.ID == old {
		t.Fatal("the dead controller is still the controller")
	}
	if next.ctrl.epoch != 2 {
		t.Fatalf("new controller epoch %d, want 2", next.ctrl.epoch)
	}
	if data, _, _ := c.raw().get("/controller_epoch"); string(data) != "2" {
		t.Fatalf("/controller_epoch %q", data)
	}
	c.everyBroker("the new controller moved the dead controller's leadership", func(b *testBroker) error {
		p, err := partitionOf(b, "t", 0)
		if err != nil {
			return err
		}
		if p.Leader != others[0].cfg.Self.ID || slices.Contains(p.ISR, old) {
			return fmt.Errorf("partition %+v", p)
		}
		return nil
	})
	checkFor(t, 5*time.Second, "ControllerChanged", func() error { return rec.has(controller.Change{Kind: controller.ControllerChanged}) })
	data, _, _ := c.raw().get("/brokers/topics/t/partitions/0/state")
	if !strings.Contains(string(data), `"controller_epoch":2`) {
		t.Fatalf("state written by the new controller: %s", data)
	}
}

func TestStaleControllerCannotOverwritePartitionState(t *testing.T) {
	c := newCluster(t, 2)
	ctrl := c.controller()
	other := c.others(ctrl.cfg.Self.ID)[0]
	x, y := ctrl.cfg.Self.ID, other.cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{x, y}}})
	raw := c.raw()
	statePath := "/brokers/topics/t/partitions/0/state"

	// Another controller (played by a raw connection) took over: it bumped
	// the controller epoch and moved the leadership to y.
	_, st, err := raw.get(statePath)
	if err != nil {
		t.Fatal(err)
	}
	moved := partitionState{LeaderAndISR: controller.LeaderAndISR{Leader: y, LeaderEpoch: 1, ISR: []int32{x, y}}, ControllerEpoch: 2}
	if _, err := raw.multi(opSet(zkControllerEpochPath, []byte("2"), -1), opSet(statePath, moved.encode(), st.Version)); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, "the move seen by the old controller", func() error {
		if p, _ := partitionOf(ctrl, "t", 0); p.Leader != y {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	_, before, _ := raw.get(statePath)

	// The old controller, still holding /controller, tries an election:
	// its epoch check fails, nothing is written, and it resigns.
	_, err = ctrl.ElectLeaders(testCtx(t), controller.PreferredElection, []controller.TopicPartition{{Topic: "t", Partition: 0}})
	if !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("stale controller's election: %v, want ErrNotController", err)
	}
	data, after, _ := raw.get(statePath)
	if after.Version != before.Version || !strings.Contains(string(data), fmt.Sprintf(`"leader":%d`, y)) {
		t.Fatalf("state overwritten by a stale controller: %s (version %d → %d)", data, before.Version, after.Version)
	}
	// The cluster elects again, above the epoch it found.
	next := c.controller()
	if next.ctrl.epoch != 3 {
		t.Fatalf("controller epoch after re-election %d, want 3", next.ctrl.epoch)
	}
}

func TestAlterPartitionRejectsStaleEpochs(t *testing.T) {
	c := newCluster(t, 3)
	createTopic(t, c.brokers[1], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{2, 1, 3}}})
	c.seen("t", 1)
	leader := c.brokers[2] // leaders call AlterPartition on their own store
	p, _ := partitionOf(leader, "t", 0)
	rec := record(t, c.brokers[3])

	got, err := leader.AlterPartition(testCtx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, []int32{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.PartitionEpoch != p.PartitionEpoch+1 || got.LeaderEpoch != p.LeaderEpoch || got.Leader != 2 || !slices.Equal(got.ISR, []int32{2, 1}) {
		t.Fatalf("after the ISR shrink: %+v", got)
	}
	if now, _ := partitionOf(leader, "t", 0); now.PartitionEpoch != got.PartitionEpoch {
		t.Fatalf("the leader's own view lags: %+v", now)
	}
	c.everyBroker("the ISR change reached every broker", func(b *testBroker) error {
		if q, _ := partitionOf(b, "t", 0); !slices.Equal(q.ISR, []int32{2, 1}) || q.PartitionEpoch != got.PartitionEpoch {
			return fmt.Errorf("%+v", q)
		}
		return nil
	})
	checkFor(t, 5*time.Second, "LeadershipChanged", func() error { return rec.has(controller.Change{Kind: controller.LeadershipChanged, Topic: "t"}) })

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
		if _, err := leader.AlterPartition(testCtx(t), "t", 0, tc.leaderEpoch, tc.partitionEpc, tc.isr); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := leader.AlterPartition(testCtx(t), "nope", 0, 0, 0, []int32{2}); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}

	// Someone else changed the state (the controller, played by a raw
	// write): the stale change fails, and the leader's view shows the
	// new state at once, so that it can retry from it.
	raw := c.raw()
	data, st, _ := raw.get("/brokers/topics/t/partitions/0/state")
	changed, _ := decodePartitionState(data, st)
	changed.ISR = []int32{2, 1, 3}
	if _, err := raw.set("/brokers/topics/t/partitions/0/state", changed.encode(), st.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.AlterPartition(testCtx(t), "t", 0, got.LeaderEpoch, got.PartitionEpoch, []int32{2}); !errors.Is(err, controller.ErrStalePartition) {
		t.Fatalf("change from a replaced state: %v", err)
	}
	if now, _ := partitionOf(leader, "t", 0); now.PartitionEpoch != got.PartitionEpoch+1 || len(now.ISR) != 3 {
		t.Fatalf("after a stale change the leader's view shows %+v", now)
	}
	got, _ = partitionOf(leader, "t", 0)

	// Two changes from the same epoch: exactly one wins.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, isr := range [][]int32{{2, 1, 3}, {2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = leader.AlterPartition(testCtx(t), "t", 0, got.LeaderEpoch, got.PartitionEpoch, isr)
		}()
	}
	wg.Wait()
	if (results[0] == nil) == (results[1] == nil) || !(errors.Is(results[0], controller.ErrStalePartition) || errors.Is(results[1], controller.ErrStalePartition)) {
		t.Fatalf("concurrent changes from one epoch: %v", results)
	}
}

func TestControlledShutdownMovesLeadershipAway(t *testing.T) {
	c := newCluster(t, 3)
	ctrl := c.controller()
	x := c.others(ctrl.cfg.Self.ID)[0].cfg.Self.ID
	y := c.others(ctrl.cfg.Self.ID)[1].cfg.Self.ID
	z := ctrl.cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{x, y, z}, {y, x, z}, {z, y, x}}})
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "single", Assignment: [][]int32{{x}}})

	if _, err := c.brokers[x].ControlledShutdown(testCtx(t), x); !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("controlled shutdown on a non-controller: %v", err)
	}
	if _, err := ctrl.ControlledShutdown(testCtx(t), 42); !errors.Is(err, controller.ErrBrokerNotAvailable) {
		t.Fatalf("controlled shutdown of an unknown broker: %v", err)
	}
	remaining, err := ctrl.ControlledShutdown(testCtx(t), x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []controller.TopicPartition{{Topic: "single", Partition: 0}}; !slices.Equal(remaining, want) {
		t.Fatalf("still led by the broker: %v, want %v (the single-replica partition)", remaining, want)
	}
	c.everyBroker("leadership and ISRs moved off the stopping broker", func(b *testBroker) error {
		topic, ok := b.Topic("t")
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
	res, err := ctrl.ElectLeaders(testCtx(t), controller.PreferredElection, []controller.TopicPartition{{Topic: "t", Partition: 0}})
	if err != nil || !errors.Is(res[controller.TopicPartition{Topic: "t", Partition: 0}], controller.ErrPreferredLeaderNotAvailable) {
		t.Fatalf("preferred election for a stopping broker: %v %v", res, err)
	}
}

func TestPreferredElectionRestoresThePreferredLeader(t *testing.T) {
	c := newCluster(t, 3)
	ctrl := c.controller()
	a := c.others(ctrl.cfg.Self.ID)[0].cfg.Self.ID
	b := c.others(ctrl.cfg.Self.ID)[1].cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, b, ctrl.cfg.Self.ID}}})
	tp := controller.TopicPartition{Topic: "t", Partition: 0}

	res, err := ctrl.ElectLeaders(testCtx(t), controller.PreferredElection, []controller.TopicPartition{tp, {Topic: "t", Partition: 9}, {Topic: "nope", Partition: 0}})
	if err != nil || !errors.Is(res[tp], controller.ErrElectionNotNeeded) || !errors.Is(res[controller.TopicPartition{Topic: "t", Partition: 9}], controller.ErrUnknownTopic) || !errors.Is(res[controller.TopicPartition{Topic: "nope", Partition: 0}], controller.ErrUnknownTopic) {
		t.Fatalf("elections: %v %v", res, err)
	}
	if res, err := ctrl.ElectLeaders(testCtx(t), controller.UncleanElection, []controller.TopicPartition{tp}); err != nil || !errors.Is(res[tp], controller.ErrElectionNotNeeded) {
		t.Fatalf("unclean election with a live leader: %v %v", res, err)
	}
	if _, err := c.brokers[a].ElectLeaders(testCtx(t), controller.PreferredElection, nil); !errors.Is(err, controller.ErrNotController) {
		t.Fatalf("election on a non-controller: %v", err)
	}

	c.kill(a)
	checkFor(t, 10*time.Second, "b leads", func() error {
		if p, _ := partitionOf(ctrl, "t", 0); p.Leader != b {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	c.start(a)
	checkFor(t, 10*time.Second, "a is back", func() error {
		if len(ctrl.Brokers()) != 3 {
			return errors.New("not yet")
		}
		return nil
	})
	res, err = ctrl.ElectLeaders(testCtx(t), controller.PreferredElection, []controller.TopicPartition{tp})
	if err != nil || !errors.Is(res[tp], controller.ErrPreferredLeaderNotAvailable) {
		t.Fatalf("preferred replica out of sync: %v %v", res, err)
	}
	// b, the leader, takes a back into the ISR once it caught up.
	p, _ := partitionOf(c.brokers[b], "t", 0)
	if _, err := c.brokers[b].AlterPartition(testCtx(t), "t", 0, p.LeaderEpoch, p.PartitionEpoch, append(slices.Clone(p.ISR), a)); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, "the controller sees a in sync", func() error {
		if p, _ := partitionOf(ctrl, "t", 0); !slices.Contains(p.ISR, a) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	res, err = ctrl.ElectLeaders(testCtx(t), controller.PreferredElection, nil)
	if err != nil || res[tp] != nil {
		t.Fatalf("preferred election: %v %v", res, err)
	}
	if p, _ := partitionOf(ctrl, "t", 0); p.Leader != a || p.LeaderEpoch != 2 {
		t.Fatalf("after the election the controller's own view shows %+v", p)
	}
}

func TestUncleanElectionElectsAnOutOfSyncReplica(t *testing.T) {
	c := newCluster(t, 3)
	ctrl := c.controller()
	a := c.others(ctrl.cfg.Self.ID)[0].cfg.Self.ID
	b := c.others(ctrl.cfg.Self.ID)[1].cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "api", Assignment: [][]int32{{a, b}}})
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "cfg", Assignment: [][]int32{{a, b}}})
	for _, topic := range []string{"api", "cfg"} {
		p, _ := partitionOf(c.brokers[a], topic, 0)
		if _, err := c.brokers[a].AlterPartition(testCtx(t), topic, 0, p.LeaderEpoch, p.PartitionEpoch, []int32{a}); err != nil {
			t.Fatal(err)
		}
	}
	c.kill(a)
	checkFor(t, 10*time.Second, "both partitions offline", func() error {
		for _, topic := range []string{"api", "cfg"} {
			if p, _ := partitionOf(ctrl, topic, 0); p.Leader != -1 || !slices.Equal(p.ISR, []int32{a}) {
				return fmt.Errorf("%s %+v", topic, p)
			}
		}
		return nil
	})
	res, err := ctrl.ElectLeaders(testCtx(t), controller.UncleanElection, []controller.TopicPartition{{Topic: "api", Partition: 0}})
	if err != nil || res[controller.TopicPartition{Topic: "api", Partition: 0}] != nil {
		t.Fatalf("unclean election: %v %v", res, err)
	}
	if p, _ := partitionOf(ctrl, "api", 0); p.Leader != b || !slices.Equal(p.ISR, []int32{b}) {
		t.Fatalf("after the unclean election %+v", p)
	}
	// The topic config turns unclean elections on: the controller elects.
	if err := c.brokers[b].SetTopicConfigs(testCtx(t), "cfg", map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("unclean election by config", func(br *testBroker) error {
		if p, _ := partitionOf(br, "cfg", 0); p.Leader != b || !slices.Equal(p.ISR, []int32{b}) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
}

func TestAutoLeaderRebalanceMovesLeadershipBackToPreferredReplicas(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) {
		cfg.AutoLeaderRebalance = true
		cfg.LeaderImbalanceCheckInterval = 200 * time.Millisecond
	})
	ctrl := c.controller()
	a := c.others(ctrl.cfg.Self.ID)[0].cfg.Self.ID
	z := ctrl.cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{a, z}, {a, z}, {z, a}}})
	c.kill(a)
	checkFor(t, 10*time.Second, "z leads everything", func() error {
		topic, _ := ctrl.Topic("t")
		for _, p := range topic.Partitions {
			if p.Leader != z {
				return fmt.Errorf("%+v", p)
			}
		}
		return nil
	})
	c.start(a)
	for p := int32(0); p < 2; p++ {
		cur, _ := partitionOf(ctrl, "t", p)
		if _, err := ctrl.AlterPartition(testCtx(t), "t", p, cur.LeaderEpoch, cur.PartitionEpoch, []int32{z, a}); err != nil {
			t.Fatal(err)
		}
	}
	c.everyBroker("preferred leaders restored without a request", func(b *testBroker) error {
		topic, _ := b.Topic("t")
		for _, p := range topic.Partitions {
			if p.Leader != p.Replicas[0] {
				return fmt.Errorf("%+v", p)
			}
		}
		return nil
	})
}

func TestTopicDeletionCompletesThroughTheController(t *testing.T) {
	c := newCluster(t, 3)
	b := c.nonController()
	created := createTopic(t, b, controller.CreateTopicRequest{Name: "doomed", Partitions: 4, ReplicationFactor: 2, Configs: map[string]string{"cleanup.policy": "compact"}})
	c.seen("doomed", 4)
	recs := map[int32]*recorder{}
	for id, br := range c.brokers {
		recs[id] = record(t, br)
	}
	if err := b.DeleteTopic(testCtx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Topic("doomed"); ok {
		t.Fatal("topic still shown after DeleteTopic returned")
	}
	raw := c.raw()
	for _, p := range []string{"/brokers/topics/doomed", "/config/topics/doomed", "/admin/delete_topics/doomed"} {
		if ok, _, err := raw.exists(p); ok || err != nil {
			t.Fatalf("%s still exists (%v)", p, err)
		}
	}
	c.everyBroker("TopicDeleted everywhere", func(br *testBroker) error {
		if _, ok := br.Topic("doomed"); ok {
			return errors.New("still shown")
		}
		if _, ok := br.TopicByID(created.ID); ok {
			return errors.New("still shown by id")
		}
		return recs[br.cfg.Self.ID].has(controller.Change{Kind: controller.TopicDeleted, Topic: "doomed"})
	})
	if err := b.DeleteTopic(testCtx(t), "doomed"); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Fatalf("deleting a deleted topic: %v", err)
	}
	again := createTopic(t, b, controller.CreateTopicRequest{Name: "doomed", Partitions: 1, ReplicationFactor: 1})
	if again.ID == created.ID || again.Configs["cleanup.policy"] != "" {
		t.Fatalf("recreated topic %+v", again)
	}
}

func TestCreatePartitionsAddsPartitionsThroughTheController(t *testing.T) {
	c := newCluster(t, 3)
	b := c.nonController()
	createTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 2, ReplicationFactor: 2})
	c.seen("t", 2)
	rec := record(t, c.brokers[1])
	if err := b.CreatePartitions(testCtx(t), "t", 5, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Topic("t"); len(got.Partitions) != 5 {
		t.Fatalf("%d partitions right after CreatePartitions", len(got.Partitions))
	}
	c.everyBroker("five partitions with leaders", func(br *testBroker) error {
		topic, _ := br.Topic("t")
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
	checkFor(t, 5*time.Second, "PartitionsCreated", func() error { return rec.has(controller.Change{Kind: controller.PartitionsCreated, Topic: "t"}) })
	if err := b.CreatePartitions(testCtx(t), "t", 7, [][]int32{{3, 1}, {1, 2}}, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := partitionOf(b, "t", 5); !slices.Equal(p.Replicas, []int32{3, 1}) || p.Leader != 3 {
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
		if err := b.CreatePartitions(testCtx(t), "t", tc.total, tc.assignment, false); !errors.Is(err, tc.want) {
			t.Errorf("CreatePartitions(%d, %v) = %v, want %v", tc.total, tc.assignment, err, tc.want)
		}
	}
	if err := b.CreatePartitions(testCtx(t), "nope", 3, nil, false); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}
	if err := b.CreatePartitions(testCtx(t), "t", 10, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Topic("t"); len(got.Partitions) != 7 {
		t.Fatalf("validate-only added partitions: %d", len(got.Partitions))
	}
}

func TestConfigsReachEveryBroker(t *testing.T) {
	c := newCluster(t, 3)
	createTopic(t, c.brokers[1], controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	c.seen("t", 1)
	rec := record(t, c.brokers[3])
	if err := c.brokers[1].SetTopicConfigs(testCtx(t), "t", map[string]string{"retention.ms": "5"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.brokers[1].Topic("t"); got.Configs["retention.ms"] != "5" {
		t.Fatalf("the writer's own view: %v", got.Configs)
	}
	if err := c.brokers[2].SetBrokerConfigs(testCtx(t), -1, map[string]string{"log.retention.ms": "7"}); err != nil {
		t.Fatal(err)
	}
	if err := c.brokers[2].SetBrokerConfigs(testCtx(t), 2, map[string]string{"log.cleaner.threads": "2"}); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("configs everywhere", func(b *testBroker) error {
		topic, _ := b.Topic("t")
		if topic.Configs["retention.ms"] != "5" || b.BrokerConfigs(-1)["log.retention.ms"] != "7" || b.BrokerConfigs(2)["log.cleaner.threads"] != "2" || len(b.BrokerConfigs(1)) != 0 {
			return fmt.Errorf("topic %v, default %v, broker 2 %v", topic.Configs, b.BrokerConfigs(-1), b.BrokerConfigs(2))
		}
		return nil
	})
	checkFor(t, 5*time.Second, "config changes delivered", func() error {
		for _, want := range []controller.Change{{Kind: controller.TopicConfigChanged, Topic: "t"}, {Kind: controller.BrokerConfigChanged, BrokerID: -1}, {Kind: controller.BrokerConfigChanged, BrokerID: 2}} {
			if err := rec.has(want); err != nil {
				return err
			}
		}
		return nil
	})
	raw := c.raw()
	if data, _, _ := raw.get("/config/brokers/<default>"); string(data) != `{"version":1,"config":{"log.retention.ms":"7"}}` {
		t.Fatalf("default broker config znode %s", data)
	}
	changes, _ := raw.children("/config/changes")
	if len(changes) != 3 {
		t.Fatalf("config change notifications %v", changes)
	}
	data, _, _ := raw.get("/config/changes/" + slices.Min(changes))
	if string(data) != `{"entity_path":"topics/t","version":2}` {
		t.Fatalf("notification %s", data)
	}
	if err := c.brokers[2].SetBrokerConfigs(testCtx(t), -1, nil); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("default configs cleared", func(b *testBroker) error {
		if len(b.BrokerConfigs(-1)) != 0 {
			return fmt.Errorf("%v", b.BrokerConfigs(-1))
		}
		return nil
	})
	if err := c.brokers[1].SetTopicConfigs(testCtx(t), "nope", nil); !errors.Is(err, controller.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
}

func TestProducerIDBlocksNeverOverlapAcrossStores(t *testing.T) {
	c := newCluster(t, 3)
	type block struct{ start, count int64 }
	var mu sync.Mutex
	var blocks []block
	var wg sync.WaitGroup
	for _, b := range c.others(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				count := int64(10 + i)
				start, err := b.AllocateProducerIDs(testCtx(t), count)
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
	c.brokers[1].Close()
	next := c.start(1)
	if start, err := next.AllocateProducerIDs(testCtx(t), 1); err != nil || start != last.start+last.count {
		t.Fatalf("after a restart: %d, %v; want %d", start, err, last.start+last.count)
	}
	data, _, _ := c.raw().get(zkProducerIDBlockPath)
	if !strings.Contains(string(data), `"block_start":"`) || !strings.Contains(string(data), `"broker":1`) {
		t.Fatalf("producer id block znode %s", data)
	}
}

func TestSessionExpiryReregistersTheBroker(t *testing.T) {
	c := newCluster(t, 3)
	victim := c.controller()
	id := victim.cfg.Self.ID
	others := c.others(id)
	oldSession := victim.session.Load()

	// The controller loses ZooKeeper for longer than its session.
	victim.net.cut()
	checkFor(t, 15*time.Second, "the others see the broker gone and elect a new controller", func() error {
		for _, b := range others {
			for _, br := range b.Brokers() {
				if br.ID == id {
					return fmt.Errorf("broker %d still sees %d", b.cfg.Self.ID, id)
				}
			}
			if ctl := b.ControllerID(); ctl == id || ctl < 0 {
				return fmt.Errorf("controller %d", ctl)
			}
		}
		return nil
	})
	checkFor(t, 10*time.Second, "the cut-off controller stops acting", func() error {
		if victim.ctrl.active.Load() {
			return errors.New("still acting as controller")
		}
		return nil
	})
	// Meanwhile the cluster goes on.
	createTopic(t, others[0], controller.CreateTopicRequest{Name: "during", Partitions: 2, ReplicationFactor: 2})
	if _, err := victim.CreateTopic(testCtx(t), controller.CreateTopicRequest{Name: "cut", Partitions: 1, ReplicationFactor: 1}); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("a write without ZooKeeper: %v, want ErrStoreUnavailable", err)
	}
	if got := victim.Brokers(); len(got) != 3 {
		t.Fatalf("the cut-off broker's view changed: %+v", got)
	}

	victim.net.heal()
	c.everyBroker("the broker is registered again and sees everything", func(b *testBroker) error {
		if len(b.Brokers()) != 3 {
			return fmt.Errorf("brokers %+v", b.Brokers())
		}
		if _, ok := b.Topic("during"); !ok {
			return errors.New("topic created during the outage missing")
		}
		return nil
	})
	if victim.session.Load() == oldSession {
		t.Fatal("registered in the expired session")
	}
	c.controller()
	// Its watches work in the new session.
	createTopic(t, others[1], controller.CreateTopicRequest{Name: "after", Partitions: 1, ReplicationFactor: 3})
	checkFor(t, 10*time.Second, "a topic created after the expiry reaches the broker", func() error {
		if _, ok := victim.Topic("after"); !ok {
			return errors.New("missing")
		}
		return nil
	})
}

func TestRestartedBrokerWaitsForItsOldRegistrationToExpire(t *testing.T) {
	c := newCluster(t, 2)
	c.kill(2)
	start := time.Now()
	c.start(2) // the old session still holds /brokers/ids/2
	if waited := time.Since(start); waited < testSessionTimeout/2 {
		t.Logf("registered after %v", waited)
	}
	c.everyBroker("both registered", func(b *testBroker) error {
		if len(b.Brokers()) != 2 {
			return fmt.Errorf("%+v", b.Brokers())
		}
		return nil
	})
}

func TestDuplicateBrokerIDFailsToStart(t *testing.T) {
	c := newCluster(t, 1)
	cfg := c.config(1)
	cfg.SessionTimeout = time.Second
	start := time.Now()
	_, err := c.open(cfg)
	if err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("second broker with id 1: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("gave up after %v", time.Since(start))
	}
}

func TestZooKeeperOutageKeepsTheViewAndFailsWrites(t *testing.T) {
	server := zktest.Start(t)
	c := newClusterOn(t, server, 2, func(cfg *Config) { cfg.SessionTimeout = 8 * time.Second })
	createTopic(t, c.brokers[1], controller.CreateTopicRequest{Name: "t", Partitions: 2, ReplicationFactor: 2})
	c.everyBroker("topic everywhere", func(b *testBroker) error {
		if topic, ok := b.Topic("t"); !ok || len(topic.Partitions) != 2 {
			return fmt.Errorf("%+v", topic)
		}
		return nil
	})
	server.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.brokers[2].SetTopicConfigs(ctx, "t", map[string]string{"retention.ms": "1"}); !errors.Is(err, controller.ErrStoreUnavailable) {
		t.Fatalf("write during the outage: %v", err)
	}
	for _, b := range c.brokers {
		if topic, ok := b.Topic("t"); !ok || len(topic.Partitions) != 2 || len(b.Brokers()) != 2 {
			t.Fatalf("view during the outage: %+v %v", topic, b.Brokers())
		}
	}
	server.Restart()
	checkFor(t, 20*time.Second, "writes work again", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return c.brokers[2].SetTopicConfigs(ctx, "t", map[string]string{"retention.ms": "1"})
	})
	c.everyBroker("the change everywhere", func(b *testBroker) error {
		if topic, _ := b.Topic("t"); topic.Configs["retention.ms"] != "1" {
			return fmt.Errorf("%v", topic.Configs)
		}
		return nil
	})
	c.controller()
}

// The store must hand out copies.
func TestSnapshotsAreCopies(t *testing.T) {
	c := newCluster(t, 1)
	b := c.brokers[1]
	createTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"a": "1"}})
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

func TestKafkaWrittenTopicWithoutIDGetsOne(t *testing.T) {
	c := newCluster(t, 2)
	raw := c.raw()
	// As written by Kafka's tools before topic IDs existed.
	if _, err := raw.create("/brokers/topics/legacy", []byte(`{"version":1,"partitions":{"0":[1,2],"1":[2,1]}}`), 0); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("legacy topic online with an ID", func(b *testBroker) error {
		topic, ok := b.Topic("legacy")
		if !ok || topic.ID.IsZero() || len(topic.Partitions) != 2 || topic.Partitions[1].Leader != 2 {
			return fmt.Errorf("%+v %v", topic, ok)
		}
		return nil
	})
}

func TestControllerReturnsAfterZooKeeperOutageLongerThanTheSession(t *testing.T) {
	server := zktest.Start(t)
	c := newClusterOn(t, server, 2)
	old := c.controller()
	server.Stop()
	checkFor(t, 3*testSessionTimeout, "the controller stops acting without ZooKeeper", func() error {
		if old.ctrl.active.Load() {
			return errors.New("still acting")
		}
		return nil
	})
	// A restarted ZooKeeper restores the sessions: the controller
	// znode is still there, held by a broker that no longer acts on it.
	server.Restart()
	c.controller()
	createTopic(t, c.brokers[2], controller.CreateTopicRequest{Name: "after", Partitions: 2, ReplicationFactor: 2})
}

func TestNewControllerFinishesWorkQueuedWhileThereWasNone(t *testing.T) {
	c := newCluster(t, 3)
	old := c.controller().cfg.Self.ID
	others := c.others(old)
	createTopic(t, others[0], controller.CreateTopicRequest{Name: "doomed", Partitions: 2, ReplicationFactor: 2})
	c.kill(old)
	// Until the dead controller's session expires nobody acts: the
	// creation and the deletion wait for the next controller.
	var wg sync.WaitGroup
	var created controller.Topic
	var createErr, deleteErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		created, createErr = others[0].CreateTopic(testCtx(t), controller.CreateTopicRequest{Name: "late", Partitions: 3, ReplicationFactor: 2})
	}()
	go func() {
		defer wg.Done()
		deleteErr = others[1].DeleteTopic(testCtx(t), "doomed")
	}()
	wg.Wait()
	if createErr != nil || deleteErr != nil {
		t.Fatalf("create: %v, delete: %v", createErr, deleteErr)
	}
	// The dead broker was still registered when the replicas were
	// placed, but it is not elected, nor in the ISR.
	for _, p := range created.Partitions {
		if p.Leader < 0 || p.Leader == old || slices.Contains(p.ISR, old) {
			t.Fatalf("partition %+v led by or in sync on the dead broker", p)
		}
	}
	c.everyBroker("work done", func(b *testBroker) error {
		if _, ok := b.Topic("doomed"); ok {
			return errors.New("doomed still there")
		}
		if topic, ok := b.Topic("late"); !ok || len(topic.Partitions) != 3 {
			return fmt.Errorf("late: %+v", topic)
		}
		return nil
	})
}

func TestLeaderThatRestartedUnseenGetsANewLeaderEpoch(t *testing.T) {
	c := newCluster(t, 2)
	k := c.controller().cfg.Self.ID
	l := c.others(k)[0].cfg.Self.ID
	createTopic(t, c.brokers[k], controller.CreateTopicRequest{Name: "t", Assignment: [][]int32{{l, k}}})
	c.seen("t", 1)
	// Both die; the leader comes back first and, alone, becomes the
	// controller: it never saw itself die, but its registration is newer
	// than the partition state, so its leadership is renewed with a new
	// epoch rather than carried over from its previous process.
	c.kill(k)
	c.kill(l)
	back := c.start(l)
	checkFor(t, 15*time.Second, "a new leader epoch for the restarted leader", func() error {
		p, err := partitionOf(back, "t", 0)
		if err != nil {
			return err
		}
		if p.Leader != l || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{l}) {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
}
