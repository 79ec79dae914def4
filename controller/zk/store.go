package zk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

// Defaults of the ZooKeeper settings, Kafka's.
const (
	DefaultSessionTimeout               = 18 * time.Second // zookeeper.session.timeout.ms
	DefaultLeaderImbalanceCheckInterval = 300 * time.Second
	DefaultLeaderImbalancePercentage    = 10
	// configChangeExpiration is how long /config/changes notifications
	// are kept (Kafka's ZkNodeChangeNotificationListener: 15 minutes).
	configChangeExpiration = 15 * time.Minute
)

// Config configures a Store; each field says the broker setting it
// comes from.
type Config struct {
	// Connect is zookeeper.connect: "host:port,host:port[/chroot]". A
	// chroot path is created when missing.
	Connect string
	// SessionTimeout is zookeeper.session.timeout.ms (zero: 18 s): a
	// broker whose session lapses is dead to the cluster.
	SessionTimeout time.Duration
	// ConnectionTimeout is zookeeper.connection.timeout.ms (zero: the
	// session timeout): how long NewStore waits for ZooKeeper.
	ConnectionTimeout time.Duration
	// Self is this broker: broker.id, the address clients are given, and
	// broker.rack.
	Self controller.Broker
	// Listeners are the advertised listeners registered in
	// /brokers/ids/<id>; empty means Self's address as PLAINTEXT.
	Listeners []Endpoint
	// UncleanLeaderElection is unclean.leader.election.enable of the
	// static configuration; a topic's config, then the cluster-wide
	// dynamic default, take precedence.
	UncleanLeaderElection bool
	// AutoLeaderRebalance is auto.leader.rebalance.enable.
	AutoLeaderRebalance bool
	// LeaderImbalanceCheckInterval is
	// leader.imbalance.check.interval.seconds (zero: 300 s).
	LeaderImbalanceCheckInterval time.Duration
	// LeaderImbalancePerBrokerPercentage is
	// leader.imbalance.per.broker.percentage (Kafka's default is 10).
	LeaderImbalancePerBrokerPercentage int
	// Logger gets the store's log lines, and the zk client's at debug
	// level.
	Logger zerolog.Logger
	// Now is the clock (nil: time.Now), for the timestamps Kafka writes
	// in znodes and the age of config change notifications.
	Now func() time.Time

	// dial, when set, replaces the zk client's dialer (tests cut the
	// network with it).
	dial gozk.Dialer
}

// Store is the controller.Store of a broker in a cluster coordinated by
// ZooKeeper, in Kafka's ZooKeeper layout. See the package documentation
// for how changes propagate and who owns what.
type Store struct {
	cfg            Config
	logger         zerolog.Logger
	now            func() time.Time
	zk             *zkConn
	sessionTimeout time.Duration

	// events holds the zk client's events (session state changes and
	// watch notifications) in arrival order for the cache goroutine.
	events eventQueue

	// mu guards view; only the cache goroutine writes it.
	mu   sync.RWMutex
	view zkView
	// viewChanged is closed (and replaced) after each batch of changes
	// applied to view, waking waitView.
	viewChanged chan struct{}

	// session is the session in which this broker is registered.
	session atomic.Int64
	// lostSession is a session the cache goroutine believes lost (it
	// expired, or the connection stayed down longer than the session
	// timeout): a controller elected in it stops at once.
	lostSession atomic.Int64

	subs controller.Subscribers
	ctrl *zkController

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	// isrChanged are the partitions whose ISR this broker changed since
	// the last ISR change notification it wrote (isr_notify.go).
	isrMu      sync.Mutex
	isrChanged []controller.TopicPartition
	isrWake    chan struct{}
}

// zkView is the store's cached view of ZooKeeper.
type zkView struct {
	clusterID       string
	controllerID    int32 // -1: none
	controllerOwner int64 // session owning /controller
	brokers         map[int32]liveBroker
	topics          map[string]*zkTopic
	brokerConfigs   map[int32]map[string]string
	entityConfigs   map[string]map[string]string // by controller.Entity path; nil: known to have none
	pendingDeletion map[string]bool
	isrChanges      []string
	acls            []acl.Binding // acls.go
}

// liveBroker is a registered broker with its epoch, the creation zxid of
// its registration (Kafka's broker epoch): a broker that restarted has a
// new one.
type liveBroker struct {
	controller.Broker
	epoch int64
}

