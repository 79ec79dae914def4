// Package controller holds the cluster metadata: brokers, topics, partition
// assignments and leadership, topic and broker configs, and producer ID
// blocks, and runs Kafka's controller role.
//
// Store is the interface every broker component uses. Three
// implementations:
//
//   - LocalStore, for a single broker without ZooKeeper: the broker is the
//     controller, leader and whole ISR of everything, and the state lives
//     in one JSON file in the first log directory, written atomically
//     (temporary file, fsync, rename) before each call that changes it
//     returns.
//   - zk.Store (package controller/zk), for a cluster: brokers pointed at
//     one ZooKeeper (zookeeper.connect) share Kafka's ZooKeeper layout, and
//     one of them acts as the controller.
//   - memcluster.Store (package controller/memcluster), the in-memory twin
//     of the ZooKeeper store: brokers of one process share an Ensemble
//     that plays ZooKeeper's part, with faults (kill, session expiry,
//     pauses) injected by tests. Package controller/storetest holds the
//     scenarios both clustered stores pass.
//
// # What this package owns
//
// The Store interface, its types (Topic, Partition, Broker, Change, ...)
// and the errors stores return; LocalStore; and what every store shares,
// so that a partition is placed and led the same way whichever store
// holds it:
//
//   - elections, as pure functions of a partition's LeaderAndISR, its
//     replicas and the brokers' Liveness (election.go: ElectInitialLeader,
//     ReconcileLeaderAndISR, ElectPreferredLeader, ElectUncleanLeader,
//     ElectForControlledShutdown), and CheckISR for a leader's ISR change;
//   - replica placement (placement.go: PlaceNewTopic,
//     PlaceAddedPartitions, NewPartition);
//   - topic names (ValidateTopicName, TopicNamesCollide,
//     IsInternalTopic), NewTopicID and NewClusterID;
//   - Subscribers, the fan-out behind every store's Subscribe.
//
// A store keeps only its own bookkeeping next to these (in ZooKeeper, the
// znode versions and the controller epoch). Nothing here knows ZooKeeper:
// controller/zk imports this package, never the reverse.
//
// # Ownership and lock order
//
// A LocalStore's mu guards its state and its file, which are read and
// changed only under it. A change is published under mu, so subscribers see changes in the
// order they were made: the lock order is LocalStore.mu, then the
// Subscribers' lock, then each subscriber's queue lock. Each Subscribe
// callback has its own goroutine and runs with no store lock held. Stores
// hand out copies; callers may keep them.
package controller

import (
	"context"
	"errors"
	"maps"
	"slices"
)

