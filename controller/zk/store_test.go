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

func TestChrootIsCreatedWhenMissing(t *testing.T) {
	server := sharedZK(t)
	c := &testCluster{t: t, zk: server, connect: server.Addr + fmt.Sprintf("/nested-%d/deeper/samsa", chrootN.Add(1)), brokers: map[int32]*testBroker{}, tweak: func(*Config) {}}
	b := c.start(1)
	createTopic(t, b, controller.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	if ok, _, err := c.raw().exists("/brokers/topics/t/partitions/0/state"); !ok || err != nil {
		t.Fatalf("state under the chroot: %v %v", ok, err)
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

// A topic's partitions get their first states a hundred per ZooKeeper
// multi; a partition whose znodes are there already (written by an
// earlier controller, or by hand as Kafka's tools may) is written on its
// own, and every partition ends online on every broker.
func TestManyNewPartitionsGoOnlineInBatchesAndAroundExistingZnodes(t *testing.T) {
	c := newCluster(t, 2)
	const partitions = 2*statesPerMulti + 17
	assignment := make(map[string][]int32, partitions)
	for p := range partitions {
		assignment[fmt.Sprint(p)] = []int32{int32(p%2 + 1), int32((p+1)%2 + 1)}
	}
	raw := c.raw()
	data, err := json.Marshal(map[string]any{"version": 1, "partitions": assignment})
	if err != nil {
		t.Fatal(err)
	}
	// Partition 150's znode exists already (its state does not): the
	// batch holding it fails, and its partitions go one by one.
	if _, err := raw.multi(opCreate(zkTopicPath("wide"), data, 0), opCreate(zkPartitionsPath("wide"), nil, 0),
		opCreate(zkPartitionPath("wide", 150), nil, 0)); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("every partition of the wide topic online", func(b *testBroker) error {
		topic, ok := b.Topic("wide")
		if !ok || len(topic.Partitions) != partitions {
			return fmt.Errorf("topic %v with %d partitions", ok, len(topic.Partitions))
		}
		for p, st := range topic.Partitions {
			if want := int32(p%2 + 1); st.Leader != want || len(st.ISR) != 2 {
				return fmt.Errorf("partition %d: leader %d, ISR %v; want leader %d and both replicas", p, st.Leader, st.ISR, want)
			}
		}
		return nil
	})
}

// A controlled shutdown asked for a registration of a broker that has
// since ended (it restarted while the controller was busy with the
// request) is refused, STALE_BROKER_EPOCH as in Kafka (KIP-380), and one
// whose caller gave up before the controller came to it is not served:
// neither takes the restarted broker out of the ISRs it has rejoined.
func TestAControlledShutdownOfAnEarlierRegistrationIsRefused(t *testing.T) {
	c := newCluster(t, 2)
	ctrl := c.controller()
	other := c.others(ctrl.cfg.Self.ID)[0]
	id := other.cfg.Self.ID
	createTopic(t, ctrl, controller.CreateTopicRequest{Name: "orders", Partitions: 2, ReplicationFactor: 2})
	c.everyBroker("orders in sync on both brokers", func(b *testBroker) error {
		for p := range int32(2) {
			st, err := partitionOf(b, "orders", p)
			if err != nil {
				return err
			}
			if len(st.ISR) != 2 {
				return fmt.Errorf("partition %d ISR %v", p, st.ISR)
			}
		}
		return nil
	})
	ctrl.mu.RLock()
	epoch := ctrl.view.brokers[id].epoch
	ctrl.mu.RUnlock()

	_, err := ctrl.ctrl.call(testCtx(t), ctrlRequest{shutdown: true, brokerID: id, brokerEpoch: epoch - 1})
	if !errors.Is(err, controller.ErrStaleBrokerEpoch) {
		t.Fatalf("controlled shutdown of an earlier registration: %v, want ErrStaleBrokerEpoch", err)
	}
	gone, cancel := context.WithCancel(testCtx(t))
	cancel()
	if _, err := ctrl.ctrl.call(gone, ctrlRequest{shutdown: true, brokerID: id, brokerEpoch: epoch}); err == nil {
		t.Fatal("a controlled shutdown whose caller had left was served")
	}
	for p := range int32(2) {
		st, err := partitionOf(ctrl, "orders", p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(st.ISR, id) {
			t.Errorf("partition %d: broker %d left the ISR %v on a refused controlled shutdown", p, id, st.ISR)
		}
	}

	// The broker's own request, for its current registration, is served.
	if _, err := ctrl.ControlledShutdown(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	st, err := partitionOf(ctrl, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(st.ISR, id) {
		t.Errorf("after its controlled shutdown broker %d is still in the ISR %v", id, st.ISR)
	}
}
