package compattests

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller/zktest"
	"github.com/samsa-io/samsa/wire"
)

// testCluster is a real ZooKeeper and several real broker processes
// pointed at it, each on its own free port and log directory.
type testCluster struct {
	t       *testing.T
	zk      *zktest.Server
	brokers []*testBroker // brokers[i] has broker.id i+1
}

// Cluster brokers are tuned for tests: failures are noticed in seconds
// (short ZooKeeper sessions and replica lag), groups rebalance at once,
// and controlled shutdowns retry quickly.
var clusterDefaults = [][2]string{
	{"zookeeper.session.timeout.ms", "4000"},
	{"replica.lag.time.max.ms", "3000"},
	{"replica.fetch.backoff.ms", "200"},
	{"default.replication.factor", "3"},
	{"offsets.topic.replication.factor", "3"},
	{"offsets.topic.num.partitions", "6"},
	{"min.insync.replicas", "2"},
	{"group.initial.rebalance.delay.ms", "0"},
	{"group.min.session.timeout.ms", "1000"},
	{"controlled.shutdown.retry.backoff.ms", "500"},
	{"log.retention.check.interval.ms", "1000"},
}

// startCluster starts ZooKeeper and n brokers (IDs 1..n). opts apply to
// every broker after the cluster defaults.
func startCluster(t *testing.T, n int, opts ...brokerOpt) *testCluster {
	t.Helper()
	skipOnKfake(t, "a ZooKeeper cluster of real brokers")
	c := &testCluster{t: t, zk: zktest.Start(t)}
	for id := 1; id <= n; id++ {
		bopts := []brokerOpt{
			withOverride("broker.id", strconv.Itoa(id)),
			withOverride("zookeeper.connect", c.zk.Addr),
		}
		for _, kv := range clusterDefaults {
			bopts = append(bopts, withOverride(kv[0], kv[1]))
		}
		c.brokers = append(c.brokers, startBroker(t, append(bopts, opts...)...))
	}
	c.waitBrokers(n, 30*time.Second)
	return c
}

// broker returns the broker with the given ID.
func (c *testCluster) broker(id int32) *testBroker { return c.brokers[id-1] }

// running lists the brokers whose process is up (and not paused).
func (c *testCluster) running() []*testBroker {
	var out []*testBroker
	for _, b := range c.brokers {
		if b.isRunning() && !b.isPaused() {
			out = append(out, b)
		}
	}
	return out
}

// seeds are the addresses of the running brokers.
func (c *testCluster) seeds() []string {
	var out []string
	for _, b := range c.running() {
		out = append(out, b.Addr())
	}
	return out
}

// client returns a kgo client seeded with every running broker.
func (c *testCluster) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(c.seeds()...),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
		kgo.RetryTimeout(60 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (c *testCluster) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.client(t))
}

// metadata asks a fresh client for the cluster's metadata.
func (c *testCluster) metadata(topics ...string) (kadm.Metadata, error) {
	return metadataFrom(c.seeds(), topics...)
}

