package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	plog "github.com/samsa-io/samsa/log"
)

// The one-liner: a single broker on a free loopback port, data in a
// temporary directory that Close removes.
func TestAZeroConfigStartsOneBrokerThatServesAKafkaClient(t *testing.T) {
	c, err := embedded.Start(context.Background(), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	seeds := c.Seeds()
	if len(seeds) != 1 {
		t.Fatalf("seeds %v, want one broker", seeds)
	}
	if host, port, _ := net.SplitHostPort(seeds[0]); host != "127.0.0.1" || port == "0" {
		t.Fatalf("seed %s, want a bound port on 127.0.0.1", seeds[0])
	}
	if got := c.ControllerID(); got != 1 {
		t.Errorf("controller %d, want the broker itself (1)", got)
	}
	cl := newClient(t, c, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("greetings"))
	produce(t, cl, "greetings", 0, []string{"hello, samsa"})
	if got := valuesOf(readAll(t, c, "greetings")[0]); !slices.Equal(got, []string{"hello, samsa"}) {
		t.Fatalf("read %v", got)
	}
	cl.Close()
	dir := c.Dir()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the temporary directory %s is still there after Close: %v", dir, err)
	}
	if err := c.Kill(1); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Kill after Close: %v, want ErrClosed", err)
	}
}

// A single broker keeps its metadata with its data: a later Start from
// the same Dir finds its topics and records.
func TestASingleBrokerStartedAgainFromItsDirFindsItsData(t *testing.T) {
	dir := t.TempDir()
	c, err := embedded.Start(testContext(t), embedded.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, c, "kept", 1, 1, nil)
	want := values("kept", 20)
	produce(t, producer(t, c), "kept", 0, want)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "broker-1")); err != nil {
		t.Fatalf("Close removed a given Dir's data: %v", err)
	}
	c = startCluster(t, embedded.Config{Dir: dir})
	if got := valuesOf(readAll(t, c, "kept")[0]); !slices.Equal(got, want) {
		t.Fatalf("after a new Start from the same Dir read %v, want %v", got, want)
	}
}

