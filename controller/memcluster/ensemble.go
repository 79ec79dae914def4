package memcluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/controller"
)

// Defaults, Kafka's where Kafka has the setting.
const (
	DefaultSessionTimeout               = 18 * time.Second  // zookeeper.session.timeout.ms
	DefaultLeaderImbalanceCheckInterval = 300 * time.Second // leader.imbalance.check.interval.seconds
	// DefaultTickInterval is how often an ensemble on the real clock
	// checks its deadlines (session expiry, the leader imbalance check).
	DefaultTickInterval = 10 * time.Millisecond
)

// Options configure an Ensemble. The controller settings are the
// cluster's: in ZooKeeper mode each broker has its own and the acting
// controller's apply; here every broker shares them.
type Options struct {
	// ClusterID is the cluster's ID (empty: a new one, as the first broker
	// of a ZooKeeper cluster writes to /cluster/id).
	ClusterID string
	// SessionTimeout is zookeeper.session.timeout.ms (zero: 18 s): a
	// broker that stopped heartbeating (Pause, Kill, or a Store closed
	// while paused) is dead to the cluster once it passes.
	SessionTimeout time.Duration
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
	// Now is the clock. When nil, the ensemble uses time.Now and checks
	// its deadlines every TickInterval by itself; with a clock of the
	// caller's (a ManualClock), it checks them when the caller calls
	// Tick, so that a test decides exactly when a session expires.
	Now func() time.Time
	// TickInterval is how often an ensemble on the real clock checks its
	// deadlines (zero: DefaultTickInterval).
	TickInterval time.Duration
	// Logger gets the ensemble's log lines (zero value: none).
	Logger zerolog.Logger
}

// Ensemble is the in-memory metadata ensemble: it plays ZooKeeper's part
// for the brokers of one process, and runs the controller role on behalf
// of the broker that holds it. See the package documentation.
type Ensemble struct {
	opts      Options
	now       func() time.Time
	clusterID string
	logger    zerolog.Logger

	mu sync.Mutex
	// state is the data as last published; next is the copy an operation
	// changes, published when it ends (settle), nil between operations.
	state *clusterState
	next  *clusterState
	// zxid numbers the ensemble's writes, as ZooKeeper's transaction IDs
	// do: broker epochs and partition state writes are positions in it.
	zxid int64
	// sessions holds each registered broker's session.
	sessions map[int32]*session
	// stores holds the running (connected or paused) Store of each
	// broker; a killed or closed Store leaves it.
	stores          map[int32]*Store
	role            controllerRole
	controllerEpoch int32
	nextProducerID  int64
	// changed is closed (and replaced) after every operation, waking
	// Joins waiting for an earlier session to expire.
	changed chan struct{}
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// session is a broker's ZooKeeper session: it holds the broker's
// registration (and /controller when it is the controller's) until it
// ends: closed by its Store, or expired SessionTimeout after its Store
// stopped heartbeating.
type session struct {
	broker int32
	epoch  int64
	store  *Store
	// silentSince is when its Store stopped heartbeating (zero while it
	// heartbeats).
	silentSince time.Time
}

// New starts an ensemble with no broker. Close it when done.
func New(opts Options) *Ensemble {
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	if opts.LeaderImbalanceCheckInterval <= 0 {
		opts.LeaderImbalanceCheckInterval = DefaultLeaderImbalanceCheckInterval
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = DefaultTickInterval
	}
	e := &Ensemble{
		opts:      opts,
		now:       opts.Now,
		clusterID: opts.ClusterID,
		logger:    opts.Logger,
		state:     newClusterState(),
		sessions:  map[int32]*session{},
		stores:    map[int32]*Store{},
		role:      controllerRole{},
		changed:   make(chan struct{}),
		stop:      make(chan struct{}),
	}
	if e.clusterID == "" {
		e.clusterID = controller.NewClusterID()
	}
	if e.now == nil {
		e.now = time.Now
		e.wg.Add(1)
		go e.tickEvery(opts.TickInterval)
	}
	return e
}

func (e *Ensemble) tickEvery(d time.Duration) {
	defer e.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.Tick()
		}
	}
}

// Close stops the ensemble: every running Store dies (its calls fail with
// ErrStoreUnavailable, its subscriptions end) and Join fails.
func (e *Ensemble) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	for _, id := range slices.Sorted(maps.Keys(e.stores)) {
		e.stores[id].die()
	}
	e.stores = map[int32]*Store{}
	close(e.stop)
	e.mu.Unlock()
	e.wg.Wait()
}

// ClusterID is the cluster's ID.
func (e *Ensemble) ClusterID() string { return e.clusterID }

