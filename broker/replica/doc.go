// Package replica holds the partitions a broker hosts and their
// replication: the partition table (topic → partitions, brought in line
// with the controller store by Sync), each partition's role (leader,
// follower or none), the leader's side (follower progress, the ISR and its
// changes through the store, the high watermark, acks=all waits, the ISR
// checks: leader.go) and the follower's side (the replica fetchers that
// copy logs from their leaders and truncate against them: fetcher.go).
//
// Package broker's handlers use it through a small API and hold no
// replication logic:
//
//   - look up: Manager.Lookup, LookupLeader, TopicName, Topic, and
//     Leader for KIP-951's hint with NOT_LEADER_OR_FOLLOWER;
//   - write as leader and wait until replicated (Produce, the group
//     coordinator's journal, transaction markers): Manager.AppendAsLeader,
//     AppendAsLeaderWithGuard (KIP-890 verified produce),
//     AppendMarkerAsLeader, WaitReplicated;
//   - read (Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords):
//     Partition.Log, HighWatermark, LeaderEpoch, OffsetsUnsettled, and
//     Watch for delayed fetches;
//   - a follower's fetch at the leader: Manager.FollowerFetched;
//   - apply the store: Manager.Sync (startup, store changes, admin
//     requests; its SyncFailures and Unhosted let an admin request take
//     back what it made without logs), ApplyState for one partition;
//     LedPartitions for the controlled shutdown; Options.LeadershipChanged
//     tells the group coordinator which __consumer_offsets partitions
//     this broker leads.
//
// The package never chooses Kafka error codes: its errors (errors.go) say
// what happened to a partition, and package broker maps each to its code.
// It does not import package broker; the fetchers refer to their Manager.
//
// # Ownership
//
// The Manager owns the partition table: Sync alone changes it (its runs
// serialized by syncMu), under mu; lookups read it under mu. A Partition
// is in the table only once its log is open and a state from the store
// was applied to it. A partition's log has one writer at a time for
// appends: the leader's produces (AppendAsLeader, under roleMu for
// reading) or, while it follows, its one fetcher (appends and
// truncations, under roleMu for reading, after checking the role and
// epoch it fetches for). A new role is applied under roleMu for writing,
// so no append straddles a leadership change. The leader's view of its
// followers and the ISR change in flight belong to isrMu. The fetchers'
// set (fetchers.mu) owns which fetcher copies which partition; each
// fetcher's goroutine owns its connection.
//
// # Lock order
//
// Manager.syncMu, then Manager.mu, then a Partition's roleMu, isrMu,
// changedMu and waitMu, in that order (changedMu and waitMu are leaves,
// never held together). Separately, Manager.mu, then
// fetchers.mu, then a fetcher's mu; a fetcher's mu is also taken under a
// Partition's roleMu (read), never the reverse. The store is called with
// isrMu held (the live brokers) but never calls back. Sync calls
// Options.LeadershipChanged with syncMu held, and with mu held when a
// partition is dropped: the callback must not call back into the Manager.
package replica