// Errors returned by stores. The broker maps them to Kafka error codes.
var (
	ErrTopicExists          = errors.New("topic already exists")              // TOPIC_ALREADY_EXISTS
	ErrUnknownTopic         = errors.New("unknown topic")                     // UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID
	ErrInvalidPartitions    = errors.New("invalid number of partitions")      // INVALID_PARTITIONS
	ErrInvalidReplication   = errors.New("invalid replication factor")        // INVALID_REPLICATION_FACTOR
	ErrInvalidAssignment    = errors.New("invalid replica assignment")        // INVALID_REPLICA_ASSIGNMENT
	ErrTopicDeletionPending = errors.New("topic is marked for deletion")      // TOPIC_DELETION_DISABLED is not it; Kafka answers UNKNOWN_TOPIC_OR_PARTITION
	ErrNotController        = errors.New("this broker is not the controller") // NOT_CONTROLLER
	ErrInvalidTopicName     = errors.New("invalid topic name")                // INVALID_TOPIC_EXCEPTION
	// ErrStalePartition: AlterPartition named a leader epoch or partition
	// epoch that is no longer current (FENCED_LEADER_EPOCH /
	// INVALID_UPDATE_VERSION): the caller re-reads the partition.
	ErrStalePartition = errors.New("partition state changed since it was read")
	// ErrInvalidISR: a proposed ISR is not a subset of the replicas or
	// does not hold the leader (INELIGIBLE_REPLICA).
	ErrInvalidISR = errors.New("invalid in-sync replica set")
	// Election outcomes (ElectLeaders).
	ErrElectionNotNeeded           = errors.New("election not needed")            // ELECTION_NOT_NEEDED
	ErrPreferredLeaderNotAvailable = errors.New("preferred leader not available") // PREFERRED_LEADER_NOT_AVAILABLE
	ErrEligibleLeadersNotAvailable = errors.New("eligible leaders not available") // ELIGIBLE_LEADERS_NOT_AVAILABLE
	ErrStoreUnavailable            = errors.New("metadata store unavailable")     // e.g. ZooKeeper session lost
	// ErrBrokerNotAvailable: ControlledShutdown named a broker that is not
	// registered (BROKER_NOT_AVAILABLE).
	ErrBrokerNotAvailable = errors.New("broker not available")
	// ErrStaleBrokerEpoch: a ControlledShutdown asked for a registration
	// of the broker that has since ended (it restarted meanwhile), as
	// Kafka's controller refuses a request of an older broker epoch
	// (KIP-380).
	ErrStaleBrokerEpoch = errors.New("stale broker epoch")
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ElectionType is ElectLeaders' election type.
type ElectionType int8

const (
	// PreferredElection makes each partition's first replica its leader
	// when it is alive and in the ISR.
	PreferredElection ElectionType = 0
	// UncleanElection elects a live replica outside the ISR for a
	// partition that has no leader, at the risk of losing records.
	UncleanElection ElectionType = 1
)

// MaxPartitionsPerTopic bounds a topic's partition count so one request
// cannot make the broker allocate without limit; Kafka has no such limit.
const MaxPartitionsPerTopic = 100_000

// TopicID is a topic's UUID (KIP-516).
type TopicID [16]byte

// IsZero reports whether the ID is the all-zero UUID, which Kafka uses for
// "no topic ID".
func (id TopicID) IsZero() bool { return id == TopicID{} }

// Broker is a registered broker.
type Broker struct {
	ID int32
	// Host and Port are the first advertised listener's address.
	Host string
	Port int32
	Rack string // empty when unset
	// Endpoints are every advertised listener as Kafka registers them
	// (/brokers/ids/N "endpoints"), NAME://host:port joined by commas:
	// a string, so that a Broker stays comparable. Empty when only Host
	// and Port are known.
	Endpoints string
}

// Partition is one partition's assignment and leadership.
type Partition struct {
	Partition   int32
	Replicas    []int32 // assignment order; the first is the preferred leader
	ISR         []int32
	Leader      int32 // -1 when offline
	LeaderEpoch int32 // increases with every new leader
	// PartitionEpoch increases with every change of the partition's
	// state, leader or ISR (in ZooKeeper, the state znode's version). A
	// leader's ISR change names the epoch it read (AlterPartition).
	PartitionEpoch int32
}

// Topic is a snapshot of one topic. Stores hand out copies; callers may
// keep them.
type Topic struct {
	Name       string
	ID         TopicID
	Partitions []Partition // indexed by partition number
	// Configs holds only the topic-level overrides (dynamic topic
	// configs); defaults come from the broker configuration.
	Configs  map[string]string
	Internal bool
}

// CreateTopicRequest describes a topic to create. Exactly one of
// Assignment or (Partitions, ReplicationFactor) is used: a non-empty
// Assignment gives each partition's replicas explicitly.
type CreateTopicRequest struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Assignment        [][]int32
	Configs           map[string]string
	Internal          bool
	ValidateOnly      bool
}

// ChangeKind says what changed.
type ChangeKind int

const (
	TopicCreated ChangeKind = iota
	TopicDeleted
	PartitionsCreated
	TopicConfigChanged
	BrokerConfigChanged
	// LeadershipChanged: the leader, leader epoch or ISR of some
	// partitions of Topic changed.
	LeadershipChanged
	// BrokersChanged: a broker registered or went away.
	BrokersChanged
	// ControllerChanged: another broker became the controller.
	ControllerChanged
	// EntityConfigChanged: the configs of a client entity (Change.Entity)
	// changed.
	EntityConfigChanged
)

// Change is delivered to subscribers after the store applied it.
type Change struct {
	Kind  ChangeKind
	Topic string // empty for broker config changes
	// BrokerID is set for BrokerConfigChanged (-1: cluster-wide default).
	BrokerID int32
	// Entity is the entity path (Entity.Path) of EntityConfigChanged.
	Entity string
}

