// Package controller holds the cluster metadata: brokers, topics, partition
// assignments and leadership, topic and broker configs, and producer ID
// blocks, and runs Kafka's controller role.
//
// Store is the interface every broker component uses. Two implementations:
//
//   - LocalStore, for a single broker without ZooKeeper: the broker is the
//     controller, leader and whole ISR of everything, and the state lives
//     in one JSON file in the first log directory, written atomically
//     (temporary file, fsync, rename) before each call that changes it
//     returns.
//   - ZKStore, for a cluster: brokers pointed at one ZooKeeper
//     (zookeeper.connect) share Kafka's ZooKeeper layout, and one of them
//     acts as the controller.
//
// # ZooKeeper layout
//
// As Kafka's ZooKeeper mode writes it (KafkaZkClient, ZkData), relative to
// the chroot of zookeeper.connect, which is created when missing:
//
//	/brokers/ids/<id>          ephemeral registration, JSON version 5 (endpoints, rack, ...)
//	/brokers/topics/<t>        assignment {"version":2,"partitions":{"0":[1,2,3]},...,"topic_id":"..."}
//	/brokers/topics/<t>/partitions/<p>/state
//	                           {"version":1,"leader":L,"leader_epoch":E,"controller_epoch":C,"isr":[...]};
//	                           the znode's version is the partition epoch
//	/controller                ephemeral {"version":1,"brokerid":N,"timestamp":"ms"}
//	/controller_epoch          "N", +1 with every election
//	/config/topics/<t>         {"version":1,"config":{...}}, topic overrides
//	/config/brokers/<id>       likewise for a broker; <default> for the cluster-wide defaults
//	/config/changes/config_change_NNN   notifications, as Kafka's tools expect
//	/admin/delete_topics/<t>   deletions queued for the controller
//	/isr_change_notification/isr_change_NNN   written by leaders, cleared by the controller
//	/cluster/id                {"version":"1","id":"<22 characters>"}
//	/latest_producer_id_block  the last block of producer IDs handed out
//
// # How changes reach brokers: watches
//
// Kafka's controller tells brokers about leadership with LeaderAndIsr and
// UpdateMetadata requests. Samsa's brokers learn it from ZooKeeper
// instead: every ZKStore keeps a cached view of the live brokers,
// /controller, every topic's assignment, partition states and config, the
// broker configs, the queued deletions and the cluster ID, and keeps it
// current with watches. Each watch notification makes the store re-read
// the znode it names (setting the next watch with the read) and deliver
// Changes through Subscribe: LeadershipChanged for a topic whenever one of
// its partition states changes, TopicCreated, TopicDeleted,
// PartitionsCreated, TopicConfigChanged, BrokerConfigChanged,
// BrokersChanged, ControllerChanged. Snapshots (Topics, Topic, TopicByID,
// Brokers, BrokerConfigs) come from the view and never wait for ZooKeeper;
// when ZooKeeper cannot be reached the view stays as last seen and writes
// fail with ErrStoreUnavailable.
//
// As Kafka's brokers learn of a partition only once the controller elected
// its leader, a topic shows only its partitions that have a state (a new
// topic appears once its first partition has a leader), and a topic queued
// for deletion disappears at once.
//
// # Who writes what
//
// Any broker writes what its callers ask for, directly and conditionally:
// topic creation (config and assignment in one multi, failing if the topic
// exists), partition additions (conditional on the assignment's version),
// configs (with a /config/changes notification), producer ID blocks
// (conditional on the block's version), deletion requests, and a
// partition leader's ISR changes (AlterPartition: conditional on the state
// znode's version, as Kafka's ZooKeeper-mode leaders do). The calls that
// need the controller to act (CreateTopic, CreatePartitions, DeleteTopic)
// then wait until the store's own view shows the result.
// AlterPartition, SetTopicConfigs, SetBrokerConfigs, ElectLeaders and
// ControlledShutdown likewise return once the store's own view shows what
// they wrote, and an AlterPartition refused as stale returns once the
// view shows the state that replaced the one the caller read, so callers
// read their own writes.
//
// The controller writes everything else: partition states of new
// partitions, leader elections, ISR shrinks for dead brokers, deletions,
// elections asked for through ElectLeaders, controlled shutdowns and the
// automatic preferred-leader rebalance. The first broker to create
// /controller wins the election and bumps /controller_epoch in the same
// multi; when /controller disappears every broker runs again. Every
// controller write is a multi that checks the version of
// /controller_epoch it set, so a controller that was deposed without
// noticing (its session expired while it was cut off) cannot overwrite a
// newer controller's decisions: its write fails, and it resigns. The
// controller decides from its view and re-reads a state znode when its
// conditional write finds it changed. Its work is level-triggered: after
// every change of the view it compares what is with what should be, so a
// new controller (or one back from an outage) converges from whatever it
// finds. A broker that restarted (its registration is newer than the one
// the controller last saw, or than the state of a partition it leads or
// is in sync in) loses that leadership to another in-sync replica, or is
// elected again with a new leader epoch: it never keeps the epoch of its
// previous process.
//
// # Sessions
//
// The zk client reconnects within the session by itself, keeping watches
// and ephemeral znodes. When the session expires the client opens a new
// one; the store then registers the broker again, re-reads everything
// (which re-arms every watch) and takes part in the election again. A
// controller stops acting as soon as its session expires, or once
// ZooKeeper has been unreachable for a whole session timeout (by then the
// session is gone on the server). A broker that restarts quickly after a
// crash finds its old registration still held by its dead session and
// waits for it to expire; a registration held by a live process (two
// brokers with one broker.id) makes NewZKStore fail.
//
// # Ownership
//
// In a ZKStore, one goroutine owns the view: it takes the zk client's
// events in order, reads from ZooKeeper, applies what it read under the
// store's lock, and then wakes waiters, subscribers and the controller.
// The controller logic runs on a second goroutine (Kafka's controller
// event queue), which owns the controller's state (epoch, the brokers in
// controlled shutdown, the states it just wrote); ElectLeaders and
// ControlledShutdown run on it. Each Subscribe callback has its own
// goroutine. Stores hand out copies; callers may keep them.
package controller

import (
	"context"
	"errors"
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
	ID   int32
	Host string
	Port int32
	Rack string // empty when unset
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
)

// Change is delivered to subscribers after the store applied it.
type Change struct {
	Kind  ChangeKind
	Topic string // empty for broker config changes
	// BrokerID is set for BrokerConfigChanged (-1: cluster-wide default).
	BrokerID int32
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

	// AllocateProducerIDs reserves count producer IDs and returns the
	// first; IDs are never handed out twice, across restarts too.
	AllocateProducerIDs(ctx context.Context, count int64) (int64, error)

	// AlterPartition is a partition leader's change of the ISR (Kafka's
	// AlterPartition; in ZooKeeper mode a conditional write of the state
	// znode). It applies only when the partition still has leaderEpoch
	// and partitionEpoch (else ErrStalePartition) and returns the new
	// state; isr must hold the leader and only replicas (ErrInvalidISR).
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
