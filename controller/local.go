package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/log/atomicfile"
)

// MetadataFile is the name of the LocalStore's state file in its
// directory.
const MetadataFile = "__samsa_metadata.json"

// ErrStorage: the LocalStore could not write its file (a full disk, an I/O
// error). The change was not made, in memory or on disk
// (KAFKA_STORAGE_ERROR).
var ErrStorage = errors.New("cluster metadata could not be written to disk")

// LocalStore is the Store of a broker running alone: the broker is the
// controller, and the state lives in one JSON file written atomically
// before each call that changes it returns.
type LocalStore struct {
	path   string
	logger zerolog.Logger

	mu    sync.Mutex
	self  Broker
	state localState

	subs Subscribers
}

// localState is what the file holds.
type localState struct {
	Version       int                         `json:"version"`
	ClusterID     string                      `json:"cluster_id"`
	BrokerID      int32                       `json:"broker_id"`
	Topics        map[string]*Topic           `json:"topics"`
	BrokerConfigs map[int32]map[string]string `json:"broker_configs,omitempty"`
	// EntityConfigs are the client entities' configs by entity path.
	EntityConfigs  map[string]map[string]string `json:"entity_configs,omitempty"`
	NextProducerID int64                        `json:"next_producer_id"`
	// ACLs are the access control lists (local_acls.go).
	ACLs []acl.Binding `json:"acls,omitempty"`
}

// NewLocalStore opens (or creates) the store in dir for broker brokerID.
func NewLocalStore(dir string, brokerID int32, self Broker, logger zerolog.Logger) (*LocalStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata directory: %w", err)
	}
	s := &LocalStore{path: filepath.Join(dir, MetadataFile), logger: logger, self: self}
	data, err := os.ReadFile(s.path)
	switch {
	case os.IsNotExist(err):
		s.state = localState{Version: 1, ClusterID: NewClusterID(), BrokerID: brokerID, Topics: map[string]*Topic{}}
		if err := s.persist(); err != nil {
			return nil, err
		}
		logger.Info().Str("cluster_id", s.state.ClusterID).Str("file", s.path).Msg("created cluster metadata")
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	default:
		if err := json.Unmarshal(data, &s.state); err != nil {
			return nil, fmt.Errorf("%s is corrupt (%v); restore it or move the log directory aside", s.path, err)
		}
		if s.state.ClusterID == "" {
			return nil, fmt.Errorf("%s holds no cluster id; restore it or move the log directory aside", s.path)
		}
		if s.state.BrokerID != brokerID {
			return nil, fmt.Errorf("%s belongs to broker.id %d, not %d: the log directory is another broker's", s.path, s.state.BrokerID, brokerID)
		}
		if s.state.Topics == nil {
			s.state.Topics = map[string]*Topic{}
		}
		for name, t := range s.state.Topics {
			t.Internal = IsInternalTopic(name)
		}
	}
	return s, nil
}

