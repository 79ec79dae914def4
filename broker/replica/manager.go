package replica

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

// Options are what a Manager is built from.
type Options struct {
	// Config is the broker's static configuration: its ID, and the
	// replica.* settings of the fetchers and the ISR checks.
	Config *config.Broker
	// EffectiveConfig is Config with the store's dynamic broker configs
	// applied. Sync reads it for the topics' defaults,
	// num.replica.fetchers and the log cleaner's settings.
	EffectiveConfig func() *config.Broker
	Store           controller.Store
	Logs            *plog.Manager
	Logger          zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Dial makes the fetchers' connections to their leaders; nil means
	// TCP.
	Dial wire.DialFunc
	// LeadershipChanged, when set, is called after this broker's part in
	// a partition changed: a new leader or leader epoch applied (leader
	// tells whether this broker leads it now), or the partition dropped
	// (leader false). The group coordinator loads and unloads its groups
	// there. It must not call back into the Manager's Sync.
	LeadershipChanged func(topic string, partition int32, leader bool)
}

// Manager is the partition table of one broker and the replication of
// its partitions (see the package documentation).
type Manager struct {
	cfg               *config.Broker
	effectiveConfig   func() *config.Broker
	store             controller.Store
	logs              *plog.Manager
	logger            zerolog.Logger
	now               func() time.Time
	dial              wire.DialFunc
	leadershipChanged func(topic string, partition int32, leader bool)

	// syncMu keeps Sync runs (startup, store changes, admin requests)
	// from interleaving.
	syncMu sync.Mutex
	mu     sync.RWMutex
	topics map[string]*topicState // by name
	// byID indexes topics by ID (KIP-516 requests): it holds exactly the
	// topics of topics, under mu.
	byID map[controller.TopicID]string

	fetchers  *fetchers
	tasks     sync.WaitGroup // background work Close waits for
	closeOnce sync.Once
	closed    chan struct{}
	// closedCtx ends when Close starts, for background work that takes a
	// context.
	closedCtx    context.Context
	stop         context.CancelFunc
	resyncQueued atomic.Bool // a background Sync is waiting to run
	// isrShrinks and isrExpands count accepted ISR changes (status.go).
	isrShrinks, isrExpands atomic.Uint64
}

// topicState is the table's view of one topic: the store's snapshot and
// the open partition logs (nil where this broker holds no replica).
type topicState struct {
	meta       controller.Topic
	partitions []*Partition
}

// New builds an empty partition table; Sync fills it from the store and
// Start starts the ISR checks.
func New(opts Options) *Manager {
	m := &Manager{
		cfg:               opts.Config,
		effectiveConfig:   opts.EffectiveConfig,
		store:             opts.Store,
		logs:              opts.Logs,
		logger:            opts.Logger,
		now:               opts.Now,
		dial:              opts.Dial,
		leadershipChanged: opts.LeadershipChanged,
		topics:            make(map[string]*topicState),
		byID:              make(map[controller.TopicID]string),
		closed:            make(chan struct{}),
	}
	m.closedCtx, m.stop = context.WithCancel(context.Background())
	if m.now == nil {
		m.now = time.Now
	}
	m.fetchers = newFetchers(m)
	return m
}

// Start starts the ISR checks: lagging followers leave the ISRs of the
// partitions this broker leads, checked every half
// replica.lag.time.max.ms as Kafka does.
func (m *Manager) Start() {
	m.background(m.checkISRs)
}

func (m *Manager) checkISRs() {
	t := time.NewTicker(max(m.cfg.ReplicaLagTimeMax/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.closed:
			return
		case <-t.C:
			m.shrinkISRs(m.now())
		}
	}
}

// background runs fn on a goroutine Close waits for.
func (m *Manager) background(fn func()) {
	m.tasks.Add(1)
	go func() {
		defer m.tasks.Done()
		fn()
	}()
}