// A cluster's metadata lives in its ensemble and ends with Close: a new
// cluster refuses the old one's data rather than deleting what it does
// not know.
func TestAClustersDirCannotBeStartedAgain(t *testing.T) {
	dir := t.TempDir()
	c, err := embedded.Start(testContext(t), embedded.Config{Brokers: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, c, "gone", 1, 2, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = embedded.Start(testContext(t), embedded.Config{Brokers: 2, Dir: dir})
	if !errors.Is(err, plog.ErrForeignLogDir) {
		t.Fatalf("a second cluster on the first one's Dir: %v, want ErrForeignLogDir", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "broker-1", "gone-0")); err != nil {
		t.Fatalf("the refused start touched the data: %v", err)
	}
}

// Overrides reach every broker, BrokerOverrides one, and the keys the
// cluster owns are refused.
func TestOverridesReachEveryBrokerAndBrokerOverridesOne(t *testing.T) {
	c := startCluster(t, embedded.Config{
		Brokers:         3,
		Overrides:       map[string]string{"num.partitions": "7", "broker.rack": "a"},
		BrokerOverrides: map[int32]map[string]string{2: {"broker.rack": "b"}},
	})
	for _, b := range c.Brokers() {
		cfg := b.Node().Broker().EffectiveConfig()
		wantRack := "a"
		if b.ID() == 2 {
			wantRack = "b"
		}
		if cfg.NumPartitions != 7 || cfg.Rack != wantRack || cfg.BrokerID != b.ID() {
			t.Errorf("broker %d: num.partitions %d, broker.rack %q, broker.id %d", b.ID(), cfg.NumPartitions, cfg.Rack, cfg.BrokerID)
		}
	}
	for _, bad := range []embedded.Config{
		{Overrides: map[string]string{"broker.id": "5"}},
		{Overrides: map[string]string{"zookeeper.connect": "127.0.0.1:2181"}},
		{Brokers: 2, BrokerOverrides: map[int32]map[string]string{3: {"num.partitions": "1"}}},
		{Overrides: map[string]string{"num.partitions": "many"}},
	} {
		if c, err := embedded.Start(testContext(t), bad); err == nil {
			c.Close()
			t.Errorf("Start(%+v) succeeded", bad)
		}
	}
}

// Nothing is global: two clusters run side by side, each with its own
// brokers, ports, topics and controller.
func TestTwoClustersRunInOneProcess(t *testing.T) {
	a := startCluster(t, embedded.Config{Brokers: 2})
	b := startCluster(t, embedded.Config{Brokers: 2})
	if a.ClusterID() == b.ClusterID() || slices.ContainsFunc(a.Seeds(), func(s string) bool { return slices.Contains(b.Seeds(), s) }) {
		t.Fatalf("clusters share an ID or an address: %s %v, %s %v", a.ClusterID(), a.Seeds(), b.ClusterID(), b.Seeds())
	}
	createTopic(t, a, "only-in-a", 1, 2, nil)
	produce(t, producer(t, a), "only-in-a", 0, []string{"a"})
	if _, ok := b.Partition("only-in-a", 0); ok {
		t.Fatal("cluster b knows cluster a's topic")
	}
	if err := a.Kill(a.ControllerID()); err != nil {
		t.Fatal(err)
	}
	if b.ControllerID() != 1 || len(b.Seeds()) != 2 {
		t.Fatalf("killing cluster a's controller changed cluster b: controller %d, seeds %v", b.ControllerID(), b.Seeds())
	}
}

// A single broker has the fault controls too: killed, it recovers its
// logs from its data on Restart, with the same address.
func TestASingleBrokerKilledAndRestartedKeepsItsAddressAndRecords(t *testing.T) {
	c := startCluster(t, embedded.Config{})
	createTopic(t, c, "crash", 1, 1, nil)
	want := values("crash", 50)
	produce(t, producer(t, c), "crash", 0, want)
	addr := c.Broker(1).Addr()
	if err := c.Kill(1); err != nil {
		t.Fatal(err)
	}
	if len(c.Seeds()) != 0 || c.Broker(1).Running() {
		t.Fatalf("after Kill: seeds %v, running %v", c.Seeds(), c.Broker(1).Running())
	}
	if err := c.Kill(1); !errors.Is(err, embedded.ErrNotRunning) {
		t.Fatalf("a second Kill: %v, want ErrNotRunning", err)
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(1); !errors.Is(err, embedded.ErrRunning) {
		t.Fatalf("Restart of a running broker: %v, want ErrRunning", err)
	}
	if got := c.Broker(1).Addr(); got != addr {
		t.Fatalf("restarted on %s, was %s", got, addr)
	}
	if got := valuesOf(readAll(t, c, "crash")[0]); !slices.Equal(got, want) {
		t.Fatalf("after Kill and Restart read %v, want %v", got, want)
	}
	if err := c.Kill(9); !errors.Is(err, embedded.ErrUnknownBroker) {
		t.Fatalf("Kill(9): %v, want ErrUnknownBroker", err)
	}
}

// ClusterStore runs one broker as a cluster of one on the ensemble: it
// has a session to lose. Paused past it, the cluster has no controller
// (and, as in ZooKeeper mode, nobody to rewrite its partitions' states);
// resumed, it registers again and leads them again. A cluster closes
// with its broker paused and isolated.
func TestASingleBrokerOnTheClusterStoreLosesItsSessionWhenPaused(t *testing.T) {
	c := startCluster(t, embedded.Config{ClusterStore: true, Overrides: map[string]string{"zookeeper.session.timeout.ms": "200"}})
	createTopic(t, c, "alone", 1, 1, nil)
	produce(t, producer(t, c), "alone", 0, []string{"before"})
	if err := c.Pause(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(1); !errors.Is(err, embedded.ErrPaused) {
		t.Fatalf("a second Pause: %v, want ErrPaused", err)
	}
	if err := c.Stop(1); !errors.Is(err, embedded.ErrPaused) {
		t.Fatalf("Stop of a paused broker: %v, want ErrPaused", err)
	}
	checkFor(t, "the paused broker's session expires", func() error {
		if id := c.ControllerID(); id != -1 {
			return fmt.Errorf("controller %d", id)
		}
		return nil
	})
	epoch := func() int32 { p, _ := c.Partition("alone", 0); return p.LeaderEpoch }
	before := epoch()
	if err := c.Resume(1); err != nil {
		t.Fatal(err)
	}
	if l, err := c.WaitForLeader(testContext(t), "alone", 0); err != nil || l != 1 || c.ControllerID() != 1 {
		t.Fatalf("after Resume: leader %d (%v), controller %d", l, err, c.ControllerID())
	}
	if after := epoch(); after <= before {
		t.Errorf("leader epoch %d after the broker registered again, was %d: a broker back from an expired session leads in a new epoch", after, before)
	}
	produce(t, producer(t, c), "alone", 0, []string{"after"})
	if got := valuesOf(readAll(t, c, "alone")[0]); !slices.Equal(got, []string{"before", "after"}) {
		t.Fatalf("read %v", got)
	}
	if err := c.Isolate(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(1); err != nil {
		t.Fatal(err)
	}
}
