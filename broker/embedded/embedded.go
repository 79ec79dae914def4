package embedded

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/node"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/memcluster"
	plog "github.com/samsa-io/samsa/log"
)

// Config is what Start starts.
type Config struct {
	// Brokers is how many brokers to start, with broker.id 1 to Brokers
	// (zero: one).
	Brokers int
	// Dir holds the brokers' data, broker N's in Dir/broker-N. Empty: a
	// new temporary directory, which Close removes.
	Dir string
	// Overrides are broker configuration, by Kafka's keys (as in
	// server.properties), applied to every broker over the embedded
	// defaults (see the package documentation).
	Overrides map[string]string
	// BrokerOverrides are applied to one broker, by broker.id, over
	// Overrides.
	BrokerOverrides map[int32]map[string]string
	// ClusterStore runs a single broker as a cluster of one, on the
	// in-process ensemble, instead of on the single-broker store. A
	// cluster of more brokers always runs on the ensemble.
	ClusterStore bool
	// Logger receives the brokers' logs (each line with the field
	// "broker", its broker.id) and the ensemble's; the zero Logger
	// discards them.
	Logger zerolog.Logger
}

// A node killed with Kill crashes its store: an ensemble's Store leaves
// its session behind, as a killed process's does.
var _ node.Crasher = (*memcluster.Store)(nil)

// Defaults the embedded brokers start from, over Kafka's (see the
// package documentation); offsets.topic.replication.factor and log.dirs
// are set per cluster and broker.
var embeddedDefaults = map[string]string{
	"listeners":                            "PLAINTEXT://127.0.0.1:0",
	"group.initial.rebalance.delay.ms":     "0",
	"zookeeper.session.timeout.ms":         "1000",
	"replica.fetch.backoff.ms":             "100",
	"controlled.shutdown.retry.backoff.ms": "100",
}

// shutdownTimeout bounds how long a broker closing waits for clients to
// read the responses of requests in flight (node.Options.ShutdownTimeout).
const shutdownTimeout = 2 * time.Second

// restartTimeout bounds a broker's start: its registration in the
// ensemble waits for nothing but an earlier session of its own, which
// Kill and Stop end.
const restartTimeout = 30 * time.Second

// Cluster is one or more running Samsa brokers. See the package
// documentation.
type Cluster struct {
	dir      string
	tempDir  bool // Close removes dir
	logger   zerolog.Logger
	ensemble *memcluster.Ensemble // nil: a single broker on the single-broker store
	brokers  []*Broker            // brokers[i] has broker.id i+1
	net      *network

	// mu serializes the fault controls and Close.
	mu     sync.Mutex
	closed bool
}

// Broker is one broker of a Cluster. Its address and configuration stay
// the same across Kill, Stop and Restart.
type Broker struct {
	id  int32
	cfg *config.Broker
	c   *Cluster

	mu     sync.Mutex
	node   *node.Node       // nil while not running
	store  controller.Store // the running node's
	addr   string           // set by the first start
	paused bool
}

