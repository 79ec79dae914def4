package zk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/storetest"
	"github.com/samsa-io/samsa/controller/zktest"
)

// Tests run several Stores in one process, each standing for a broker,
// against a real ZooKeeper. They share one server, each test in its own
// chroot; tests that stop ZooKeeper start their own.

const testSessionTimeout = 2 * time.Second

var (
	zkOnce   sync.Once
	zkShared *zktest.Server
	zkErr    error
	zkDir    string
	chrootN  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if zkShared != nil {
		zkShared.Stop()
	}
	if zkDir != "" {
		os.RemoveAll(zkDir)
	}
	os.Exit(code)
}

func sharedZK(t testing.TB) *zktest.Server {
	t.Helper()
	zkOnce.Do(func() {
		if zkDir, zkErr = os.MkdirTemp("", "samsa-zk-"); zkErr == nil {
			zkShared, zkErr = zktest.Launch(zkDir)
		}
	})
	if errors.Is(zkErr, zktest.ErrUnavailable) {
		zktest.Unavailable(t, zkErr)
	}
	if zkErr != nil {
		t.Fatal(zkErr)
	}
	return zkShared
}

// faultNet is a store's network to ZooKeeper, which a test can cut: the
// connections drop and no new one is made until it heals.
type faultNet struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (f *faultNet) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("network cut by the test")
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err == nil {
		f.conns = append(f.conns, c)
	}
	return c, err
}

func (f *faultNet) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func (f *faultNet) heal() {
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
}

// testCluster is brokers sharing a ZooKeeper chroot.
type testCluster struct {
	t       *testing.T
	zk      *zktest.Server
	connect string
	brokers map[int32]*testBroker
	tweak   func(*Config)
}

type testBroker struct {
	*Store
	net *faultNet
}

var unsafeChroot = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// newCluster starts brokers 1..n on the shared ZooKeeper.
func newCluster(t *testing.T, n int, tweak ...func(*Config)) *testCluster {
	t.Helper()
	return newClusterOn(t, sharedZK(t), n, tweak...)
}

func newClusterOn(t *testing.T, server *zktest.Server, n int, tweak ...func(*Config)) *testCluster {
	t.Helper()
	chroot := fmt.Sprintf("/%s-%d", unsafeChroot.ReplaceAllString(t.Name(), "_"), chrootN.Add(1))
	c := &testCluster{t: t, zk: server, connect: server.Addr + chroot, brokers: map[int32]*testBroker{}}
	c.tweak = func(cfg *Config) {
		for _, f := range tweak {
			f(cfg)
		}
	}
	for id := int32(1); id <= int32(n); id++ {
		c.start(id)
	}
	return c
}

func (c *testCluster) config(id int32) Config {
	cfg := Config{
		Connect:                            c.connect,
		SessionTimeout:                     testSessionTimeout,
		ConnectionTimeout:                  10 * time.Second,
		Self:                               storetest.Broker(id),
		Listeners:                          []Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9090 + id, SecurityProtocol: "PLAINTEXT"}},
		Logger:                             testLogger(c.t).With().Int32("broker", id).Logger(),
		LeaderImbalancePerBrokerPercentage: 10,
	}
	c.tweak(&cfg)
	return cfg
}

