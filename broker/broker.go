// Package broker serves Kafka's APIs on top of the partition logs (package
// log) and the cluster metadata store (package controller).
//
// One file per protocol API, named by API key ("00_produce.go",
// "01_fetch.go", ...): each opens with what is worth knowing, then declares
// its key, versions and handler (registerAPI, dispatch.go), then the
// handler. Kafka errors go back inside responses as
// error codes; a Go error from a handler means the request could not be
// parsed and closes the connection.
//
// Ownership: the Broker owns the partition table (topic → partitions),
// guarded by mu and rebuilt from the Store when the Store reports a change.
// Each partition's log has one writer at a time (the log's own lock);
// handlers hold no state of their own, so the Broker has no global state
// and several can run in one process.
package broker

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/groupcoord"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

// Broker is one Samsa broker's request handling. It implements
// wire.Handler.
type Broker struct {
	cfg    *config.Broker
	store  controller.Store
	logs   *plog.Manager
	logger zerolog.Logger
	now    func() time.Time
	dial   wire.DialFunc // every connection to another broker

	mu     sync.RWMutex
	topics map[string]*topicState // by name
	// syncMu keeps syncTopics runs (startup, store changes, topic
	// creation) from interleaving.
	syncMu sync.Mutex

	fetchers *fetchers
	groups   *groupcoord.Coordinator
	tasks    sync.WaitGroup // background work Close waits for

	producerIDs   *producerIDAllocator
	fetchSessions *fetchSessionCache
	routes        []api // indexed by API key (dispatch.go)

	unsubscribe func()
	closeOnce   sync.Once
	closed      chan struct{}
}

// topicState is the broker's view of one topic: the store's snapshot and
// the open partition logs.
type topicState struct {
	meta       controller.Topic
	partitions []*partition
}

// Options are what a Broker is built from.
type Options struct {
	Config *config.Broker
	Store  controller.Store
	Logs   *plog.Manager
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Dial makes every connection to another broker: the replica
	// fetchers' and the controlled shutdown's. Nil means TCP. A test
	// harness passes its own to cut this broker off from the others.
	Dial wire.DialFunc
}

// New builds a broker, opening a log for every partition the store knows
// and deleting log directories of topics that no longer exist. It fails
// when a log the store wants on this broker cannot be opened (as a failed
// log directory stops Kafka), never because of a leftover directory,
// which is logged and set aside (syncTopics).
func New(opts Options) (*Broker, error) {
	b := &Broker{
		cfg:    opts.Config,
		store:  opts.Store,
		logs:   opts.Logs,
		logger: opts.Logger,
		now:    opts.Now,
		dial:   opts.Dial,
		topics: make(map[string]*topicState),
		closed: make(chan struct{}),
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.producerIDs = newProducerIDAllocator(b.store)
	b.fetchers = newFetchers(b)
	b.fetchSessions = newFetchSessionCache(int(b.cfg.MaxIncrementalFetchSession))
	var err error
	if b.groups, err = b.newGroupCoordinator(); err != nil {
		return nil, fmt.Errorf("group coordinator: %w", err)
	}
	b.routes = b.buildRoutes()
	if err := b.syncTopics(); err != nil {
		return nil, fmt.Errorf("open partition logs: %w", err)
	}
	b.unsubscribe = b.store.Subscribe(func(controller.Change) {
		if err := b.syncTopics(); err != nil {
			b.logger.Error().Err(err).Msg("apply metadata change")
		}
	})
	b.background(b.checkISRs)
	return b, nil
}

// checkISRs takes lagging followers out of the ISRs of the partitions this
// broker leads, every half replica.lag.time.max.ms as Kafka does.
func (b *Broker) checkISRs() {
	t := time.NewTicker(max(b.cfg.ReplicaLagTimeMax/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-b.closed:
			return
		case <-t.C:
			b.shrinkISRs(b.now())
		}
	}
}

// background runs fn on a goroutine Close waits for.
func (b *Broker) background(fn func()) {
	b.tasks.Add(1)
	go func() {
		defer b.tasks.Done()
		fn()
	}()
}

// Close stops background work (replica fetchers, ISR checks) and waits
// for it. It does not close the log manager or the store, which the
// caller owns.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		if b.unsubscribe != nil {
			b.unsubscribe()
		}
		close(b.closed)
		b.fetchers.close()
		b.groups.Close()
		b.tasks.Wait()
	})
}

// standalone reports whether this broker runs alone, on the
// single-broker LocalStore, rather than in a cluster, whichever store
// holds the cluster's metadata (ZooKeeper, or the in-process twin of an
// embedded cluster; zookeeper.connect is unset for the latter). A lone
// broker caps the replication factors of the topics it creates by itself
// at 1; a cluster refuses, as Kafka does, what its live brokers cannot
// hold.
func (b *Broker) standalone() bool {
	_, ok := b.store.(*controller.LocalStore)
	return ok
}

// ctxDone reports whether the broker is shutting down.
func (b *Broker) shuttingDown() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

// msDuration converts a Kafka millisecond setting. Negative means
// unlimited (-1); values too large for a Duration (Kafka's Long.MAX_VALUE
// for "never") saturate.
func msDuration(ms int64) time.Duration {
	if ms < 0 {
		return -1
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// EffectiveConfig is the broker's configuration with the dynamic broker
// configs in the store applied; it changes when AlterConfigs does.
func (b *Broker) EffectiveConfig() *config.Broker { return b.effectiveConfig() }

// OnConfigChange calls fn after every metadata change (dynamic configs
// among them) until the returned cancel is called.
func (b *Broker) OnConfigChange(fn func(*config.Broker)) (cancel func()) {
	return b.store.Subscribe(func(controller.Change) { fn(b.effectiveConfig()) })
}

// brokerEndpoint spreads a broker into the fields of every response that
// names brokers (Metadata, DescribeCluster, the leader hints of Produce
// and Fetch, KIP-951): node ID, host, port and the rack, which Kafka sends
// as null when broker.rack is unset.
func brokerEndpoint(br controller.Broker) (id int32, host string, port int32, rack *string) {
	if br.Rack != "" {
		rack = &br.Rack
	}
	return br.ID, br.Host, br.Port, rack
}