// zkTopic is one topic as read from ZooKeeper.
type zkTopic struct {
	id         controller.TopicID
	assignment [][]int32
	zkVersion  int32
	// states is indexed by partition; nil while the partition has no
	// state znode (the controller has not created it yet).
	states  []*partitionState
	configs map[string]string
	// configVersion is the version of /config/topics/T, -1 if absent.
	configVersion int32
}

// NewStore connects to ZooKeeper, creates the chroot and Kafka's
// top-level paths when missing, registers this broker, reads the cluster
// state, and starts taking part in controller elections.
//
// A registration left by a previous process of the same broker (killed
// without closing its session) is waited out until its session expires;
// one held by a live process makes NewStore fail.
func NewStore(ctx context.Context, cfg Config) (*Store, error) {
	servers, root, err := parseConnect(cfg.Connect)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.ConnectionTimeout <= 0 {
		cfg.ConnectionTimeout = cfg.SessionTimeout
	}
	if cfg.LeaderImbalanceCheckInterval <= 0 {
		cfg.LeaderImbalanceCheckInterval = DefaultLeaderImbalanceCheckInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		cfg:            cfg,
		logger:         cfg.Logger,
		now:            cfg.Now,
		sessionTimeout: cfg.SessionTimeout,
		viewChanged:    make(chan struct{}),
		stop:           make(chan struct{}),
		isrWake:        make(chan struct{}, 1),
		view: zkView{
			controllerID:    -1,
			brokers:         map[int32]liveBroker{},
			topics:          map[string]*zkTopic{},
			brokerConfigs:   map[int32]map[string]string{},
			entityConfigs:   map[string]map[string]string{},
			pendingDeletion: map[string]bool{},
		},
	}
	s.events.signal = make(chan struct{}, 1)
	dial := cfg.dial
	if dial == nil {
		dial = net.DialTimeout
	}
	// Events come through the client's callback, not its channel: the
	// channel drops events once a handful are pending, and a dropped
	// watch notification would leave the view stale for good.
	conn, _, err := gozk.Connect(servers, cfg.SessionTimeout,
		gozk.WithLogger(zkLogger{cfg.Logger.With().Str("component", "zk").Logger()}),
		gozk.WithEventCallback(s.events.push),
		gozk.WithDialer(dial))
	if err != nil {
		return nil, fmt.Errorf("zookeeper %s: %w", cfg.Connect, err)
	}
	s.zk = &zkConn{conn: conn, root: root}
	if err := s.start(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// start brings a freshly connected store up (NewStore's steps after
// connecting).
func (s *Store) start(ctx context.Context) error {
	if err := s.awaitSession(ctx, s.cfg.ConnectionTimeout); err != nil {
		return err
	}
	if s.zk.root != "" {
		raw := &zkConn{conn: s.zk.conn}
		if err := raw.ensure(s.zk.root); err != nil {
			return fmt.Errorf("create chroot %s: %w", s.zk.root, err)
		}
	}
	for _, p := range zkPersistentPaths {
		if err := s.zk.ensure(p); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	clusterID, err := s.loadOrCreateClusterID()
	if err != nil {
		return err
	}
	s.view.clusterID = clusterID
	if err := s.register(ctx, true); err != nil {
		return err
	}
	c := newCacheLoop(s)
	c.dirty.markAll(&s.view)
	readCtx, cancel := context.WithTimeout(ctx, s.cfg.ConnectionTimeout)
	defer cancel()
	for {
		if err := c.refresh(); err == nil {
			break
		} else if readCtx.Err() != nil {
			return fmt.Errorf("read cluster state from ZooKeeper: %w", err)
		}
		select {
		case <-readCtx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.batch = newCacheBatch() // nothing to report about the initial state
	s.ctrl = newZKController(s)
	s.wg.Add(3)
	go func() { defer s.wg.Done(); c.run() }()
	go func() { defer s.wg.Done(); s.ctrl.run() }()
	go func() { defer s.wg.Done(); s.notifyISRChanges() }()
	s.logger.Info().Str("cluster_id", clusterID).Int32("broker_id", s.cfg.Self.ID).
		Int("brokers", len(s.view.brokers)).Int("topics", len(s.view.topics)).Msg("joined the ZooKeeper cluster")
	return nil
}

// awaitSession waits until the client has a session.
func (s *Store) awaitSession(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for s.zk.conn.State() != gozk.StateHasSession {
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to ZooKeeper at %s: %w", s.cfg.Connect, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%w: no ZooKeeper session with %s within %v (zookeeper.connection.timeout.ms)", controller.ErrStoreUnavailable, s.cfg.Connect, timeout)
		case <-poll.C:
		}
	}
	return nil
}

// loadOrCreateClusterID reads /cluster/id, creating it on the first start
// of the cluster.
func (s *Store) loadOrCreateClusterID() (string, error) {
	for range 3 {
		data, _, err := s.zk.get(zkClusterIDPath)
		if err == nil {
			return decodeClusterID(data)
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return "", err
		}
		id := controller.NewClusterID()
		if _, err := s.zk.create(zkClusterIDPath, encodeClusterID(id), 0); err == nil {
			s.logger.Info().Str("cluster_id", id).Msg("created cluster id")
			return id, nil
		} else if !errors.Is(err, gozk.ErrNodeExists) {
			return "", err
		}
	}
	return "", fmt.Errorf("read %s: it keeps changing", zkClusterIDPath)
}

// register creates this broker's ephemeral /brokers/ids/<id>. When the
// znode exists in another session, wait says whether to wait for it to
// vanish (its session expiring) for up to the session timeout and a
// margin.
func (s *Store) register(ctx context.Context, wait bool) error {
	path := zkBrokerPath(s.cfg.Self.ID)
	data := encodeBrokerRegistration(s.cfg.Self, s.cfg.Listeners, s.now())
	margin := max(s.sessionTimeout/2, 2*time.Second)
	deadline := time.NewTimer(s.sessionTimeout + margin)
	defer deadline.Stop()
	for {
		_, err := s.zk.create(path, data, gozk.FlagEphemeral)
		if err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return fmt.Errorf("register broker %d: %w", s.cfg.Self.ID, err)
		}
		var exists bool
		var st *gozk.Stat
		var ch <-chan gozk.Event
		var werr error
		if wait {
			exists, st, ch, werr = s.zk.conn.ExistsW(s.zk.abs(path))
		} else {
			exists, st, werr = s.zk.conn.Exists(s.zk.abs(path))
		}
		if werr != nil {
			return fmt.Errorf("register broker %d: %w", s.cfg.Self.ID, wrapZK("exists", path, werr))
		}
		if exists && st.EphemeralOwner == s.zk.conn.SessionID() {
			s.session.Store(st.EphemeralOwner)
			s.logger.Info().Int32("broker_id", s.cfg.Self.ID).Str("session", fmt.Sprintf("0x%x", st.EphemeralOwner)).Msg("registered in ZooKeeper")
			return nil
		}
		if !exists {
			continue
		}
		if !wait {
			return fmt.Errorf("register broker %d: %s is held by session 0x%x", s.cfg.Self.ID, path, st.EphemeralOwner)
		}
		s.logger.Warn().Int32("broker_id", s.cfg.Self.ID).Str("session", fmt.Sprintf("0x%x", st.EphemeralOwner)).
			Msg("broker id still registered by an earlier session; waiting for it to expire")
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("broker.id %d is already registered in ZooKeeper (%s, session 0x%x) by a live process: another broker uses the same broker.id", s.cfg.Self.ID, path, st.EphemeralOwner)
		case <-ctx.Done():
			return fmt.Errorf("register broker %d: %w", s.cfg.Self.ID, ctx.Err())
		}
	}
}

// eventQueue is an unbounded FIFO of zk events: the zk client's callback
// must never block, and dropping an event would lose a watch. A barrier
// in the queue is closed once the cache goroutine has applied everything
// queued before it.
type eventQueue struct {
	mu     sync.Mutex
	evs    []queuedEvent
	signal chan struct{}
}

type queuedEvent struct {
	ev      gozk.Event
	barrier chan struct{} // set for a barrier, which carries no event
}

func (q *eventQueue) push(ev gozk.Event) { q.add(queuedEvent{ev: ev}) }

func (q *eventQueue) add(e queuedEvent) {
	q.mu.Lock()
	q.evs = append(q.evs, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []queuedEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}

// catchUp waits until the view reflects every event the zk client has
// delivered so far. ZooKeeper delivers a watch notification before any
// reply that reflects a later state, so after a reply (an election won,
// say) this makes the view at least as new as what the reply saw. It
// gives up after a session timeout or when ctx ends.
func (s *Store) catchUp(ctx context.Context) {
	done := make(chan struct{})
	s.events.add(queuedEvent{barrier: done})
	t := time.NewTimer(s.sessionTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	case <-s.stop:
	}
}

// visible returns the topic as the Store shows it, or false while it is
// not to be shown: Kafka's brokers learn of a partition only once the
// controller has elected its leader, so a topic shows the partitions that
// have a state (those the controller has not created yet stay hidden), a
// topic queued for deletion is gone at once, and a topic without an ID
// (written by an old Kafka tool) waits for the controller to give it one.
// everyPartitionLed tells whether t has at least want partitions and a
// leader for each.
func everyPartitionLed(t controller.Topic, want int) bool {
	if len(t.Partitions) < want {
		return false
	}
	for _, p := range t.Partitions {
		if p.Leader < 0 {
			return false
		}
	}
	return true
}

func (v *zkView) visible(name string) (controller.Topic, bool) {
	t := v.topics[name]
	if t == nil || t.id.IsZero() || v.pendingDeletion[name] {
		return controller.Topic{}, false
	}
	return controller.ShownTopic(name, t.id, t.configs, t.assignment, func(i int) (controller.PartitionRecord, bool) {
		if i >= len(t.states) || t.states[i] == nil {
			return controller.PartitionRecord{}, false
		}
		return controller.PartitionRecord{LeaderAndISR: t.states[i].LeaderAndISR, PartitionEpoch: t.states[i].zkVersion}, true
	})
}

func (v *zkView) liveBrokers() []controller.Broker {
	out := make([]controller.Broker, 0, len(v.brokers))
	for _, b := range v.brokers {
		out = append(out, b.Broker)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// waitView waits until ready holds for the view (checked under the read
// lock after each applied batch) or ctx ends.
func (s *Store) waitView(ctx context.Context, ready func(v *zkView) bool) error {
	for {
		s.mu.RLock()
		ok := ready(&s.view)
		ch := s.viewChanged
		s.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return fmt.Errorf("%w: store closed", controller.ErrStoreUnavailable)
		}
	}
}

// settle waits (at most until ctx ends or a session timeout passes) for
// this store's view to show a write this store made, so that the caller
// reads its own writes. The write is done either way.
func (s *Store) settle(ctx context.Context, ready func(v *zkView) bool) {
	ctx, cancel := context.WithTimeout(ctx, s.sessionTimeout)
	defer cancel()
	_ = s.waitView(ctx, ready)
}

func (s *Store) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.view.clusterID
}

func (s *Store) ControllerID() int32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.view.controllerID
}

// Brokers lists the registered brokers by ID.
func (s *Store) Brokers() []controller.Broker {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.view.liveBrokers()
}

func (s *Store) Topics() []controller.Topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := slices.Sorted(maps.Keys(s.view.topics))
	out := make([]controller.Topic, 0, len(names))
	for _, name := range names {
		if t, ok := s.view.visible(name); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *Store) Topic(name string) (controller.Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.view.visible(name)
}

func (s *Store) TopicByID(id controller.TopicID) (controller.Topic, bool) {
	if id.IsZero() {
		return controller.Topic{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, t := range s.view.topics {
		if t.id == id {
			return s.view.visible(name)
		}
	}
	return controller.Topic{}, false
}

func (s *Store) BrokerConfigs(brokerID int32) map[string]string {
	if brokerID < 0 {
		brokerID = -1
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := maps.Clone(s.view.brokerConfigs[brokerID])
	if m == nil {
		m = map[string]string{}
	}
	return m
}

// CreateTopic writes the topic's config and assignment (Kafka's
// AdminZkClient.createTopicWithAssignment, in one multi so a refused
// topic leaves no config behind), then waits until the controller has
// elected a leader for every partition and this store shows them, or ctx
// ends (the topic then exists, without leaders yet, and the error wraps
// ctx's).
func (s *Store) CreateTopic(ctx context.Context, req controller.CreateTopicRequest) (controller.Topic, error) {
	if err := controller.ValidateTopicName(req.Name); err != nil {
		return controller.Topic{}, err
	}
	s.mu.RLock()
	_, exists := s.view.topics[req.Name]
	pending := s.view.pendingDeletion[req.Name]
	var collision string
	for existing := range s.view.topics {
		if controller.TopicNamesCollide(existing, req.Name) {
			collision = existing
		}
	}
	live := s.view.liveBrokers()
	s.mu.RUnlock()
	switch {
	case pending:
		return controller.Topic{}, fmt.Errorf("%w: topic %q is marked for deletion", controller.ErrTopicExists, req.Name)
	case exists:
		return controller.Topic{}, fmt.Errorf("%w: topic %q", controller.ErrTopicExists, req.Name)
	case collision != "":
		return controller.Topic{}, fmt.Errorf("%w: topic %q collides with existing topic %q ('.' and '_' are interchangeable in metric names)", controller.ErrInvalidTopicName, req.Name, collision)
	}
	assignment, err := controller.PlaceNewTopic(live, req.Partitions, req.ReplicationFactor, req.Assignment)
	if err != nil {
		return controller.Topic{}, err
	}
	placed := controller.Topic{Name: req.Name, ID: controller.NewTopicID(), Configs: maps.Clone(req.Configs), Internal: controller.IsInternalTopic(req.Name)}
	if placed.Configs == nil {
		placed.Configs = map[string]string{}
	}
	for i, replicas := range assignment {
		placed.Partitions = append(placed.Partitions, controller.NewPartition(int32(i), replicas))
	}
	if req.ValidateOnly {
		return placed, nil
	}

	configPath := zkTopicConfigPath(req.Name)
	for attempt := 0; ; attempt++ {
		configExists, _, err := s.zk.exists(configPath)
		if err != nil {
			return controller.Topic{}, err
		}
		configOp := opCreate(configPath, encodeConfig(req.Configs), 0)
		if configExists {
			// A leftover of a topic deleted by hand; Kafka overwrites it.
			configOp = opSet(configPath, encodeConfig(req.Configs), -1)
		}
		_, err = s.zk.multi(configOp, opCreate(zkTopicPath(req.Name), encodeTopic(placed.ID, assignment), 0))
		var me *multiError
		switch {
		case err == nil:
		case errors.As(err, &me) && me.index == 1 && errors.Is(err, gozk.ErrNodeExists):
			return controller.Topic{}, fmt.Errorf("%w: topic %q", controller.ErrTopicExists, req.Name)
		case errors.As(err, &me) && me.index == 0 && attempt < 3:
			continue // the config znode came or went meanwhile
		default:
			return controller.Topic{}, fmt.Errorf("create topic %s: %w", req.Name, err)
		}
		break
	}
	s.logger.Info().Str("topic", req.Name).Int("partitions", len(assignment)).Interface("assignment", assignment).Msg("created topic")

	want := len(assignment)
	err = s.waitView(ctx, func(v *zkView) bool {
		t, ok := v.visible(req.Name)
		return ok && t.ID == placed.ID && everyPartitionLed(t, want)
	})
	if err != nil {
		return placed, fmt.Errorf("topic %s is created but its partitions have no leaders yet: %w", req.Name, err)
	}
	t, _ := s.Topic(req.Name)
	return t, nil
}

// DeleteTopic queues the topic for deletion (/admin/delete_topics/T) and
// waits until the controller has removed its znodes and the queue entry
// and this store no longer shows them, or ctx ends. Deleting a topic
// already queued is not an error (Kafka swallows
// TopicAlreadyMarkedForDeletion).
func (s *Store) DeleteTopic(ctx context.Context, name string) error {
	s.mu.RLock()
	t, ok := s.view.topics[name]
	var id controller.TopicID
	if ok {
		id = t.id
	}
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	if _, err := s.zk.create(zkDeleteTopicPath(name), nil, 0); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	s.logger.Info().Str("topic", name).Msg("queued topic for deletion")
	// Done once the topic's znodes are gone and so is the queue entry,
	// which the controller deletes last: until then CreateTopic refuses
	// the name as marked for deletion.
	err := s.waitView(ctx, func(v *zkView) bool {
		t, ok := v.topics[name]
		return (!ok || t.id != id) && !v.pendingDeletion[name]
	})
	if err != nil {
		return fmt.Errorf("topic %s is queued for deletion but not deleted yet: %w", name, err)
	}
	return nil
}

// CreatePartitions adds partitions to the topic's assignment with a write
// conditional on the assignment it read (Kafka's AdminZkClient.
// addPartitions), then waits for the controller to elect their leaders.
func (s *Store) CreatePartitions(ctx context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error {
	path := zkTopicPath(name)
	for attempt := 0; ; attempt++ {
		s.mu.RLock()
		pending := s.view.pendingDeletion[name]
		live := s.view.liveBrokers()
		s.mu.RUnlock()
		if pending {
			return fmt.Errorf("%w: %q", controller.ErrTopicDeletionPending, name)
		}
		data, st, err := s.zk.get(path)
		if errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
		}
		if err != nil {
			return err
		}
		id, current, err := decodeTopic(name, data)
		if err != nil {
			return err
		}
		have := int32(len(current))
		if total <= have {
			return fmt.Errorf("%w: topic %q has %d partitions, the new count must be larger, not %d", controller.ErrInvalidPartitions, name, have, total)
		}
		adding := total - have
		if assignment != nil && int32(len(assignment)) != adding {
			return fmt.Errorf("%w: %d assignments for %d new partitions", controller.ErrInvalidAssignment, len(assignment), adding)
		}
		placed, err := controller.PlaceAddedPartitions(live, current[0], have, adding, assignment)
		if err != nil {
			return err
		}
		if validateOnly {
			return nil
		}
		_, err = s.zk.set(path, encodeTopic(id, append(current, placed...)), st.Version)
		if errors.Is(err, gozk.ErrBadVersion) && attempt < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("create partitions of %s: %w", name, err)
		}
		s.logger.Info().Str("topic", name).Int32("partitions", total).Interface("new_assignment", placed).Msg("added partitions")
		break
	}
	err := s.waitView(ctx, func(v *zkView) bool {
		t, ok := v.visible(name)
		return ok && everyPartitionLed(t, int(total))
	})
	if err != nil {
		return fmt.Errorf("partitions of %s are created but have no leaders yet: %w", name, err)
	}
	return nil
}

// SetTopicConfigs replaces /config/topics/T and notifies through
// /config/changes, as Kafka's AdminZkClient.changeTopicConfig does.
func (s *Store) SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	s.mu.RLock()
	_, ok := s.view.topics[name]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	version, err := s.writeConfig(zkTopicConfigPath(name), "topics/"+name, configs)
	if err != nil {
		return fmt.Errorf("set configs of topic %s: %w", name, err)
	}
	s.settle(ctx, func(v *zkView) bool {
		t := v.topics[name]
		return t == nil || t.configVersion >= version
	})
	return nil
}

// SetBrokerConfigs replaces /config/brokers/<id> (<default> for -1).
func (s *Store) SetBrokerConfigs(ctx context.Context, brokerID int32, configs map[string]string) error {
	if brokerID < 0 {
		brokerID = -1
	}
	entity := zkBrokerEntity(brokerID)
	if _, err := s.writeConfig(zkBrokerConfigPath(brokerID), "brokers/"+entity, configs); err != nil {
		return fmt.Errorf("set configs of broker %s: %w", entity, err)
	}
	want := maps.Clone(configs)
	s.settle(ctx, func(v *zkView) bool {
		got := v.brokerConfigs[brokerID]
		return maps.Equal(got, want) || (len(got) == 0 && len(want) == 0)
	})
	return nil
}

// writeConfig sets (or creates) a config znode and records the change
// notification; it returns the znode's new version.
func (s *Store) writeConfig(path, entityPath string, configs map[string]string) (int32, error) {
	data := encodeConfig(configs)
	var version int32
	for attempt := 0; ; attempt++ {
		st, err := s.zk.set(path, data, -1)
		if err == nil {
			version = st.Version
			break
		}
		if !errors.Is(err, gozk.ErrNoNode) || attempt > 2 {
			return 0, err
		}
		if _, err := s.zk.create(path, data, 0); err == nil {
			version = 0
			break
		} else if !errors.Is(err, gozk.ErrNodeExists) {
			return 0, err
		}
	}
	if _, err := s.zk.create(zkConfigChangesPath+"/"+zkConfigChangePrefix, encodeConfigChange(entityPath), gozk.FlagSequence); err != nil {
		s.logger.Warn().Err(err).Str("entity", entityPath).Msg("config change notification not written")
	}
	return version, nil
}

// AllocateProducerIDs takes the next block from /latest_producer_id_block
// with a write conditional on the block it read (Kafka's
// ZkProducerIdManager), so two brokers never get the same IDs.
func (s *Store) AllocateProducerIDs(ctx context.Context, count int64) (int64, error) {
	if count <= 0 {
		return 0, fmt.Errorf("allocate %d producer ids: count must be positive", count)
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("allocate producer ids: %w", err)
		}
		data, st, err := s.zk.get(zkProducerIDBlockPath)
		if errors.Is(err, gozk.ErrNoNode) {
			_, err := s.zk.create(zkProducerIDBlockPath, encodeProducerIDBlock(s.cfg.Self.ID, 0, count-1), 0)
			if err == nil {
				return 0, nil
			}
			if errors.Is(err, gozk.ErrNodeExists) {
				continue
			}
			return 0, fmt.Errorf("allocate producer ids: %w", err)
		}
		if err != nil {
			return 0, fmt.Errorf("allocate producer ids: %w", err)
		}
		end, err := decodeProducerIDBlockEnd(data)
		if err != nil {
			return 0, err
		}
		start := end + 1
		if start > (1<<63-1)-count {
			return 0, fmt.Errorf("allocate producer ids: the producer id space is exhausted")
		}
		_, err = s.zk.set(zkProducerIDBlockPath, encodeProducerIDBlock(s.cfg.Self.ID, start, start+count-1), st.Version)
		if errors.Is(err, gozk.ErrBadVersion) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("allocate producer ids: %w", err)
		}
		return start, nil
	}
}