// persist writes the state atomically: temporary file, fsync, rename,
// fsync of the directory. Callers hold mu (or own s exclusively). A
// failed write wraps ErrStorage and leaves the file as it was; the
// temporary file is removed, so a full disk gets back what it lent. A
// directory that could not be fsynced after the rename is no failure: the
// file holds the new state already, so the change stands.
func (s *LocalStore) persist() error {
	data, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := atomicfile.Write(s.path, data); err != nil && !errors.Is(err, atomicfile.ErrDirNotSynced) {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// update applies fn to the state under the lock, persists it, and then
// notifies subscribers of change (unless fn returns an error or nothing
// changed). On a failed write the in-memory state is rolled back.
// Subscribe callbacks never run under the lock.
func (s *LocalStore) update(fn func(st *localState) (*Change, error)) error {
	s.mu.Lock()
	backup := s.state.clone()
	defer s.mu.Unlock()
	ch, err := fn(&s.state)
	if err != nil || ch == nil {
		return err
	}
	if err := s.persist(); err != nil {
		s.state = backup
		return err
	}
	// Queued under the lock so subscribers see changes in the order they
	// were made; delivery happens on each subscriber's goroutine.
	s.notify(*ch)
	return nil
}

func (st *localState) clone() localState {
	c := *st
	c.Topics = make(map[string]*Topic, len(st.Topics))
	for k, t := range st.Topics {
		tc := t.clone()
		c.Topics[k] = &tc
	}
	c.ACLs = slices.Clone(st.ACLs)
	c.BrokerConfigs = make(map[int32]map[string]string, len(st.BrokerConfigs))
	for k, m := range st.BrokerConfigs {
		c.BrokerConfigs[k] = maps.Clone(m)
	}
	c.EntityConfigs = make(map[string]map[string]string, len(st.EntityConfigs))
	for k, m := range st.EntityConfigs {
		c.EntityConfigs[k] = maps.Clone(m)
	}
	return c
}

func (t *Topic) clone() Topic {
	c := *t
	c.Configs = maps.Clone(t.Configs)
	if c.Configs == nil {
		c.Configs = map[string]string{}
	}
	c.Partitions = make([]Partition, len(t.Partitions))
	for i, p := range t.Partitions {
		p.Replicas = slices.Clone(p.Replicas)
		p.ISR = slices.Clone(p.ISR)
		c.Partitions[i] = p
	}
	return c
}

// SetSelf updates this broker's advertised endpoint (known only once the
// listeners are bound).
func (s *LocalStore) SetSelf(b Broker) {
	s.mu.Lock()
	s.self = b
	s.mu.Unlock()
}

func (s *LocalStore) ClusterID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.ClusterID
}

func (s *LocalStore) ControllerID() int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.BrokerID
}

func (s *LocalStore) Brokers() []Broker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []Broker{s.self}
}

func (s *LocalStore) Topics() []Topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Topic, 0, len(s.state.Topics))
	for _, name := range slices.Sorted(maps.Keys(s.state.Topics)) {
		out = append(out, s.state.Topics[name].clone())
	}
	return out
}

