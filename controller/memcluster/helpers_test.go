package memcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/storetest"
)

const (
	testSessionTimeout = 6 * time.Second
	testCheckInterval  = 30 * time.Second
)

// cluster is brokers on one Ensemble, on a clock that moves only when a
// test moves it.
type cluster struct {
	t      *testing.T
	e      *Ensemble
	clock  *ManualClock
	stores map[int32]*Store
}

func newCluster(t *testing.T, n int, tweak ...func(*Options)) *cluster {
	t.Helper()
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := Options{
		SessionTimeout:                     testSessionTimeout,
		LeaderImbalanceCheckInterval:       testCheckInterval,
		LeaderImbalancePerBrokerPercentage: 10,
		Now:                                clock.Now,
	}
	for _, f := range tweak {
		f(&opts)
	}
	c := &cluster{t: t, e: New(opts), clock: clock, stores: map[int32]*Store{}}
	t.Cleanup(c.e.Close)
	for id := int32(1); id <= int32(n); id++ {
		c.Start(id)
	}
	return c
}

// newScenarioCluster runs storetest's scenarios on the twin.
func newScenarioCluster(t *testing.T, n int, opts storetest.Options) storetest.Cluster {
	return newCluster(t, n, func(o *Options) { o.AutoLeaderRebalance = opts.AutoLeaderRebalance })
}

func (c *cluster) Store(id int32) controller.Store {
	if s := c.stores[id]; s != nil {
		return s
	}
	return nil
}

func (c *cluster) Running() []int32 { return slices.Sorted(maps.Keys(c.stores)) }

func (c *cluster) Controller() int32 {
	c.t.Helper()
	var id int32
	storetest.CheckFor(c.t, "one controller every broker agrees on", func() error {
		id = c.e.ControllerID()
		if id < 0 || c.stores[id] == nil {
			return fmt.Errorf("controller %d is not running", id)
		}
		for bid, s := range c.stores {
			if got := s.ControllerID(); got != id {
				return fmt.Errorf("broker %d sees controller %d, not %d", bid, got, id)
			}
		}
		return nil
	})
	return id
}

func (c *cluster) ControllerEpoch() int32 { return c.e.ControllerEpoch() }

// Kill is kill -9 with the session timing out at once (Expire).
func (c *cluster) Kill(id int32) {
	c.t.Helper()
	delete(c.stores, id)
	if err := c.e.Expire(id); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) Stop(id int32) {
	c.stores[id].Close()
	delete(c.stores, id)
}

func (c *cluster) Start(id int32) controller.Store {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), storetest.Wait)
	defer cancel()
	s, err := c.e.Join(ctx, storetest.Broker(id))
	if err != nil {
		c.t.Fatalf("start broker %d: %v", id, err)
	}
	c.stores[id] = s
	c.t.Cleanup(func() { s.Close() })
	return s
}

func (c *cluster) AfterLeaderImbalanceCheck() { c.pass(testCheckInterval) }

// pass moves the clock by d and lets the ensemble look at it.
func (c *cluster) pass(d time.Duration) {
	c.clock.Advance(d)
	c.e.Tick()
}

// registered reports (as an error) whether s lists broker id as wanted.
func registered(s controller.Store, id int32, want bool) error {
	got := slices.ContainsFunc(s.Brokers(), func(b controller.Broker) bool { return b.ID == id })
	if got != want {
		return fmt.Errorf("broker %d registered: %v, want %v (brokers %+v)", id, got, want, s.Brokers())
	}
	return nil
}

func partition(t *testing.T, s controller.Store, topic string, p int32) controller.Partition {
	t.Helper()
	got, err := storetest.PartitionOf(s, topic, p)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var errStillWaiting = errors.New("still waiting")
