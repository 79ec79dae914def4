// Package storetest holds the scenarios every clustered controller.Store
// must pass, whatever holds the metadata: package controller/zk runs them
// against a real ZooKeeper, package controller/memcluster against its
// in-memory twin, so that the twin is shown to behave as ZooKeeper mode
// does. Each scenario is a specification of one behaviour, written
// against Cluster only; a store's own tests add what only it has (the
// ZooKeeper layout, say) through Run's extras, on the same cluster.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

// Cluster is brokers sharing one metadata ensemble, each with its Store,
// as a store's test harness runs them. Brokers are numbered from 1 and
// registered as Broker(id).
type Cluster interface {
	// Store is broker id's Store; nil when the broker is not running.
	Store(id int32) controller.Store
	// Running lists the running brokers by ID.
	Running() []int32
	// Controller waits until exactly one running broker acts as the
	// controller and every running broker's Store names it, and returns
	// it.
	Controller() int32
	// ControllerEpoch is the acting controller's epoch.
	ControllerEpoch() int32
	// Kill makes broker id die as kill -9 does. The others see it go when
	// its session expires: a session timeout later in ZooKeeper, at once
	// in the twin; scenarios wait for it with CheckFor.
	Kill(id int32)
	// Stop shuts broker id down cleanly (Store.Close).
	Stop(id int32)
	// Start starts broker id, or restarts it from where it stopped, and
	// returns its Store.
	Start(id int32) controller.Store
	// AfterLeaderImbalanceCheck lets the controller's next leader
	// imbalance check run (Options.AutoLeaderRebalance).
	AfterLeaderImbalanceCheck()
}

// Options are the cluster settings a scenario needs.
type Options struct {
	// AutoLeaderRebalance turns auto.leader.rebalance.enable on, with
	// leader.imbalance.per.broker.percentage at Kafka's 10.
	AutoLeaderRebalance bool
}

// Broker is how broker id registers in a Cluster.
func Broker(id int32) controller.Broker {
	return controller.Broker{ID: id, Host: "127.0.0.1", Port: 9090 + id,
		Endpoints: controller.JoinEndpoints([]string{"PLAINTEXT"}, []string{"127.0.0.1"}, []int32{9090 + id})}
}

// Scenario is one behaviour every clustered store shows.
type Scenario struct {
	Name    string
	Brokers int
	Options Options
	Run     func(t *testing.T, c Cluster)
}

// Run runs every scenario in a subtest of its own, each on a new cluster
// of newCluster's. extra adds checks of a store's own, by scenario name,
// run on the scenario's cluster after it passed.
func Run(t *testing.T, newCluster func(t *testing.T, brokers int, opts Options) Cluster, extra map[string]func(t *testing.T, c Cluster)) {
	known := map[string]bool{}
	for _, sc := range Scenarios {
		known[sc.Name] = true
	}
	for name := range extra {
		if !known[name] {
			t.Fatalf("extra checks for %q, which is no scenario", name)
		}
	}
	for _, sc := range Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			c := newCluster(t, sc.Brokers, sc.Options)
			sc.Run(t, c)
			if f := extra[sc.Name]; f != nil && !t.Failed() {
				f(t, c)
			}
		})
	}
}

// Wait bounds every wait of a scenario.
const Wait = 20 * time.Second

// CheckFor polls fn until it returns nil, or fails the test after Wait.
func CheckFor(t testing.TB, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v: %v", what, Wait, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// EveryBroker checks fn on every running broker until it holds on all.
func EveryBroker(t testing.TB, c Cluster, what string, fn func(id int32, s controller.Store) error) {
	t.Helper()
	CheckFor(t, what, func() error {
		for _, id := range c.Running() {
			if err := fn(id, c.Store(id)); err != nil {
				return fmt.Errorf("broker %d: %w", id, err)
			}
		}
		return nil
	})
}

// Others lists the running brokers other than id.
func Others(c Cluster, id int32) []int32 {
	return slices.DeleteFunc(c.Running(), func(b int32) bool { return b == id })
}

// PartitionOf is a Store's view of a partition.
func PartitionOf(s controller.Store, topic string, p int32) (controller.Partition, error) {
	t, ok := s.Topic(topic)
	if !ok {
		return controller.Partition{}, fmt.Errorf("topic %s unknown", topic)
	}
	if int(p) >= len(t.Partitions) {
		return controller.Partition{}, fmt.Errorf("topic %s has %d partitions", topic, len(t.Partitions))
	}
	return t.Partitions[p], nil
}

// Ctx is a context for one call, ending with the test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	t.Cleanup(cancel)
	return ctx
}

// CreateTopic creates a topic or fails the test.
func CreateTopic(t testing.TB, s controller.Store, req controller.CreateTopicRequest) controller.Topic {
	t.Helper()
	topic, err := s.CreateTopic(Ctx(t), req)
	if err != nil {
		t.Fatalf("create topic %s: %v", req.Name, err)
	}
	return topic
}

// Seen waits until every running broker shows the topic with n
// partitions.
func Seen(t testing.TB, c Cluster, topic string, n int) {
	t.Helper()
	EveryBroker(t, c, "topic "+topic+" everywhere", func(_ int32, s controller.Store) error {
		if got, ok := s.Topic(topic); !ok || len(got.Partitions) != n {
			return fmt.Errorf("%+v", got)
		}
		return nil
	})
}

// Recorder collects the changes a Store delivers.
type Recorder struct {
	mu      sync.Mutex
	changes []controller.Change
}

// Record subscribes to s until the test ends.
func Record(t testing.TB, s controller.Store) *Recorder {
	r := &Recorder{}
	cancel := s.Subscribe(func(c controller.Change) {
		r.mu.Lock()
		r.changes = append(r.changes, c)
		r.mu.Unlock()
	})
	t.Cleanup(cancel)
	return r
}

// Has reports (as an error) whether want was delivered.
func (r *Recorder) Has(want controller.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.changes, want) {
		return nil
	}
	return fmt.Errorf("no %+v among %+v", want, r.changes)
}

// Changes returns what was delivered so far.
func (r *Recorder) Changes() []controller.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}