func (s *LocalStore) Topic(name string) (Topic, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.Topics[name]
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

func (s *LocalStore) TopicByID(id TopicID) (Topic, bool) {
	if id.IsZero() {
		return Topic{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.state.Topics {
		if t.ID == id {
			return t.clone(), true
		}
	}
	return Topic{}, false
}

// CreateTopic validates and creates a topic. Partitions and
// ReplicationFactor must be resolved by the caller (Kafka's -1 "broker
// default" is the broker's business).
func (s *LocalStore) CreateTopic(_ context.Context, req CreateTopicRequest) (Topic, error) {
	var created Topic
	err := s.update(func(st *localState) (*Change, error) {
		if err := ValidateTopicName(req.Name); err != nil {
			return nil, err
		}
		if _, ok := st.Topics[req.Name]; ok {
			return nil, fmt.Errorf("%w: topic %q", ErrTopicExists, req.Name)
		}
		for existing := range st.Topics {
			if TopicNamesCollide(existing, req.Name) {
				return nil, fmt.Errorf("%w: topic %q collides with existing topic %q ('.' and '_' are interchangeable in metric names)", ErrInvalidTopicName, req.Name, existing)
			}
		}
		assignment, err := PlaceNewTopic([]Broker{s.self}, req.Partitions, req.ReplicationFactor, req.Assignment)
		if err != nil {
			return nil, err
		}
		// Internal follows the name, as in Kafka (and the zk.Store).
		t := Topic{Name: req.Name, ID: NewTopicID(), Configs: maps.Clone(req.Configs), Internal: IsInternalTopic(req.Name)}
		if t.Configs == nil {
			t.Configs = map[string]string{}
		}
		for i, replicas := range assignment {
			t.Partitions = append(t.Partitions, NewPartition(int32(i), replicas))
		}
		created = t.clone()
		if req.ValidateOnly {
			return nil, nil
		}
		st.Topics[req.Name] = &t
		return &Change{Kind: TopicCreated, Topic: req.Name}, nil
	})
	return created, err
}

func (s *LocalStore) DeleteTopic(_ context.Context, name string) error {
	return s.update(func(st *localState) (*Change, error) {
		if _, ok := st.Topics[name]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
		}
		delete(st.Topics, name)
		return &Change{Kind: TopicDeleted, Topic: name}, nil
	})
}

func (s *LocalStore) CreatePartitions(_ context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error {
	return s.update(func(st *localState) (*Change, error) {
		t, ok := st.Topics[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
		}
		current := int32(len(t.Partitions))
		if total <= current {
			return nil, fmt.Errorf("%w: topic %q has %d partitions, the new count must be larger, not %d", ErrInvalidPartitions, name, current, total)
		}
		adding := total - current
		if assignment != nil && int32(len(assignment)) != adding {
			return nil, fmt.Errorf("%w: %d assignments for %d new partitions", ErrInvalidAssignment, len(assignment), adding)
		}
		placed, err := PlaceAddedPartitions([]Broker{s.self}, t.Partitions[0].Replicas, current, adding, assignment)
		if err != nil {
			return nil, err
		}
		if validateOnly {
			return nil, nil
		}
		for i, replicas := range placed {
			t.Partitions = append(t.Partitions, NewPartition(current+int32(i), replicas))
		}
		return &Change{Kind: PartitionsCreated, Topic: name}, nil
	})
}

// RemoveNewPartitions takes back partitions from..count-1, which
// CreatePartitions just added, while the topic is still the one with ID id
// and has exactly count partitions. The broker calls it when it could not
// create the new partitions' logs, so that a CreatePartitions answered
// with an error leaves no partition behind. Kafka never shrinks a topic;
// here the broker is the only replica, and nothing was written to the
// new partitions.
func (s *LocalStore) RemoveNewPartitions(_ context.Context, name string, id TopicID, from, count int32) error {
	return s.update(func(st *localState) (*Change, error) {
		t, ok := st.Topics[name]
		if !ok || t.ID != id {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
		}
		if from < 1 || from > count || int32(len(t.Partitions)) != count {
			return nil, fmt.Errorf("%w: topic %q has %d partitions, not %d; not taking back partitions from %d", ErrInvalidPartitions, name, len(t.Partitions), count, from)
		}
		if from == count {
			return nil, nil
		}
		t.Partitions = t.Partitions[:from]
		// Subscribers re-read the topic's partitions on any change.
		return &Change{Kind: PartitionsCreated, Topic: name}, nil
	})
}

func (s *LocalStore) SetTopicConfigs(_ context.Context, name string, configs map[string]string) error {
	return s.update(func(st *localState) (*Change, error) {
		t, ok := st.Topics[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
		}
		t.Configs = maps.Clone(configs)
		if t.Configs == nil {
			t.Configs = map[string]string{}
		}
		return &Change{Kind: TopicConfigChanged, Topic: name}, nil
	})
}

func (s *LocalStore) BrokerConfigs(brokerID int32) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := maps.Clone(s.state.BrokerConfigs[brokerID])
	if m == nil {
		m = map[string]string{}
	}
	return m
}

func (s *LocalStore) SetBrokerConfigs(_ context.Context, brokerID int32, configs map[string]string) error {
	return s.update(func(st *localState) (*Change, error) {
		if st.BrokerConfigs == nil {
			st.BrokerConfigs = map[int32]map[string]string{}
		}
		if len(configs) == 0 {
			delete(st.BrokerConfigs, brokerID)
		} else {
			st.BrokerConfigs[brokerID] = maps.Clone(configs)
		}
		return &Change{Kind: BrokerConfigChanged, BrokerID: brokerID}, nil
	})
}

func (s *LocalStore) EntityConfigs(entity string) map[string]string {
	e, err := ParseEntity(entity)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.state.EntityConfigs[e.Path()])
}

func (s *LocalStore) ListEntityConfigs(entityType string) map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return EntitiesOfType(s.state.EntityConfigs, entityType)
}