// Close stops replication (fetchers, ISR checks, ISR changes in flight)
// and waits for it; acks=all waits end with ErrNotLeader. The logs stay
// open: the log manager is the caller's.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.stop()
		m.fetchers.close()
		m.tasks.Wait()
	})
}

// StopFetching stops every follower's fetches for good, as Kafka's
// StopReplica does to a broker in controlled shutdown: once the
// controller has taken it out of the ISRs, a broker that went on fetching
// until it stopped would be taken back in by the leaders (and out again
// by the controller when it leaves).
func (m *Manager) StopFetching() { m.fetchers.close() }

// isClosed reports whether Close has started.
func (m *Manager) isClosed() bool {
	select {
	case <-m.closed:
		return true
	default:
		return false
	}
}

// Lookup finds a partition this broker hosts by topic name:
// ErrUnknownPartition when the topic or partition does not exist,
// ErrNotReplica when it exists but lives on other brokers.
func (m *Manager) Lookup(topic string, index int32) (*Partition, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ts, ok := m.topics[topic]
	if !ok || index < 0 || int(index) >= len(ts.partitions) {
		return nil, ErrUnknownPartition
	}
	if p := ts.partitions[index]; p != nil {
		return p, nil
	}
	return nil, ErrNotReplica
}

// LookupLeader finds a partition this broker leads: Lookup's errors, or
// ErrNotLeader when another broker leads it (the client, told
// NOT_LEADER_OR_FOLLOWER, refreshes its metadata and finds the leader).
func (m *Manager) LookupLeader(topic string, index int32) (*Partition, error) {
	p, err := m.Lookup(topic, index)
	if err != nil {
		return nil, err
	}
	if !p.IsLeader() {
		return nil, ErrNotLeader
	}
	return p, nil
}

// TopicName finds a topic's name by ID (KIP-516 requests), as the table
// knows it.
func (m *Manager) TopicName(id controller.TopicID) (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	name, ok := m.byID[id]
	return name, ok
}

// Leader is a partition's leader and leader epoch as this broker knows
// them, from the same table that Lookup and LookupLeader answer from: the
// state applied to a partition it hosts, else the store's state as the
// last Sync saw it. The leader is -1 when there is none, or when the
// partition is not known.
func (m *Manager) Leader(topic string, index int32) (leader, epoch int32) {
	m.mu.RLock()
	ts, ok := m.topics[topic]
	if !ok || index < 0 || int(index) >= len(ts.meta.Partitions) {
		m.mu.RUnlock()
		return -1, -1
	}
	st := ts.meta.Partitions[index]
	var p *Partition
	if int(index) < len(ts.partitions) {
		p = ts.partitions[index]
	}
	m.mu.RUnlock()
	if p == nil {
		return st.Leader, st.LeaderEpoch
	}
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	return p.leaderID.Load(), p.leaderEpoch.Load()
}

// Topic returns the table's snapshot of a topic, taken from the store by
// the last Sync.
func (m *Manager) Topic(name string) (controller.Topic, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ts, ok := m.topics[name]
	if !ok {
		return controller.Topic{}, false
	}
	return ts.meta, true
}

// Unhosted returns, in order, those of a topic's partitions the table
// holds no log for, as one view of the table. A topic the table does not
// know, or knows under another ID, holds none.
func (m *Manager) Unhosted(topic string, id controller.TopicID, partitions []int32) []int32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ts := m.topics[topic]
	var out []int32
	for _, i := range partitions {
		if ts == nil || ts.meta.ID != id || i < 0 || int(i) >= len(ts.partitions) || ts.partitions[i] == nil {
			out = append(out, i)
		}
	}
	return out
}

// LedPartitions lists the partitions this broker leads.
func (m *Manager) LedPartitions() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*Partition
	for _, ts := range m.topics {
		for _, p := range ts.partitions {
			if p != nil && p.IsLeader() {
				out = append(out, p)
			}
		}
	}
	return out
}