// Store is the cluster metadata store.
type Store interface {
	// ClusterID is stable across restarts.
	ClusterID() string
	// ControllerID is the broker currently acting as controller.
	ControllerID() int32
	// Brokers lists the live brokers.
	Brokers() []Broker

	Topics() []Topic
	Topic(name string) (Topic, bool)
	TopicByID(id TopicID) (Topic, bool)

	// CreateTopic validates and (unless ValidateOnly) creates a topic,
	// assigning a fresh topic ID and placing replicas on brokers.
	CreateTopic(ctx context.Context, req CreateTopicRequest) (Topic, error)
	DeleteTopic(ctx context.Context, name string) error
	// CreatePartitions raises the topic's partition count to total.
	// assignment, when non-nil, gives the replicas of each new partition.
	CreatePartitions(ctx context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error
	// SetTopicConfigs replaces the topic's config overrides.
	SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error

	// BrokerConfigs returns the dynamic config overrides of a broker
	// (brokerID -1: the cluster-wide defaults).
	BrokerConfigs(brokerID int32) map[string]string
	SetBrokerConfigs(ctx context.Context, brokerID int32, configs map[string]string) error

	// EntityConfigs returns the configs of a client entity (an Entity
	// path: "users/alice", "clients/app", "users/alice/clients/app",
	// "ips/10.0.0.1", "<default>" naming a default), as Kafka keeps them
	// under /config: SCRAM credentials and quotas. Nil when it has none or
	// the path does not parse.
	EntityConfigs(entity string) map[string]string
	// ListEntityConfigs returns every entity of entityType (EntityUsers,
	// EntityClients or EntityIPs) that has configs, by entity path;
	// EntityUsers includes the users/<u>/clients/<c> entities.
	ListEntityConfigs(entityType string) map[string]map[string]string
	// AlterEntityConfigs sets the keys in set and removes the keys in
	// remove, in one step atomic against other writers (the keys it does
	// not name are kept: SCRAM credentials and quotas share a user's
	// entity). Every broker sees the change (EntityConfigChanged).
	AlterEntityConfigs(ctx context.Context, entity string, set map[string]string, remove []string) error

	// AllocateProducerIDs reserves count producer IDs and returns the
	// first; IDs are never handed out twice, across restarts too.
	AllocateProducerIDs(ctx context.Context, count int64) (int64, error)

	// AlterPartition is a partition leader's change of the ISR (Kafka's
	// AlterPartition; in ZooKeeper mode a conditional write of the state
	// znode). It applies only when the partition still has leaderEpoch
	// and partitionEpoch (else ErrStalePartition) and returns the new
	// state; isr must hold the leader and only replicas, and a replica
	// it adds must be a registered broker (ErrInvalidISR; KIP-841).
	AlterPartition(ctx context.Context, topic string, partition, leaderEpoch, partitionEpoch int32, isr []int32) (Partition, error)
	// ElectLeaders runs preferred or unclean elections (ElectLeaders API)
	// for the given partitions, or for every partition when nil; each
	// gets nil (elected), ErrElectionNotNeeded,
	// ErrPreferredLeaderNotAvailable, ErrEligibleLeadersNotAvailable or
	// ErrUnknownTopic. Only the controller runs elections: elsewhere the
	// call fails with ErrNotController.
	ElectLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartition) (map[TopicPartition]error, error)
	// ControlledShutdown moves the leadership of every partition brokerID
	// leads to another in-sync replica and takes brokerID out of the
	// ISRs (it is about to stop), as Kafka's controlled shutdown does. It
	// returns the partitions brokerID still leads (no other replica in
	// sync). Only the controller serves it (ErrNotController elsewhere).
	ControlledShutdown(ctx context.Context, brokerID int32) ([]TopicPartition, error)

	// Subscribe calls fn after each change, in order, on one goroutine.
	// The returned function cancels the subscription.
	Subscribe(fn func(Change)) (cancel func())

	Close() error
}

// PartitionRecord is what a store holds of one partition's state: its
// leader and ISR and the version of that state (the partition epoch).
type PartitionRecord struct {
	LeaderAndISR
	PartitionEpoch int32
}

// ShownTopic builds the Topic a store shows of its records, the same for
// every store: a broker learns of a partition once the controller elected
// its first leader, so a topic shows the leading run of partitions that
// have a state (state returns ok), and none at all while partition 0 has
// none.
func ShownTopic(name string, id TopicID, configs map[string]string, assignment [][]int32, state func(partition int) (PartitionRecord, bool)) (Topic, bool) {
	n := 0
	for n < len(assignment) {
		if _, ok := state(n); !ok {
			break
		}
		n++
	}
	if n == 0 {
		return Topic{}, false
	}
	out := Topic{Name: name, ID: id, Internal: IsInternalTopic(name), Configs: maps.Clone(configs), Partitions: make([]Partition, n)}
	if out.Configs == nil {
		out.Configs = map[string]string{}
	}
	for i := range n {
		st, _ := state(i)
		out.Partitions[i] = Partition{
			Partition:      int32(i),
			Replicas:       slices.Clone(assignment[i]),
			ISR:            slices.Clone(st.ISR),
			Leader:         st.Leader,
			LeaderEpoch:    st.LeaderEpoch,
			PartitionEpoch: st.PartitionEpoch,
		}
	}
	return out, true
}