// metadataFrom asks one of seeds, through a new client.
func metadataFrom(seeds []string, topics ...string) (kadm.Metadata, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		return kadm.Metadata{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kadm.NewClient(cl).Metadata(ctx, topics...)
}

// waitBrokers waits until every running broker's metadata lists n live
// brokers and a controller. Each broker has its own view of ZooKeeper: a
// request one broker would take (CreateTopics at the controller, placing
// replicas on the brokers it sees) may find another still behind.
func (c *testCluster) waitBrokers(n int, timeout time.Duration) {
	c.t.Helper()
	checkFor(c.t, timeout, 100*time.Millisecond, func() error {
		for _, b := range c.running() {
			m, err := metadataFrom([]string{b.Addr()})
			if err != nil {
				return err
			}
			if len(m.Brokers) != n || m.Controller < 0 {
				return fmt.Errorf("broker at %s lists %d brokers and controller %d, want %d brokers and a controller", b.Addr(), len(m.Brokers), m.Controller, n)
			}
		}
		return nil
	})
}

// controllerID is the controller the cluster reports.
func (c *testCluster) controllerID() int32 {
	c.t.Helper()
	var id int32 = -1
	checkFor(c.t, 30*time.Second, 100*time.Millisecond, func() error {
		m, err := c.metadata()
		if err != nil {
			return err
		}
		if m.Controller < 0 {
			return fmt.Errorf("no controller")
		}
		id = m.Controller
		return nil
	})
	return id
}

// leader is the current leader of a partition.
func (c *testCluster) leader(topic string, partition int32) int32 {
	c.t.Helper()
	var leader int32 = -1
	checkFor(c.t, 30*time.Second, 100*time.Millisecond, func() error {
		m, err := c.metadata(topic)
		if err != nil {
			return err
		}
		p, ok := m.Topics[topic].Partitions[partition]
		if !ok || p.Leader < 0 {
			return fmt.Errorf("%s-%d has no leader", topic, partition)
		}
		leader = p.Leader
		return nil
	})
	return leader
}

// waitLeaderMoves waits until a broker other than old leads the partition.
func (c *testCluster) waitLeaderMoves(topic string, partition, old int32) {
	c.t.Helper()
	checkFor(c.t, 30*time.Second, 100*time.Millisecond, func() error {
		if l := c.leader(topic, partition); l == old {
			return fmt.Errorf("broker %d still leads %s-%d", old, topic, partition)
		}
		return nil
	})
}

// waitFullISR waits until every running broker reports, for every
// partition of the topics, the same leader and leader epoch, and all of
// its replicas in sync. Asking each broker matters: a broker back from a
// pause still serves its stale view until it has rejoined, and a client
// bootstrapping from it would read from the old leader.
func (c *testCluster) waitFullISR(timeout time.Duration, topics ...string) {
	c.t.Helper()
	checkFor(c.t, timeout, 200*time.Millisecond, func() error {
		type view struct{ leader, epoch int32 }
		agreed := map[string]view{}
		for _, b := range c.running() {
			resp, err := brokerMetadata(b.Addr(), topics)
			if err != nil {
				return fmt.Errorf("metadata from %s: %w", b.Addr(), err)
			}
			for _, t := range resp.Topics {
				if t.ErrorCode != 0 || len(t.Partitions) == 0 {
					return fmt.Errorf("broker at %s: topic %s: error %d, %d partitions", b.Addr(), *t.Topic, t.ErrorCode, len(t.Partitions))
				}
				for _, p := range t.Partitions {
					isr, replicas := slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(p.Replicas))
					if p.Leader < 0 || !slices.Equal(isr, replicas) {
						return fmt.Errorf("broker at %s: %s-%d: leader %d, replicas %v, ISR %v", b.Addr(), *t.Topic, p.Partition, p.Leader, p.Replicas, p.ISR)
					}
					key := fmt.Sprintf("%s-%d", *t.Topic, p.Partition)
					v := view{p.Leader, p.LeaderEpoch}
					if prev, ok := agreed[key]; ok && prev != v {
						return fmt.Errorf("brokers disagree on %s: leader %d epoch %d, and leader %d epoch %d at %s", key, prev.leader, prev.epoch, v.leader, v.epoch, b.Addr())
					}
					agreed[key] = v
				}
			}
		}
		return nil
	})
}

// brokerMetadata asks one broker, and only it, for the topics' metadata.
func brokerMetadata(addr string, topics []string) (*kmsg.MetadataResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wire.Dial(ctx, addr, "compat-tests")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	for _, name := range topics {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, t)
	}
	resp, err := c.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// createClusterTopic creates a topic and waits for its replicas to be in
// sync.
func (c *testCluster) createTopic(t *testing.T, topic string, partitions int32, rf int16, configs map[string]string) {
	t.Helper()
	var cfgs map[string]*string
	if len(configs) > 0 {
		cfgs = map[string]*string{}
		for k, v := range configs {
			cfgs[k] = kadm.StringPtr(v)
		}
	}
	resp, err := c.admin(t).CreateTopic(testContext(t, 30*time.Second), partitions, rf, cfgs, topic)
	if err != nil {
		t.Fatalf("create topic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
	c.waitFullISR(60*time.Second, topic)
}

// readAll reads every partition of topic up to its current end offsets.
func (c *testCluster) readAll(t *testing.T, topic string, opts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	return readAllVia(t, func(o ...kgo.Opt) *kgo.Client { return c.client(t, o...) }, topic, opts...)
}

// Pause stops the broker process (SIGSTOP): it keeps its sockets and
// state but answers nothing, and its ZooKeeper session lapses if paused
// long enough.
func (b *testBroker) Pause() {
	b.t.Helper()
	b.signal(syscall.SIGSTOP)
	b.mu.Lock()
	b.paused = true
	b.mu.Unlock()
}

// Resume continues a paused broker (SIGCONT).
func (b *testBroker) Resume() {
	b.t.Helper()
	b.signal(syscall.SIGCONT)
	b.mu.Lock()
	b.paused = false
	b.mu.Unlock()
}

func (b *testBroker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd := b.cmd
	b.mu.Unlock()
	if cmd == nil {
		b.t.Fatalf("signal %v: the broker was never started", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		b.t.Fatalf("signal %v to samsa (pid %d): %v", sig, cmd.Process.Pid, err)
	}
}

func (b *testBroker) isPaused() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.paused
}

// isRunning reports whether the broker process is alive.
func (b *testBroker) isRunning() bool {
	b.mu.Lock()
	exited := b.exited
	b.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}
