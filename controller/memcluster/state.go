package memcluster

import (
	"maps"
	"slices"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

// clusterState is the ensemble's data, what ZooKeeper's tree holds in
// Kafka's layout: the registered brokers, /controller, the topics with
// their assignments and partition states, topic and broker configs, and
// the deletions queued for the controller. A published clusterState is
// never changed again: the ensemble changes a copy (clone, then
// mutableTopic for each topic it touches) and publishes that, so a
// Store's view is a pointer to a published state and reading it needs no
// ensemble lock.
type clusterState struct {
	controllerID    int32 // -1: none
	brokers         map[int32]registration
	topics          map[string]*topicState
	brokerConfigs   map[int32]map[string]string  // -1: the cluster-wide defaults
	entityConfigs   map[string]map[string]string // by controller.Entity path
	pendingDeletion map[string]bool
	// acls is /kafka-acl and /kafka-acl-extended; replaced, never
	// changed, on a write (acls.go).
	acls []acl.Binding

	// owned holds the topics this copy cloned and may still change.
	owned map[*topicState]bool
}

// registration is /brokers/ids/N: the broker and its epoch, the position
// in the ensemble's history at which it registered (in ZooKeeper, the
// znode's creation zxid). A broker that registers again has a new epoch.
type registration struct {
	controller.Broker
	epoch int64
}

// topicState is /brokers/topics/T with its partition states and
// /config/topics/T.
type topicState struct {
	id         controller.TopicID
	assignment [][]int32
	// states is indexed by partition; nil until the controller has
	// elected the partition's first leader.
	states  []*partitionState
	configs map[string]string
}

// partitionState is /brokers/topics/T/partitions/P/state: the leader and
// ISR elections decide, its version (the partition epoch) and the
// position in the ensemble's history of its last write (in ZooKeeper, the
// mzxid), which Liveness.WithRestarts compares with broker epochs. It is
// never changed once written: a write replaces it.
type partitionState struct {
	controller.LeaderAndISR
	version   int32
	writtenAt int64
}

func newClusterState() *clusterState {
	return &clusterState{
		controllerID:    -1,
		brokers:         map[int32]registration{},
		topics:          map[string]*topicState{},
		brokerConfigs:   map[int32]map[string]string{},
		entityConfigs:   map[string]map[string]string{},
		pendingDeletion: map[string]bool{},
	}
}

// clone is a copy to change: its maps are its own, the topics and the
// inner config maps are shared until replaced.
func (s *clusterState) clone() *clusterState {
	return &clusterState{
		controllerID:    s.controllerID,
		brokers:         maps.Clone(s.brokers),
		topics:          maps.Clone(s.topics),
		brokerConfigs:   maps.Clone(s.brokerConfigs),
		entityConfigs:   maps.Clone(s.entityConfigs),
		pendingDeletion: maps.Clone(s.pendingDeletion),
		acls:            s.acls,
		owned:           map[*topicState]bool{},
	}
}

// mutableTopic returns the topic, cloned into this copy on first use so
// that the published original stays as it was; nil when there is none.
func (s *clusterState) mutableTopic(name string) *topicState {
	t := s.topics[name]
	if t == nil || s.owned[t] {
		return t
	}
	c := &topicState{id: t.id, assignment: t.assignment, states: slices.Clone(t.states), configs: t.configs}
	s.topics[name] = c
	s.owned[c] = true
	return c
}

// visible returns the topic as a Store shows it, or false while it is not
// to be shown, as the ZooKeeper store does: a broker learns of a partition
// once the controller elected its first leader, so a topic shows its
// partitions that have a state (and none while partition 0 has none), and
// a topic queued for deletion is gone at once.
func (s *clusterState) visible(name string) (controller.Topic, bool) {
	t := s.topics[name]
	if t == nil || s.pendingDeletion[name] {
		return controller.Topic{}, false
	}
	return controller.ShownTopic(name, t.id, t.configs, t.assignment, func(i int) (controller.PartitionRecord, bool) {
		if i >= len(t.states) || t.states[i] == nil {
			return controller.PartitionRecord{}, false
		}
		return controller.PartitionRecord{LeaderAndISR: t.states[i].LeaderAndISR, PartitionEpoch: t.states[i].version}, true
	})
}

// visiblePtr is visible as a pointer, nil when not shown.
func (s *clusterState) visiblePtr(name string) *controller.Topic {
	if t, ok := s.visible(name); ok {
		return &t
	}
	return nil
}

// liveBrokers lists the registered brokers by ID.
func (s *clusterState) liveBrokers() []controller.Broker {
	out := make([]controller.Broker, 0, len(s.brokers))
	for _, id := range slices.Sorted(maps.Keys(s.brokers)) {
		out = append(out, s.brokers[id].Broker)
	}
	return out
}

// brokerEpochs maps each registered broker to its epoch.
func (s *clusterState) brokerEpochs() map[int32]int64 {
	out := make(map[int32]int64, len(s.brokers))
	for id, b := range s.brokers {
		out[id] = b.epoch
	}
	return out
}

// changesSince is what a Store whose view was before is told on moving to
// s, in the ZooKeeper store's order: brokers, controller, broker configs
// (by broker), entity configs (by path), then each topic by name (controller.TopicChanges).
func (s *clusterState) changesSince(before *clusterState) []controller.Change {
	var out []controller.Change
	if !maps.Equal(before.brokers, s.brokers) {
		out = append(out, controller.Change{Kind: controller.BrokersChanged})
	}
	if before.controllerID != s.controllerID {
		out = append(out, controller.Change{Kind: controller.ControllerChanged})
	}
	ids := map[int32]bool{}
	for id := range before.brokerConfigs {
		ids[id] = true
	}
	for id := range s.brokerConfigs {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if !maps.Equal(before.brokerConfigs[id], s.brokerConfigs[id]) {
			out = append(out, controller.Change{Kind: controller.BrokerConfigChanged, BrokerID: id})
		}
	}
	entities := map[string]bool{}
	for path := range before.entityConfigs {
		entities[path] = true
	}
	for path := range s.entityConfigs {
		entities[path] = true
	}
	for _, path := range slices.Sorted(maps.Keys(entities)) {
		if !maps.Equal(before.entityConfigs[path], s.entityConfigs[path]) {
			out = append(out, controller.Change{Kind: controller.EntityConfigChanged, Entity: path})
		}
	}
	if !slices.Equal(before.acls, s.acls) {
		out = append(out, controller.Change{Kind: controller.ACLsChanged})
	}
	names := map[string]bool{}
	for name := range before.topics {
		names[name] = true
	}
	for name := range s.topics {
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if before.topics[name] == s.topics[name] && before.pendingDeletion[name] == s.pendingDeletion[name] {
			continue // untouched
		}
		out = append(out, controller.TopicChanges(name, before.visiblePtr(name), s.visiblePtr(name))...)
	}
	return out
}
