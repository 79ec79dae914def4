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
// Ownership: the partition table and the replication of its partitions
// (leader side, ISR, high watermark, acks=all waits, replica fetchers)
// belong to package broker/replica; the Broker holds its replica.Manager,
// brings it in line with the Store when the Store reports a change, and
// maps its errors to Kafka codes (errors.go). Handlers hold no state of
// their own, so the Broker has no global state and several can run in one
// process.
package broker

import (
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/quota"
	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/broker/sasl/mechanisms"
	"github.com/samsa-io/samsa/broker/txncoord"
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
	// observer is told of every request served (observe.go).
	observer RequestObserver

	replicas *replica.Manager // the partition table and its replication
	groups   *groupcoord.Coordinator
	txns     *txncoord.Coordinator
	peers    *peerClients // connections to other brokers for markers and verification

	producerIDs   *producerIDAllocator
	fetchSessions *fetchSessionCache
	quotas        *quota.Manager // client quotas and usage (quotas.go)
	routes        []api          // indexed by API key (dispatch.go)
	// sasl holds the mechanisms of each SASL listener, by listener name
	// (sasl_session.go).
	sasl map[string]mechanisms.Listener

	// authorizer is nil without authorizer.class.name (authorize.go);
	// aclStore is the store's ACLStore then.
	authorizer      *acl.Authorizer
	aclStore        controller.ACLStore
	aclsMu          sync.Mutex // serialises refreshACLs
	unsubscribeACLs func()

	unsubscribe func()
	closeOnce   sync.Once
	closed      chan struct{}
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
	// Observer, when set, is told of every request served, for
	// monitoring (package broker/metrics).
	Observer RequestObserver
}

// New builds a broker, opening a log for every partition the store knows
// and deleting log directories of topics that no longer exist. It fails
// when a log the store wants on this broker cannot be opened (as a failed
// log directory stops Kafka), never because of a leftover directory,
// which is logged and set aside (replica.Manager.Sync).
func New(opts Options) (*Broker, error) {
	b := &Broker{
		cfg:      opts.Config,
		store:    opts.Store,
		logs:     opts.Logs,
		logger:   opts.Logger,
		now:      opts.Now,
		dial:     opts.Dial,
		observer: opts.Observer,
		closed:   make(chan struct{}),
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.observer == nil {
		b.observer = noObserver{}
	}
	// Connections to other brokers: TLS first on an SSL or SASL_SSL
	// inter-broker listener, then the SASL login on a SASL one.
	if l := b.cfg.InterBrokerListener(); l.UsesTLS() {
		b.dial = tlsDialer(b.dial, func() config.SSL { return b.effectiveConfig().ListenerSSL(l.Name) })
	}
	b.dial = interBrokerDial(b.cfg, b.dial)
	if err := b.startAuthorizer(); err != nil {
		return nil, err
	}
	b.producerIDs = newProducerIDAllocator(b.store)
	b.peers = newPeerClients(b)
	b.replicas = replica.New(replica.Options{
		Config:            b.cfg,
		EffectiveConfig:   b.effectiveConfig,
		Store:             b.store,
		Logs:              b.logs,
		Logger:            b.logger,
		Now:               b.now,
		Dial:              b.dial,
		LeadershipChanged: b.partitionLeadershipChanged,
	})
	b.fetchSessions = newFetchSessionCache(int(b.cfg.MaxIncrementalFetchSession))
	b.quotas = quota.NewManager(quotaWindow(b.cfg.QuotaWindowNum, b.cfg.QuotaWindowSizeSeconds))
	b.reloadQuotas()
	var err error
	if b.sasl, err = mechanisms.ForListeners(b.cfg.SASL, b.store); err != nil {
		return nil, fmt.Errorf("SASL: %w", err)
	}
	if b.groups, err = b.newGroupCoordinator(); err != nil {
		return nil, fmt.Errorf("group coordinator: %w", err)
	}
	b.txns = b.newTxnCoordinator()
	b.routes = b.buildRoutes()
	// Subscribed before the first Sync reads the store: a change
	// published while it runs (the controller moving leader epochs as
	// brokers restart together) would otherwise never reach this
	// broker, whose partitions would keep the states it read.
	b.unsubscribe = b.store.Subscribe(func(c controller.Change) {
		if c.Kind == controller.EntityConfigChanged {
			b.reloadQuotas()
		}
		if err := b.replicas.Sync(); err != nil {
			b.logger.Error().Err(err).Msg("apply metadata change")
		}
	})
	if err := b.replicas.Sync(); err != nil {
		b.unsubscribe()
		return nil, fmt.Errorf("open partition logs: %w", err)
	}
	b.replicas.Start()
	return b, nil
}

// Close stops background work (replica fetchers, ISR checks, the group
// coordinator) and waits for it. It does not close the log manager or the
// store, which the caller owns.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		if b.unsubscribe != nil {
			b.unsubscribe()
		}
		if b.unsubscribeACLs != nil {
			b.unsubscribeACLs()
		}
		close(b.closed)
		mechanisms.Close(b.sasl)
		b.replicas.Close()
		b.groups.Close()
		b.txns.Close()
		b.peers.close()
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

// PeerDial is how this broker dials other brokers: on the inter-broker
// listener, with TLS and the SASL login when that listener has them (nil:
// plain TCP). Tools that ask brokers what brokers ask each other use it.
func (b *Broker) PeerDial() wire.DialFunc { return b.dial }

// EffectiveConfig is the broker's configuration with the dynamic broker
// configs in the store applied; it changes when AlterConfigs does.
func (b *Broker) EffectiveConfig() *config.Broker { return b.effectiveConfig() }

// effectiveConfig is the static configuration with dynamic broker configs
// (cluster-wide defaults, then this broker's) applied.
func (b *Broker) effectiveConfig() *config.Broker {
	return b.cfg.WithDynamic(b.store.BrokerConfigs(-1), b.store.BrokerConfigs(b.cfg.BrokerID))
}

// OnConfigChange calls fn after every metadata change (dynamic configs
// among them) until the returned cancel is called.
func (b *Broker) OnConfigChange(fn func(*config.Broker)) (cancel func()) {
	return b.store.Subscribe(func(controller.Change) { fn(b.effectiveConfig()) })
}

// brokerEndpoint spreads a broker into the fields of every response that
// names brokers (Metadata, DescribeCluster, the leader hints of Produce
// and Fetch, KIP-951): node ID, host, port and the rack, which Kafka sends
// as null when broker.rack is unset.
func brokerEndpoint(br controller.Broker, listener string) (id int32, host string, port int32, rack *string) {
	if br.Rack != "" {
		rack = &br.Rack
	}
	host, port = br.Addr(listener)
	return br.ID, host, port, rack
}
