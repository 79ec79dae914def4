package memcluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/samsa-io/samsa/controller"
)

// storeStatus is where a Store stands with the ensemble.
type storeStatus int

const (
	connected storeStatus = iota
	paused                // cut off: its session stops heartbeating
	dead                  // closed or killed
)

// Store is one broker's controller.Store in an Ensemble: what the
// ZooKeeper store is to a broker pointed at a real ZooKeeper. Snapshots
// come from its view, which follows the ensemble's state while the Store
// is connected and stays as last seen while it is paused; calls that
// write go to the ensemble and return once the Store's own view shows
// their result (CreateTopic, CreatePartitions and DeleteTopic wait for
// the controller's part, as in ZooKeeper mode).
type Store struct {
	e    *Ensemble
	self controller.Broker

	// Guarded by e.mu.
	status  storeStatus
	session *session // nil while it has none (expired while paused)
	stop    chan struct{}

	// mu guards view and viewChanged; it is taken after e.mu, never
	// before it.
	mu          sync.RWMutex
	view        *clusterState
	viewChanged chan struct{}

	subs controller.Subscribers
}

var _ controller.Store = (*Store)(nil)

// show moves the view to st and tells subscribers what changed (e.mu
// held). A Store's first view is its starting point, not a change.
func (s *Store) show(st *clusterState) {
	s.mu.Lock()
	before := s.view
	if before == st {
		s.mu.Unlock()
		return
	}
	s.view = st
	close(s.viewChanged)
	s.viewChanged = make(chan struct{})
	s.mu.Unlock()
	if before != nil {
		s.subs.Publish(st.changesSince(before)...)
	}
}

// die stops the Store (e.mu held): calls fail, waits end, subscriptions
// stop.
func (s *Store) die() {
	if s.status == dead {
		return
	}
	s.status = dead
	close(s.stop)
	s.subs.Close()
}

// snapshot is the Store's view.
func (s *Store) snapshot() *clusterState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.view
}

// lock takes the ensemble's lock for a call that needs the ensemble,
// or fails as a ZooKeeper call does without a connection.
func (s *Store) lock() error {
	s.e.mu.Lock()
	if err := unavailable(s); err != nil {
		s.e.mu.Unlock()
		return err
	}
	return nil
}