func testLogger(t *testing.T) zerolog.Logger {
	if os.Getenv("SAMSA_TEST_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

// start starts (or restarts) broker id.
func (c *testCluster) start(id int32) *testBroker {
	c.t.Helper()
	b, err := c.open(c.config(id))
	if err != nil {
		c.t.Fatalf("start broker %d: %v", id, err)
	}
	return b
}

func (c *testCluster) open(cfg Config) (*testBroker, error) {
	fn := &faultNet{}
	cfg.dial = fn.dial
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := NewStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b := &testBroker{Store: s, net: fn}
	c.brokers[cfg.Self.ID] = b
	c.t.Cleanup(func() { s.Close() })
	return b, nil
}

// kill makes broker id die as a killed process does: its connection to
// ZooKeeper drops without closing the session, which expires a session
// timeout later.
func (c *testCluster) kill(id int32) {
	c.t.Helper()
	b := c.brokers[id]
	delete(c.brokers, id)
	b.net.cut()
	b.closeOnce.Do(func() {
		close(b.stop)
		go b.zk.conn.Close() // cannot reach ZooKeeper: the session stays
		b.wg.Wait()
		b.subs.Close()
	})
}

// others returns the live brokers other than id.
func (c *testCluster) others(id int32) []*testBroker {
	var out []*testBroker
	for _, bid := range slices.Sorted(maps.Keys(c.brokers)) {
		if bid != id {
			out = append(out, c.brokers[bid])
		}
	}
	return out
}

// controller waits until exactly one live broker acts as controller and
// every live broker agrees on it, and returns it.
func (c *testCluster) controller() *testBroker {
	c.t.Helper()
	var ctrl *testBroker
	checkFor(c.t, 20*time.Second, "one controller every broker agrees on", func() error {
		ctrl = nil
		for id, b := range c.brokers {
			if b.ctrl.active.Load() {
				if ctrl != nil {
					return fmt.Errorf("brokers %d and %d both act as controller", ctrl.cfg.Self.ID, id)
				}
				ctrl = b
			}
		}
		if ctrl == nil {
			return errors.New("no controller")
		}
		for id, b := range c.brokers {
			if got := b.ControllerID(); got != ctrl.cfg.Self.ID {
				return fmt.Errorf("broker %d sees controller %d, not %d", id, got, ctrl.cfg.Self.ID)
			}
		}
		return nil
	})
	return ctrl
}

// nonController returns a live broker that is not the controller.
func (c *testCluster) nonController() *testBroker {
	ctrl := c.controller()
	return c.others(ctrl.cfg.Self.ID)[0]
}

// raw is a plain ZooKeeper connection in the cluster's chroot, for
// looking at znodes and for playing other actors.
func (c *testCluster) raw() *zkConn {
	c.t.Helper()
	conn, _, err := gozk.Connect([]string{c.zk.Addr}, 10*time.Second, gozk.WithLogger(zkLogger{zerolog.Nop()}))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(conn.Close)
	_, root, _ := parseConnect(c.connect)
	z := &zkConn{conn: conn, root: root}
	checkFor(c.t, 10*time.Second, "raw connection", func() error {
		if conn.State() != gozk.StateHasSession {
			return errors.New(conn.State().String())
		}
		return nil
	})
	return z
}

// everyBroker checks fn on every live broker until it holds on all.
func (c *testCluster) everyBroker(what string, fn func(b *testBroker) error) {
	c.t.Helper()
	checkFor(c.t, 20*time.Second, what, func() error {
		for _, id := range slices.Sorted(maps.Keys(c.brokers)) {
			if err := fn(c.brokers[id]); err != nil {
				return fmt.Errorf("broker %d: %w", id, err)
			}
		}
		return nil
	})
}

// partition is broker b's view of a partition.
func partitionOf(b controller.Store, topic string, p int32) (controller.Partition, error) {
	t, ok := b.Topic(topic)
	if !ok {
		return controller.Partition{}, fmt.Errorf("topic %s unknown", topic)
	}
	if int(p) >= len(t.Partitions) {
		return controller.Partition{}, fmt.Errorf("topic %s has %d partitions", topic, len(t.Partitions))
	}
	return t.Partitions[p], nil
}

// checkFor polls fn until it returns nil or wait passes.
func checkFor(t testing.TB, wait time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v: %v", what, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createTopic(t *testing.T, s controller.Store, req controller.CreateTopicRequest) controller.Topic {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topic, err := s.CreateTopic(ctx, req)
	if err != nil {
		t.Fatalf("create topic %s: %v", req.Name, err)
	}
	return topic
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seen waits until every live broker shows the topic with n partitions.
func (c *testCluster) seen(topic string, n int) {
	c.t.Helper()
	c.everyBroker("topic "+topic+" everywhere", func(b *testBroker) error {
		if t, ok := b.Topic(topic); !ok || len(t.Partitions) != n {
			return fmt.Errorf("%+v", t)
		}
		return nil
	})
}