// ControllerID is the broker holding the controller role (-1: none), as
// the ensemble has it; a Store's ControllerID is its broker's view.
func (e *Ensemble) ControllerID() int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.controllerID
}

// Topic is a topic as the ensemble holds it, which is what a connected
// Store's Topic shows, for harnesses that look at the cluster from
// outside every broker (package broker/embedded).
func (e *Ensemble) Topic(name string) (controller.Topic, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.visible(name)
}

// Brokers lists the registered brokers by ID, as a connected Store's
// Brokers does.
func (e *Ensemble) Brokers() []controller.Broker {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.liveBrokers()
}

// ControllerEpoch is the controller epoch: 1 for the first controller,
// one more for each election after it (/controller_epoch).
func (e *Ensemble) ControllerEpoch() int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.controllerEpoch
}

// Join registers a broker (its ephemeral /brokers/ids/N) and returns its
// Store, which takes part in controller elections. Joining again after
// the broker's Store was closed, killed or expired is a restart: a new
// registration, so a new broker epoch, and the controller treats the
// broker's leaderships and ISR memberships as those of a process that
// died and came back (controller.Liveness.WithRestarts).
//
// As a broker restarting after a crash does in ZooKeeper mode, Join
// waits while the broker's previous session still holds its registration
// (a Kill whose session timeout has not passed yet) until it expires or
// ctx ends. A broker whose Store is running or paused cannot join again:
// another broker with the same broker.id is an error, and a paused one is
// Killed first.
func (e *Ensemble) Join(ctx context.Context, self controller.Broker) (*Store, error) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, fmt.Errorf("%w: the ensemble is closed", controller.ErrStoreUnavailable)
		}
		if s := e.stores[self.ID]; s != nil {
			e.mu.Unlock()
			if s.status == paused {
				return nil, fmt.Errorf("broker %d is paused, not stopped: Kill it before it joins again", self.ID)
			}
			return nil, fmt.Errorf("broker.id %d is already registered by a running broker: another broker uses the same broker.id", self.ID)
		}
		if e.sessions[self.ID] == nil {
			break
		}
		wait := e.changed
		e.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("register broker %d: its previous session still holds the registration: %w", self.ID, ctx.Err())
		}
	}
	defer e.mu.Unlock()
	s := &Store{e: e, self: self, stop: make(chan struct{}), viewChanged: make(chan struct{})}
	e.stores[self.ID] = s
	e.register(s)
	e.settle()
	e.logger.Info().Int32("broker", self.ID).Int64("epoch", s.session.epoch).Msg("broker joined")
	return s, nil
}

// register opens a session for s and registers its broker.
func (e *Ensemble) register(s *Store) {
	e.zxid++
	sess := &session{broker: s.self.ID, epoch: e.zxid, store: s}
	e.sessions[s.self.ID] = sess
	s.session = sess
	s.status = connected
	e.write().brokers[s.self.ID] = registration{Broker: s.self, epoch: sess.epoch}
}

// endSession ends a session: its registration goes, and the controller
// role if it held it.
func (e *Ensemble) endSession(sess *session) {
	if e.sessions[sess.broker] == sess {
		delete(e.sessions, sess.broker)
	}
	st := e.write()
	if b, ok := st.brokers[sess.broker]; ok && b.epoch == sess.epoch {
		delete(st.brokers, sess.broker)
	}
	if e.role.session == sess {
		e.logger.Info().Int32("broker", sess.broker).Int32("controller_epoch", e.controllerEpoch).Msg("the controller's session ended")
		e.role = controllerRole{}
		st.controllerID = -1
	}
	if sess.store.session == sess {
		sess.store.session = nil
	}
	e.logger.Info().Int32("broker", sess.broker).Int64("epoch", sess.epoch).Msg("session ended")
}

// Kill makes broker id's process die as kill -9 does: its Store stops at
// once (calls fail with ErrStoreUnavailable, subscriptions end), but its
// session holds its registration, and the controller role if it has it,
// until SessionTimeout passes on the clock: until then the cluster still
// counts the broker as alive, and a controller that was killed has no
// successor. Expire ends the session at once.
func (e *Ensemble) Kill(id int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stores[id]
	if s == nil {
		return fmt.Errorf("broker %d is not running", id)
	}
	e.kill(s)
	return nil
}

// kill stops s as kill -9 stops its process (e.mu held): see Kill.
func (e *Ensemble) kill(s *Store) {
	if e.stores[s.self.ID] == s {
		delete(e.stores, s.self.ID)
	}
	if s.status == connected && s.session != nil {
		s.session.silentSince = e.now()
	}
	s.die()
	e.settle()
}