// AlterPartition is the leader's ISR change: a write of the state znode
// conditional on its version being partitionEpoch, after checking that the
// znode at that version has leaderEpoch. Unlike the controller's writes
// it is not fenced by the controller epoch: Kafka's ZooKeeper-mode
// leaders update the ISR themselves, fenced only by the znode version.
func (s *Store) AlterPartition(ctx context.Context, topic string, partition, leaderEpoch, partitionEpoch int32, isr []int32) (controller.Partition, error) {
	s.mu.RLock()
	t := s.view.topics[topic]
	var replicas []int32
	if t != nil && partition >= 0 && int(partition) < len(t.assignment) {
		replicas = slices.Clone(t.assignment[partition])
	}
	s.mu.RUnlock()
	if replicas == nil {
		return controller.Partition{}, fmt.Errorf("%w: %s-%d", controller.ErrUnknownTopic, topic, partition)
	}
	path := zkStatePath(topic, partition)
	data, st, err := s.zk.get(path)
	if errors.Is(err, gozk.ErrNoNode) {
		return controller.Partition{}, fmt.Errorf("%w: %s-%d has no state", controller.ErrUnknownTopic, topic, partition)
	}
	if err != nil {
		return controller.Partition{}, err
	}
	cur, err := decodePartitionState(data, st)
	if err != nil {
		return controller.Partition{}, err
	}
	if cur.zkVersion != partitionEpoch || cur.LeaderEpoch != leaderEpoch {
		// The caller re-reads the partition next: let the view show at
		// least what was just read.
		s.catchUp(ctx)
		return controller.Partition{}, fmt.Errorf("%w: %s-%d is at leader epoch %d, partition epoch %d, not %d, %d", controller.ErrStalePartition, topic, partition, cur.LeaderEpoch, cur.zkVersion, leaderEpoch, partitionEpoch)
	}
	if err := controller.CheckISR(controller.Partition{Replicas: replicas, Leader: cur.Leader}, isr); err != nil {
		return controller.Partition{}, err
	}
	// A replica joining the ISR must be registered, read from ZooKeeper
	// rather than the view, which may not show a broker that just
	// registered (KIP-841).
	err = controller.CheckISRJoiners(cur.ISR, isr, func(id int32) (bool, error) {
		ok, _, err := s.zk.exists(zkBrokerPath(id))
		return ok, err
	})
	if err != nil {
		return controller.Partition{}, err
	}
	next := cur.clone()
	next.ISR = slices.Clone(isr)
	nst, err := s.zk.set(path, next.encode(), cur.zkVersion)
	switch {
	case errors.Is(err, gozk.ErrBadVersion):
		s.catchUp(ctx)
		return controller.Partition{}, fmt.Errorf("%w: %s-%d changed since partition epoch %d", controller.ErrStalePartition, topic, partition, partitionEpoch)
	case errors.Is(err, gozk.ErrNoNode):
		return controller.Partition{}, fmt.Errorf("%w: %s-%d", controller.ErrUnknownTopic, topic, partition)
	case err != nil:
		return controller.Partition{}, err
	}
	s.noteISRChange(controller.TopicPartition{Topic: topic, Partition: partition})
	s.logger.Debug().Str("topic", topic).Int32("partition", partition).Ints32("isr", isr).Int32("partition_epoch", nst.Version).Msg("ISR changed")
	out := controller.Partition{
		Partition:      partition,
		Replicas:       replicas,
		ISR:            slices.Clone(isr),
		Leader:         cur.Leader,
		LeaderEpoch:    cur.LeaderEpoch,
		PartitionEpoch: nst.Version,
	}
	s.settle(ctx, func(v *zkView) bool { return v.stateVersion(topic, partition) >= nst.Version })
	return out, nil
}