// Start starts the brokers, one after the other, and returns once each
// serves and is registered. ctx bounds the start only. On failure what
// was started is closed again.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	n := cfg.Brokers
	if n == 0 {
		n = 1
	}
	if n < 0 {
		return nil, fmt.Errorf("embedded: %d brokers", n)
	}
	c := &Cluster{dir: cfg.Dir, logger: cfg.Logger, net: newNetwork()}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "samsa-embedded-"); err != nil {
			return nil, fmt.Errorf("embedded: data directory: %w", err)
		}
		c.tempDir = true
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()

	shared, err := overrides(cfg.Overrides, nil)
	if err != nil {
		return nil, err
	}
	base := map[string]string{"offsets.topic.replication.factor": strconv.Itoa(min(n, 3))}
	maps.Copy(base, embeddedDefaults)
	if n > 1 || cfg.ClusterStore {
		// The ensemble is every broker's controller and ZooKeeper: its
		// settings are the cluster-wide configuration's.
		clusterCfg, _, err := config.Load("", list(base, shared, map[string]string{"log.dirs": c.dir}))
		if err != nil {
			return nil, fmt.Errorf("embedded: configuration: %w", err)
		}
		c.ensemble = memcluster.New(memcluster.Options{
			SessionTimeout:                     clusterCfg.ZookeeperSessionTimeout,
			UncleanLeaderElection:              clusterCfg.UncleanLeaderElection,
			AutoLeaderRebalance:                clusterCfg.AutoLeaderRebalanceEnable,
			LeaderImbalanceCheckInterval:       clusterCfg.LeaderImbalanceCheckInterval,
			LeaderImbalancePerBrokerPercentage: int(clusterCfg.LeaderImbalancePerBrokerPercentage),
			Logger:                             c.logger.With().Str("component", "ensemble").Logger(),
		})
	}
	for id := range cfg.BrokerOverrides {
		if id < 1 || int(id) > n {
			return nil, fmt.Errorf("embedded: overrides for broker %d, of a cluster of %d: %w", id, n, ErrUnknownBroker)
		}
	}
	for id := int32(1); id <= int32(n); id++ {
		own, err := overrides(cfg.BrokerOverrides[id], shared)
		if err != nil {
			return nil, fmt.Errorf("embedded: broker %d: %w", id, err)
		}
		set := list(base, map[string]string{"log.dirs": filepath.Join(c.dir, "broker-"+strconv.Itoa(int(id)))}, own, map[string]string{"broker.id": strconv.Itoa(int(id))})
		bcfg, _, err := config.Load("", set)
		if err != nil {
			return nil, fmt.Errorf("embedded: configuration of broker %d: %w", id, err)
		}
		c.brokers = append(c.brokers, &Broker{id: id, cfg: bcfg, c: c})
	}
	for _, b := range c.brokers {
		if err := b.start(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// overrides checks a caller's overrides and merges them over base (nil:
// none): the keys the cluster sets are refused.
func overrides(m, base map[string]string) (map[string]string, error) {
	for _, k := range []string{"broker.id", "zookeeper.connect"} {
		if _, ok := m[k]; ok {
			return nil, fmt.Errorf("embedded: %s is the cluster's to set, not an override", k)
		}
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, m)
	return out, nil
}

// list is config.Load's overrides: the maps' keys, later maps winning.
func list(ms ...map[string]string) []string {
	merged := map[string]string{}
	for _, m := range ms {
		maps.Copy(merged, m)
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		out = append(out, k+"="+merged[k])
	}
	return out
}

// start runs the broker's node (b's cluster's lock held, or Start).
func (b *Broker) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	c := b.c
	logger := c.logger.With().Int32("broker", b.id).Logger()
	var store controller.Store
	n, err := node.Start(ctx, node.Options{
		Config: b.cfg,
		Logger: logger,
		OpenStore: func(ctx context.Context, self controller.Broker, cfg *config.Broker) (s controller.Store, err error) {
			// Known to the network before the others can learn of it, so
			// that every connection to it counts as one to it.
			c.net.addBroker(b.id, net.JoinHostPort(self.Host, strconv.Itoa(int(self.Port))))
			if c.ensemble != nil {
				store, err = c.ensemble.Join(ctx, self)
			} else {
				store, err = controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, logger.With().Str("component", "store").Logger())
			}
			return store, err
		},
		Dial:            c.net.dialer(b.id),
		ShutdownTimeout: shutdownTimeout,
	})
	if err != nil {
		if errors.Is(err, plog.ErrForeignLogDir) && c.ensemble != nil {
			return fmt.Errorf("embedded: start broker %d: %w (a cluster's metadata lives in memory and ends with Close, so its data cannot be started again: use a new Dir)", b.id, err)
		}
		return fmt.Errorf("embedded: start broker %d: %w", b.id, err)
	}
	b.mu.Lock()
	b.node, b.store, b.paused = n, store, false
	if b.addr == "" {
		b.addr = n.Addrs()[0]
	}
	b.mu.Unlock()
	return nil
}

// Close stops every broker (without a controlled shutdown: the cluster
// goes as a whole), then the ensemble, and removes the temporary
// directory if Start made one. It returns the first failure to close a
// broker's logs or store. Later calls do nothing.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, b := range c.brokers {
		n := b.stopped()
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Close(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("embedded: close broker %d: %w", b.id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if c.ensemble != nil {
		c.ensemble.Close()
	}
	if c.tempDir {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("embedded: remove %s: %w", c.dir, err))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// stopped marks the broker not running and returns the node that ran,
// nil when none did.
func (b *Broker) stopped() *node.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.node
	b.node, b.store, b.paused = nil, nil, false
	return n
}

// Dir is the directory holding the brokers' data.
func (c *Cluster) Dir() string { return c.dir }

// ClusterID is the cluster's ID (meta.properties' cluster.id).
func (c *Cluster) ClusterID() string {
	if c.ensemble != nil {
		return c.ensemble.ClusterID()
	}
	if s := c.brokers[0].runningStore(); s != nil {
		return s.ClusterID()
	}
	return ""
}

// Seeds are the addresses of the brokers that run and are not paused,
// by broker.id: seed brokers for any client (kgo.SeedBrokers).
func (c *Cluster) Seeds() []string {
	var out []string
	for _, b := range c.brokers {
		if b.Running() && !b.Paused() {
			out = append(out, b.Addr())
		}
	}
	return out
}

// Broker returns the broker with that broker.id, nil when there is none.
func (c *Cluster) Broker(id int32) *Broker {
	if id < 1 || int(id) > len(c.brokers) {
		return nil
	}
	return c.brokers[id-1]
}

// Brokers returns every broker, by broker.id, running or not.
func (c *Cluster) Brokers() []*Broker { return slices.Clone(c.brokers) }

// ID is the broker's broker.id.
func (b *Broker) ID() int32 { return b.id }

// Addr is the address a client dials, the same across restarts.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// Config is the broker's configuration, its bound port written in; do
// not change it while the broker runs.
func (b *Broker) Config() *config.Broker { return b.cfg }

// Node is the running broker (for its Broker's EffectiveConfig, for
// example), nil while it is killed or stopped. Stop it through the
// Cluster's fault controls, not the Node's, so the cluster knows.
func (b *Broker) Node() *node.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.node
}

// Running reports whether the broker runs (paused or not).
func (b *Broker) Running() bool { return b.Node() != nil }

// Paused reports whether the broker is paused (Pause).
func (b *Broker) Paused() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.paused
}

// Isolated reports whether the broker is cut off from the others
// (Isolate, until Heal).
func (b *Broker) Isolated() bool { return b.c.net.isIsolated(b.id) }

func (b *Broker) runningStore() controller.Store {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.store
}