// Expire ends broker id's session now, as if its session timeout had
// passed: its registration goes, the controller role moves if it held
// it, and the controller re-elects the leaders of its partitions and takes
// it out of the ISRs. A running Store dies with its session (kill -9,
// then the session timing out); a paused Store stays paused and, when
// resumed, registers again as a ZooKeeper client whose session expired
// does.
func (e *Ensemble) Expire(id int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	sess := e.sessions[id]
	if sess == nil {
		return fmt.Errorf("broker %d has no session", id)
	}
	if s := sess.store; s.status == connected {
		delete(e.stores, id)
		s.die()
	}
	e.endSession(sess)
	e.settle()
	return nil
}

// Pause cuts broker id's Store off from the ensemble, as a lost
// connection to ZooKeeper does: its session stops heartbeating and
// expires SessionTimeout later (Tick, or Expire at once); its calls that
// write fail with ErrStoreUnavailable; its snapshots stay as last seen
// and its subscribers hear nothing until Resume. A controller that is
// paused keeps the role, without acting, until its session expires.
func (e *Ensemble) Pause(id int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stores[id]
	if s == nil || s.status != connected {
		return fmt.Errorf("broker %d is not running connected", id)
	}
	s.status = paused
	if s.session != nil {
		s.session.silentSince = e.now()
	}
	e.logger.Info().Int32("broker", id).Msg("broker cut off from the ensemble")
	return nil
}

// Resume reconnects a paused Store. When its session is still alive it
// carries on in it (a controller acts again); when the session expired,
// the Store registers again with a new broker epoch, as the ZooKeeper
// store does with a new session. Either way its view moves to the current
// state and its subscribers get the changes it missed.
func (e *Ensemble) Resume(id int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stores[id]
	if s == nil || s.status != paused {
		return fmt.Errorf("broker %d is not paused", id)
	}
	if s.session != nil {
		s.session.silentSince = time.Time{}
		s.status = connected
	} else {
		if e.sessions[id] != nil {
			return fmt.Errorf("broker %d cannot register again: another session holds broker.id %d", id, id)
		}
		e.register(s)
	}
	e.settle()
	e.logger.Info().Int32("broker", id).Int64("epoch", s.session.epoch).Msg("broker reconnected")
	return nil
}

// Tick checks the ensemble's deadlines against the clock: sessions whose
// Store has been silent for SessionTimeout expire, and the controller runs
// the leader imbalance check when it is due. An ensemble on the real
// clock ticks by itself; with a ManualClock, call Tick after moving it.
func (e *Ensemble) Tick() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	now := e.now()
	for _, id := range slices.Sorted(maps.Keys(e.sessions)) {
		sess := e.sessions[id]
		if !sess.silentSince.IsZero() && now.Sub(sess.silentSince) >= e.opts.SessionTimeout {
			e.endSession(sess)
		}
	}
	e.settle()
}

// cur is the state as the operation under way sees it.
func (e *Ensemble) cur() *clusterState {
	if e.next != nil {
		return e.next
	}
	return e.state
}

// write returns the copy the operation under way changes.
func (e *Ensemble) write() *clusterState {
	if e.next == nil {
		e.next = e.state.clone()
	}
	return e.next
}

// settle ends an operation (e.mu held): the controller does its part
// (an election when nobody holds the role, then its level-triggered
// reconcile and the imbalance check when due), the result is published,
// and every connected Store's view moves to it, its subscribers told what
// changed. Subscribers see the changes in the order the operations ran.
func (e *Ensemble) settle() {
	if e.role.session == nil {
		e.elect()
	}
	if e.acting() {
		e.reconcile()
		if e.opts.AutoLeaderRebalance && !e.now().Before(e.role.nextRebalance) {
			e.autoRebalance()
			e.role.nextRebalance = e.now().Add(e.opts.LeaderImbalanceCheckInterval)
		}
	}
	if e.next != nil {
		e.state, e.next = e.next, nil
	}
	for _, id := range slices.Sorted(maps.Keys(e.stores)) {
		if s := e.stores[id]; s.status == connected {
			s.show(e.state)
		}
	}
	close(e.changed)
	e.changed = make(chan struct{})
}

// unavailable is what a call of a Store that cannot reach the ensemble
// returns (e.mu held); nil when it can.
func unavailable(s *Store) error {
	switch s.status {
	case paused:
		return fmt.Errorf("%w: broker %d is cut off from the ensemble", controller.ErrStoreUnavailable, s.self.ID)
	case dead:
		return fmt.Errorf("%w: store closed", controller.ErrStoreUnavailable)
	}
	return nil
}