// stateVersion is the version of a partition's state in the view, -1 when
// unknown (-2 once the topic is gone, which satisfies no wait).
func (v *zkView) stateVersion(topic string, p int32) int32 {
	t := v.topics[topic]
	if t == nil {
		return 1<<31 - 1 // gone: nothing more to wait for
	}
	if int(p) >= len(t.states) || t.states[p] == nil {
		return -1
	}
	return t.states[p].zkVersion
}

// ElectLeaders runs on the controller (see zkController.electLeaders).
func (s *Store) ElectLeaders(ctx context.Context, typ controller.ElectionType, partitions []controller.TopicPartition) (map[controller.TopicPartition]error, error) {
	res, err := s.ctrl.call(ctx, ctrlRequest{electType: typ, partitions: partitions, all: partitions == nil})
	if err != nil {
		return nil, err
	}
	s.settleWritten(ctx, res.written)
	return res.results, nil
}

// ControlledShutdown runs on the controller (see
// zkController.controlledShutdown).
func (s *Store) ControlledShutdown(ctx context.Context, brokerID int32) ([]controller.TopicPartition, error) {
	epoch := int64(-1)
	s.mu.RLock()
	if b, ok := s.view.brokers[brokerID]; ok {
		epoch = b.epoch
	}
	s.mu.RUnlock()
	res, err := s.ctrl.call(ctx, ctrlRequest{shutdown: true, brokerID: brokerID, brokerEpoch: epoch})
	if err != nil {
		return nil, err
	}
	s.settleWritten(ctx, res.written)
	return res.remaining, nil
}

