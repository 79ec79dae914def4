// Package groupcoord is Samsa's group coordinator for Kafka's classic
// consumer group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup)
// and for committed offsets (OffsetCommit / OffsetFetch / OffsetDelete,
// and TxnOffsetCommit for transactional producers), with the
// administrative APIs DescribeGroups, ListGroups and DeleteGroups.
//
// The broker calls one method per API with the decoded kmsg request and
// writes back the kmsg response it returns; Kafka errors travel inside the
// response. The byte fields of a decoded request (protocol metadata,
// assignments) alias the connection's frame, which the broker reuses once
// the call returns: the coordinator copies whatever it keeps. Files are
// named by API key ("11_join_group.go", ...), each opening with the
// behaviour owed to Kafka and declaring its key, versions and handler
// (apis.go); the broker serves exactly those (APIs).
//
// # What the coordinator owns
//
// A Coordinator owns the groups of the __consumer_offsets partitions it has
// been told to Load: the coordinator for a group is the leader of partition
// PartitionFor(group) = abs(javaHashCode(group)) % offsets.topic.num.partitions,
// exactly as in Kafka, so clients that compute it themselves agree. Requests
// for groups of other partitions answer NOT_COORDINATOR, and groups of a
// partition still being replayed answer COORDINATOR_LOAD_IN_PROGRESS (but
// Heartbeat answers NONE and SyncGroup REBALANCE_IN_PROGRESS, as Kafka does,
// because older clients do not expect that error there).
//
// Durable state lives in __consumer_offsets through the Journal the broker
// supplies: offset commits (key v1, value v3, or v1 when the commit carries
// an explicit expiry), group metadata (key v2, value v3) written when a
// rebalance completes (the leader's SyncGroup) and when a group empties,
// and tombstones for deletions and expiry. On Load the partition is
// replayed from its start and groups are rebuilt: members of the last
// group-metadata record are restored in Stable with fresh session deadlines.
//
// Transactional offsets are written as transactional batches of their
// producer (TransactionalJournal) and held pending on their group until the
// broker reports the transaction's marker (CompleteTransaction); a replay
// sees the markers in the log and leaves pending only the offsets of
// transactions still open.
//
// # Ownership and locking
//
// One owner per piece of state:
//
//   - Coordinator.mu guards the table of loaded partitions and the group
//     index (group id → *group). It is never held while a group's lock is
//     being acquired.
//   - Each group is guarded by its own mutex, group.mu: membership, the
//     state machine, offsets and timers of that group change only under it.
//     Timer callbacks (session expiry, rebalance timeout, initial delay,
//     pending-member and pending-sync expiry) take the same mutex and check
//     that the timer they belong to is still the current one, so a timer
//     that fires after being replaced or stopped does nothing.
//   - Each loaded partition has a writer lock, partitionState.writeMu, held
//     across a Journal.Append and the in-memory update that follows it
//     (also around a transaction's completion and the producer index of
//     pending transactional offsets, partitionState.txnGroups), so
//     the order of records in the log is the order in which memory changes
//     (a reload reproduces what clients were told). Lock order: writeMu
//     first, then Coordinator.mu or group.mu, never those two together.
//     Journal.Append is never called with a group lock held.
//   - Work that must append after a state change decided under group.mu
//     (storing the leader's assignment, an emptied group, a replaced static
//     member) is queued on the group and run by whichever goroutine releases
//     the lock; its outcome is applied under the lock again.
//
// Blocking calls (JoinGroup waiting for the rebalance, SyncGroup waiting for
// the leader's assignment) park a callback on the member and wait for it or
// for their context. Unload and Close answer every parked call with
// NOT_COORDINATOR and stop every timer of the dropped groups. The package
// has no global state; several Coordinators may share a process.
package groupcoord