// waitView waits until ready holds for the view, or ctx ends, or the
// Store dies.
func (s *Store) waitView(ctx context.Context, ready func(v *clusterState) bool) error {
	for {
		s.mu.RLock()
		ok := ready(s.view)
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

func (s *Store) ClusterID() string { return s.e.clusterID }

func (s *Store) ControllerID() int32 { return s.snapshot().controllerID }

// Brokers lists the registered brokers by ID.
func (s *Store) Brokers() []controller.Broker { return s.snapshot().liveBrokers() }

func (s *Store) Topics() []controller.Topic {
	v := s.snapshot()
	out := make([]controller.Topic, 0, len(v.topics))
	for _, name := range slices.Sorted(maps.Keys(v.topics)) {
		if t, ok := v.visible(name); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *Store) Topic(name string) (controller.Topic, bool) { return s.snapshot().visible(name) }

func (s *Store) TopicByID(id controller.TopicID) (controller.Topic, bool) {
	if id.IsZero() {
		return controller.Topic{}, false
	}
	v := s.snapshot()
	for name, t := range v.topics {
		if t.id == id {
			return v.visible(name)
		}
	}
	return controller.Topic{}, false
}

func (s *Store) BrokerConfigs(brokerID int32) map[string]string {
	if brokerID < 0 {
		brokerID = -1
	}
	m := maps.Clone(s.snapshot().brokerConfigs[brokerID])
	if m == nil {
		m = map[string]string{}
	}
	return m
}

// CreateTopic checks the request against the Store's view and places the
// replicas on the brokers it shows, as the ZooKeeper store does, then
// writes the topic and waits until the controller has elected a leader
// for every partition and the view shows them, or ctx ends (the topic
// then exists, without leaders yet, and the error wraps ctx's).
func (s *Store) CreateTopic(ctx context.Context, req controller.CreateTopicRequest) (controller.Topic, error) {
	if err := controller.ValidateTopicName(req.Name); err != nil {
		return controller.Topic{}, err
	}
	v := s.snapshot()
	var collision string
	for existing := range v.topics {
		if controller.TopicNamesCollide(existing, req.Name) {
			collision = existing
		}
	}
	switch {
	case v.pendingDeletion[req.Name]:
		return controller.Topic{}, fmt.Errorf("%w: topic %q is marked for deletion", controller.ErrTopicExists, req.Name)
	case v.topics[req.Name] != nil:
		return controller.Topic{}, fmt.Errorf("%w: topic %q", controller.ErrTopicExists, req.Name)
	case collision != "":
		return controller.Topic{}, fmt.Errorf("%w: topic %q collides with existing topic %q ('.' and '_' are interchangeable in metric names)", controller.ErrInvalidTopicName, req.Name, collision)
	}
	assignment, err := controller.PlaceNewTopic(v.liveBrokers(), req.Partitions, req.ReplicationFactor, req.Assignment)
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

	if err := s.lock(); err != nil {
		return controller.Topic{}, err
	}
	e := s.e
	if e.cur().topics[req.Name] != nil {
		e.mu.Unlock()
		return controller.Topic{}, fmt.Errorf("%w: topic %q", controller.ErrTopicExists, req.Name)
	}
	e.write().topics[req.Name] = &topicState{
		id:         placed.ID,
		assignment: assignment,
		states:     make([]*partitionState, len(assignment)),
		configs:    maps.Clone(placed.Configs),
	}
	e.logger.Info().Str("topic", req.Name).Int("partitions", len(assignment)).Interface("assignment", assignment).Msg("created topic")
	e.settle()
	e.mu.Unlock()

	want := len(assignment)
	err = s.waitView(ctx, func(v *clusterState) bool {
		t, ok := v.visible(req.Name)
		return ok && t.ID == placed.ID && everyPartitionLed(t, want)
	})
	if err != nil {
		return placed, fmt.Errorf("topic %s is created but its partitions have no leaders yet: %w", req.Name, err)
	}
	t, _ := s.Topic(req.Name)
	return t, nil
}

// DeleteTopic queues the topic for deletion and waits until the
// controller has deleted it and the Store's view no longer shows it, or
// ctx ends. Deleting a topic already queued is not an error (Kafka
// swallows TopicAlreadyMarkedForDeletion).
func (s *Store) DeleteTopic(ctx context.Context, name string) error {
	t := s.snapshot().topics[name]
	if t == nil {
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	id := t.id
	if err := s.lock(); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	e := s.e
	if cur := e.cur().topics[name]; cur != nil && cur.id == id {
		e.write().pendingDeletion[name] = true
		e.logger.Info().Str("topic", name).Msg("queued topic for deletion")
	}
	e.settle()
	e.mu.Unlock()
	err := s.waitView(ctx, func(v *clusterState) bool {
		t := v.topics[name]
		return (t == nil || t.id != id) && !v.pendingDeletion[name]
	})
	if err != nil {
		return fmt.Errorf("topic %s is queued for deletion but not deleted yet: %w", name, err)
	}
	return nil
}

// CreatePartitions adds partitions to the topic's assignment, placed on
// the brokers the Store's view shows (Kafka's AdminZkClient.
// addPartitions), then waits for the controller to elect their leaders.
func (s *Store) CreatePartitions(ctx context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error {
	v := s.snapshot()
	if v.pendingDeletion[name] {
		return fmt.Errorf("%w: %q", controller.ErrTopicDeletionPending, name)
	}
	if err := s.lock(); err != nil {
		return fmt.Errorf("create partitions of %s: %w", name, err)
	}
	e := s.e
	t := e.cur().topics[name]
	if t == nil {
		e.mu.Unlock()
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	have := int32(len(t.assignment))
	if total <= have {
		e.mu.Unlock()
		return fmt.Errorf("%w: topic %q has %d partitions, the new count must be larger, not %d", controller.ErrInvalidPartitions, name, have, total)
	}
	adding := total - have
	if assignment != nil && int32(len(assignment)) != adding {
		e.mu.Unlock()
		return fmt.Errorf("%w: %d assignments for %d new partitions", controller.ErrInvalidAssignment, len(assignment), adding)
	}
	placed, err := controller.PlaceAddedPartitions(v.liveBrokers(), t.assignment[0], have, adding, assignment)
	if err != nil || validateOnly {
		e.mu.Unlock()
		return err
	}
	mt := e.write().mutableTopic(name)
	mt.assignment = append(slices.Clone(mt.assignment), placed...)
	mt.states = append(mt.states, make([]*partitionState, len(placed))...)
	e.logger.Info().Str("topic", name).Int32("partitions", total).Interface("new_assignment", placed).Msg("added partitions")
	e.settle()
	e.mu.Unlock()
	err = s.waitView(ctx, func(v *clusterState) bool {
		t, ok := v.visible(name)
		return ok && everyPartitionLed(t, int(total))
	})
	if err != nil {
		return fmt.Errorf("partitions of %s are created but have no leaders yet: %w", name, err)
	}
	return nil
}

// SetTopicConfigs replaces the topic's config overrides.
func (s *Store) SetTopicConfigs(_ context.Context, name string, configs map[string]string) error {
	if s.snapshot().topics[name] == nil {
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	if err := s.lock(); err != nil {
		return fmt.Errorf("set configs of topic %s: %w", name, err)
	}
	defer s.e.mu.Unlock()
	t := s.e.write().mutableTopic(name)
	if t == nil {
		return fmt.Errorf("%w: %q", controller.ErrUnknownTopic, name)
	}
	t.configs = maps.Clone(configs)
	if t.configs == nil {
		t.configs = map[string]string{}
	}
	s.e.settle()
	return nil
}

// SetBrokerConfigs replaces the dynamic config overrides of a broker (-1:
// the cluster-wide defaults).
func (s *Store) SetBrokerConfigs(_ context.Context, brokerID int32, configs map[string]string) error {
	if brokerID < 0 {
		brokerID = -1
	}
	if err := s.lock(); err != nil {
		return fmt.Errorf("set configs of broker %d: %w", brokerID, err)
	}
	defer s.e.mu.Unlock()
	st := s.e.write()
	if len(configs) == 0 {
		delete(st.brokerConfigs, brokerID)
	} else {
		st.brokerConfigs[brokerID] = maps.Clone(configs)
	}
	s.e.settle()
	return nil
}

// AllocateProducerIDs hands out the next block of producer IDs; the
// ensemble outlives its brokers, so a restarted broker never gets IDs
// handed out before.
func (s *Store) AllocateProducerIDs(ctx context.Context, count int64) (int64, error) {
	if count <= 0 {
		return 0, fmt.Errorf("allocate %d producer ids: count must be positive", count)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("allocate producer ids: %w", err)
	}
	if err := s.lock(); err != nil {
		return 0, fmt.Errorf("allocate producer ids: %w", err)
	}
	defer s.e.mu.Unlock()
	start := s.e.nextProducerID
	if start > (1<<63-1)-count {
		return 0, fmt.Errorf("allocate producer ids: the producer id space is exhausted")
	}
	s.e.nextProducerID += count
	return start, nil
}

// AlterPartition is the leader's ISR change, as the ZooKeeper store makes
// it: applied only when the partition still has leaderEpoch and
// partitionEpoch, holding the leader and only replicas, adding only
// registered brokers (KIP-841), and not fenced by the controller.
func (s *Store) AlterPartition(_ context.Context, topic string, partition, leaderEpoch, partitionEpoch int32, isr []int32) (controller.Partition, error) {
	vt := s.snapshot().topics[topic]
	if vt == nil || partition < 0 || int(partition) >= len(vt.assignment) {
		return controller.Partition{}, fmt.Errorf("%w: %s-%d", controller.ErrUnknownTopic, topic, partition)
	}
	replicas := slices.Clone(vt.assignment[partition])
	if err := s.lock(); err != nil {
		return controller.Partition{}, err
	}
	e := s.e
	defer e.mu.Unlock()
	st := e.cur()
	t := st.topics[topic]
	if t == nil || int(partition) >= len(t.states) || t.states[partition] == nil {
		return controller.Partition{}, fmt.Errorf("%w: %s-%d has no state", controller.ErrUnknownTopic, topic, partition)
	}
	cur := t.states[partition]
	if cur.version != partitionEpoch || cur.LeaderEpoch != leaderEpoch {
		return controller.Partition{}, fmt.Errorf("%w: %s-%d is at leader epoch %d, partition epoch %d, not %d, %d", controller.ErrStalePartition, topic, partition, cur.LeaderEpoch, cur.version, leaderEpoch, partitionEpoch)
	}
	if err := controller.CheckISR(controller.Partition{Replicas: replicas, Leader: cur.Leader}, isr); err != nil {
		return controller.Partition{}, err
	}
	err := controller.CheckISRJoiners(cur.ISR, isr, func(id int32) (bool, error) {
		_, ok := st.brokers[id]
		return ok, nil
	})
	if err != nil {
		return controller.Partition{}, err
	}
	written := e.writeState(topic, partition, controller.LeaderAndISR{Leader: cur.Leader, LeaderEpoch: cur.LeaderEpoch, ISR: isr})
	e.settle()
	return controller.Partition{
		Partition:      partition,
		Replicas:       replicas,
		ISR:            slices.Clone(isr),
		Leader:         written.Leader,
		LeaderEpoch:    written.LeaderEpoch,
		PartitionEpoch: written.version,
	}, nil
}

func (s *Store) EntityConfigs(entity string) map[string]string {
	e, err := controller.ParseEntity(entity)
	if err != nil {
		return nil
	}
	return maps.Clone(s.snapshot().entityConfigs[e.Path()])
}

func (s *Store) ListEntityConfigs(entityType string) map[string]map[string]string {
	return controller.EntitiesOfType(s.snapshot().entityConfigs, entityType)
}

// AlterEntityConfigs changes a client entity's configs under the
// ensemble's lock, so concurrent writers never lose each other's keys.
func (s *Store) AlterEntityConfigs(_ context.Context, entity string, set map[string]string, remove []string) error {
	e, err := controller.ParseEntity(entity)
	if err != nil {
		return err
	}
	path := e.Path()
	if err := s.lock(); err != nil {
		return fmt.Errorf("alter configs of %s: %w", path, err)
	}
	defer s.e.mu.Unlock()
	st := s.e.write()
	if next := controller.AlterEntity(st.entityConfigs[path], set, remove); next == nil {
		delete(st.entityConfigs, path)
	} else {
		st.entityConfigs[path] = next
	}
	s.e.settle()
	return nil
}

// controllerCall runs fn as the controller (e.mu held), if this Store's
// broker acts as the controller, and publishes what it wrote.
func (s *Store) controllerCall(fn func() error) error {
	if err := s.lock(); err != nil {
		return err
	}
	e := s.e
	defer e.mu.Unlock()
	if !e.acting() || e.role.session.store != s {
		return fmt.Errorf("%w (broker %d; the controller is broker %d)", controller.ErrNotController, s.self.ID, s.snapshot().controllerID)
	}
	err := fn()
	e.settle()
	return err
}

// ElectLeaders runs preferred or unclean elections; only the controller
// does (ErrNotController elsewhere).
func (s *Store) ElectLeaders(_ context.Context, typ controller.ElectionType, partitions []controller.TopicPartition) (map[controller.TopicPartition]error, error) {
	var results map[controller.TopicPartition]error
	err := s.controllerCall(func() (err error) {
		results, err = s.e.electLeaders(typ, partitions)
		return err
	})
	return results, err
}

// ControlledShutdown moves brokerID's leaderships to other in-sync
// replicas and takes it out of the ISRs; only the controller does
// (ErrNotController elsewhere).
func (s *Store) ControlledShutdown(_ context.Context, brokerID int32) ([]controller.TopicPartition, error) {
	var remaining []controller.TopicPartition
	err := s.controllerCall(func() (err error) {
		remaining, err = s.e.controlledShutdown(brokerID)
		return err
	})
	return remaining, err
}

// Subscribe calls fn after each change to the Store's view, in order, on
// its own goroutine.
func (s *Store) Subscribe(fn func(controller.Change)) (cancel func()) {
	return s.subs.Add(fn)
}

// Crash stops the Store as its broker's process dying would, as
// Ensemble.Kill does: calls fail, subscriptions end, and the session
// holds the registration (and the controller role) until SessionTimeout
// passes or Ensemble.Expire ends it. It is node.Crasher, so a node
// killed with node.Node.Kill leaves its session behind as kill -9 does,
// where Close would end it. A Store already closed or crashed is left as
// it is.
func (s *Store) Crash() {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.status == dead {
		return
	}
	e.kill(s)
}

// Close leaves the cluster: the session closes, so the broker's
// registration (and the controller role, if it held it) go at once and
// the controller moves its partitions' leadership. A paused Store cannot
// tell the ensemble: its session lingers until it expires, as a ZooKeeper
// client's does when it closes without a connection.
func (s *Store) Close() error {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.status == dead {
		return nil
	}
	if e.stores[s.self.ID] == s {
		delete(e.stores, s.self.ID)
	}
	if s.status == connected && s.session != nil {
		e.endSession(s.session)
	}
	s.die()
	e.settle()
	return nil
}

// SessionState is where the Store stands with its ensemble, named as a
// ZooKeeper session's states are (controller.SessionStater): a paused
// Store is disconnected until its session expires.
func (s *Store) SessionState() string {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	switch {
	case s.status == dead:
		return controller.SessionClosed
	case s.status == paused && s.session == nil:
		return controller.SessionExpired
	case s.status == paused:
		return controller.SessionDisconnected
	default:
		return controller.SessionConnected
	}
}

// SessionService is "embedded": the ensemble is in-process
// (controller.SessionStater).
func (s *Store) SessionService() string { return "embedded" }

var _ controller.SessionStater = (*Store)(nil)