// settleWritten waits for the view to show states the controller wrote.
func (s *Store) settleWritten(ctx context.Context, written map[controller.TopicPartition]int32) {
	if len(written) == 0 {
		return
	}
	s.settle(ctx, func(v *zkView) bool {
		for tp, version := range written {
			if v.stateVersion(tp.Topic, tp.Partition) < version {
				return false
			}
		}
		return true
	})
}

// Subscribe calls fn after each change to the view, in order, on its own
// goroutine.
func (s *Store) Subscribe(fn func(controller.Change)) (cancel func()) {
	return s.subs.Add(fn)
}

// Close leaves the cluster: the session closes, so the broker's
// registration (and /controller, if it held it) vanish at once and the
// controller moves its partitions' leadership.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.zk.conn.Close()
		s.wg.Wait()
		s.subs.Close()
	})
	return nil
}

var _ controller.Store = (*Store)(nil)

// SessionState is the state of the store's ZooKeeper session
// (controller.SessionStater).
func (s *Store) SessionState() string {
	select {
	case <-s.stop:
		return controller.SessionClosed
	default:
	}
	switch s.zk.conn.State() {
	case gozk.StateHasSession:
		return controller.SessionConnected
	case gozk.StateConnecting, gozk.StateConnected:
		return controller.SessionConnecting
	case gozk.StateExpired:
		return controller.SessionExpired
	case gozk.StateAuthFailed:
		return controller.SessionAuthFailed
	default:
		return controller.SessionDisconnected
	}
}

// SessionService is "zookeeper" (controller.SessionStater).
func (s *Store) SessionService() string { return "zookeeper" }

var _ controller.SessionStater = (*Store)(nil)