func (s *LocalStore) AlterEntityConfigs(_ context.Context, entity string, set map[string]string, remove []string) error {
	e, err := ParseEntity(entity)
	if err != nil {
		return err
	}
	path := e.Path()
	return s.update(func(st *localState) (*Change, error) {
		next := AlterEntity(st.EntityConfigs[path], set, remove)
		if maps.Equal(next, st.EntityConfigs[path]) {
			return nil, nil
		}
		if st.EntityConfigs == nil {
			st.EntityConfigs = map[string]map[string]string{}
		}
		if next == nil {
			delete(st.EntityConfigs, path)
		} else {
			st.EntityConfigs[path] = next
		}
		return &Change{Kind: EntityConfigChanged, Entity: path}, nil
	})
}

func (s *LocalStore) AllocateProducerIDs(_ context.Context, count int64) (int64, error) {
	if count <= 0 {
		return 0, fmt.Errorf("allocate %d producer ids: count must be positive", count)
	}
	var first int64
	err := s.update(func(st *localState) (*Change, error) {
		first = st.NextProducerID
		st.NextProducerID += count
		return &Change{Kind: -1}, nil // persisted; not a change subscribers see
	})
	return first, err
}

// Subscribe calls fn after each change, in order, on its own goroutine.
func (s *LocalStore) Subscribe(fn func(Change)) (cancel func()) {
	return s.subs.Add(fn)
}

func (s *LocalStore) notify(ch Change) {
	if ch.Kind < 0 {
		return
	}
	s.subs.Publish(ch)
}

// Close stops change delivery.
func (s *LocalStore) Close() error {
	s.subs.Close()
	return nil
}

// AlterPartition applies a leader's ISR change. Alone, the broker is every
// partition's leader and only replica, so the only valid ISR is itself;
// the checks are those every store makes.
func (s *LocalStore) AlterPartition(_ context.Context, topic string, partition, leaderEpoch, partitionEpoch int32, isr []int32) (Partition, error) {
	var out Partition
	err := s.update(func(st *localState) (*Change, error) {
		t, ok := st.Topics[topic]
		if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
			return nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, topic, partition)
		}
		p := &t.Partitions[partition]
		if p.LeaderEpoch != leaderEpoch || p.PartitionEpoch != partitionEpoch {
			return nil, fmt.Errorf("%w: %s-%d is at leader epoch %d, partition epoch %d", ErrStalePartition, topic, partition, p.LeaderEpoch, p.PartitionEpoch)
		}
		if err := CheckISR(*p, isr); err != nil {
			return nil, err
		}
		p.ISR = slices.Clone(isr)
		p.PartitionEpoch++
		out = *p
		out.Replicas, out.ISR = slices.Clone(p.Replicas), slices.Clone(p.ISR)
		return &Change{Kind: LeadershipChanged, Topic: topic}, nil
	})
	return out, err
}

// ElectLeaders: alone, the broker already leads every partition, which is
// each partition's only and preferred replica, so no election is needed.
func (s *LocalStore) ElectLeaders(_ context.Context, _ ElectionType, partitions []TopicPartition) (map[TopicPartition]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[TopicPartition]error)
	if partitions == nil {
		for name, t := range s.state.Topics {
			for i := range t.Partitions {
				partitions = append(partitions, TopicPartition{Topic: name, Partition: int32(i)})
			}
		}
	}
	for _, tp := range partitions {
		t, ok := s.state.Topics[tp.Topic]
		if !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
			out[tp] = ErrUnknownTopic
			continue
		}
		out[tp] = ErrElectionNotNeeded
	}
	return out, nil
}

// ControlledShutdown: alone, there is no other replica to lead, so every
// partition stays with this broker until it stops.
func (s *LocalStore) ControlledShutdown(_ context.Context, brokerID int32) ([]TopicPartition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var remaining []TopicPartition
	for name, t := range s.state.Topics {
		for _, p := range t.Partitions {
			if p.Leader == brokerID {
				remaining = append(remaining, TopicPartition{Topic: name, Partition: p.Partition})
			}
		}
	}
	return remaining, nil
}

var _ Store = (*LocalStore)(nil)
