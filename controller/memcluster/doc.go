// Package memcluster is the in-memory twin of the ZooKeeper ensemble a
// Samsa cluster runs on, as hashicorp/raft has in-memory twins of its
// transports: N brokers in one process, each with its own
// controller.Store (a Store here), share an Ensemble that plays
// ZooKeeper's part, so that replication, failover, ISR changes and
// controller moves can be tested inside go test in seconds, with faults
// injected in process. The ZooKeeper store (controller/zk) stays what
// production runs and the end-to-end check.
//
// # What it owns
//
// The Ensemble holds what Kafka's ZooKeeper layout holds, typed instead
// of as znodes: the broker registrations with their epochs, /controller
// and the controller epoch, topic assignments, partition states (with
// their versions, the partition epochs), topic and broker configs, queued
// deletions and the producer ID counter. It holds the brokers' sessions,
// and the controller role: which broker holds it, and the bookkeeping
// Kafka's controller keeps in memory (the broker epochs it last saw, the
// brokers in controlled shutdown), lost when the role moves.
//
// The controller's work runs in the ensemble on behalf of the broker that
// holds the role, and only while that broker is connected, exactly where
// the ZooKeeper store's controller acts: partition states for new
// partitions, leader elections and ISR shrinks when brokers go or
// restart, topic deletion, ElectLeaders, ControlledShutdown and the
// automatic leader rebalance. The decisions are package controller's
// (ElectInitialLeader, ReconcileLeaderAndISR, ElectPreferredLeader,
// ElectUncleanLeader, ElectForControlledShutdown, CheckISR,
// CheckISRJoiners, ImbalancedLeaders, PlaceNewTopic, PlaceAddedPartitions,
// Liveness.WithRestarts), the same calls the ZooKeeper store makes.
//
// # Faults
//
// Store.Close is a clean shutdown: the session closes and the broker is
// gone at once. Ensemble.Kill is kill -9: the Store stops, its session
// lingers until the session timeout passes on the ensemble's clock;
// Store.Crash is the same from the Store's side (node.Crasher, which
// node.Node.Kill calls).
// Ensemble.Expire ends a session now. Ensemble.Pause cuts a Store off
// (its view freezes, its writes fail with ErrStoreUnavailable, its session
// expires after the timeout) and Ensemble.Resume reconnects it, in its
// session if that is still alive, else with a new registration. Joining
// again after a Close, Kill or Expire is a restart. Time is Options.Now:
// with a ManualClock nothing expires until the test moves the clock and
// calls Ensemble.Tick, so fault tests need no sleeps.
//
// # Ownership and locks
//
// Ensemble.mu guards everything the ensemble holds, each Store's status
// and session included. Every operation (a Store's write, Join, a fault,
// Tick) runs under it from start to end, like kfake's one loop, and ends
// in settle: an election when nobody holds the role, the controller's
// reconcile, then the new state is published and every connected Store's
// view moves to it. A published state is never changed again (operations
// change a copy), so a view is a pointer read under Store.mu alone, which
// is taken after Ensemble.mu and never before it. Changes go to
// subscribers through controller.Subscribers, queued under Ensemble.mu so
// that every Store's subscribers see them in the order the operations
// ran; callbacks run on their own goroutines with no lock held.
//
// # Where it differs from ZooKeeper
//
// The controller acts within the operation that gave it work, so a
// connected Store's view is current when a call returns: where the
// ZooKeeper store waits for watches, nothing here lags except a paused
// Store. Of the brokers racing for the controller role, the one with the
// lowest ID among those connected wins. The controller settings (unclean
// election, auto rebalance) are the ensemble's, not each broker's. A
// second running Store with the same broker ID is refused at once, where
// ZooKeeper mode waits a session timeout to be sure. Writes are
// serialized, so a deposed controller cannot write and there is no
// controller-epoch fencing to test here; nor are there znodes, so
// /isr_change_notification, /config/changes and topics written by old
// Kafka tools without an ID do not exist. A ZooKeeper outage is every
// broker paused.
package memcluster
