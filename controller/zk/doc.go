// Package zk is the controller.Store of a broker in a cluster coordinated
// by ZooKeeper (zookeeper.connect): brokers pointed at one ZooKeeper share
// Kafka's ZooKeeper layout, and one of them acts as the controller.
//
// It owns that layout (which znodes, and their JSON as Kafka writes it),
// the connection and session handling, the cached view kept current with
// watches, and the controller role: election through /controller and the
// fencing of every controller write by the /controller_epoch it set. The
// decisions themselves (elections, replica placement, ISR checks) are
// package controller's, shared with every other store; this package reads
// their inputs from ZooKeeper and writes their outcomes back.
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
// instead: every Store keeps a cached view of the live brokers,
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
// znode's version, as Kafka's ZooKeeper-mode leaders do, and adding only
// replicas whose broker is registered, KIP-841's rule as far as a leader
// can see it). The calls that
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
// brokers with one broker.id) makes NewStore fail.
//
// # Ownership and locks
//
// In a Store, one goroutine owns the view: it takes the zk client's
// events in order, reads from ZooKeeper, applies what it read under the
// store's lock, and then wakes waiters, subscribers and the controller.
// The controller logic runs on a second goroutine (Kafka's controller
// event queue), which owns the controller's state (epoch, the brokers in
// controlled shutdown, the states it just wrote); ElectLeaders and
// ControlledShutdown run on it. Each Subscribe callback has its own
// goroutine (controller.Subscribers). Stores hand out copies; callers may
// keep them.
//
// Store.mu guards the view (and the channel that wakes waiters). It is
// held only to read the view or apply what was read, never across a
// ZooKeeper call nor while taking another lock: changes are published to
// subscribers after it is released.
package zk
