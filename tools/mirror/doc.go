// Package mirror copies topics from one Kafka cluster to another, as
// Kafka's MirrorMaker 2 does, and is what `samsa mirror` runs (Run is the
// engine, NewCommand the command line).
//
// # What is copied
//
// Every source topic whose name matches Config.Topics and not
// Config.TopicsExclude (the command's default, DefaultTopicsExclude, is
// MirrorMaker 2's topics.exclude: internal topics "__*", "*.internal",
// "*-internal" and "*.replica") is
// created on the target, named Config.RenamePrefix + its source name,
// with the source's partition count and its non-default topic configs
// (those DescribeConfigs reports as set on the topic, less
// Config.ConfigsExclude: the command's default is MirrorMaker 2's
// config.properties.exclude). The list is read again every
// Config.RefreshTopicsInterval (refresh.topics.interval.seconds): new
// topics are picked up, grown partition counts grown on the target, and
// changed configs set again. Each record keeps its partition, key, value
// (a null value stays null), headers and timestamp.
//
// # Delivery
//
// The source is read by a consumer group (Config.Group) from the start of
// each partition, read_committed, so aborted transactions are not
// copied. Each poll's records are produced to the target by an
// idempotent producer with acks=all, and only once every one of them is
// acknowledged are their source offsets committed; rebalances wait
// between polls (franz-go's BlockRebalanceOnPoll). A mirror killed
// without warning therefore sends again at most what it had not
// committed (duplicates on the target, never a gap), and a mirror
// stopped by cancelling its context finishes the poll in hand, commits
// and leaves the group: stopped only that way, every source record is on
// the target exactly once.
//
// There is no exactly-once mode. The progress lives on the source
// cluster, so no transaction on the target can commit it together with
// the records; MirrorMaker 2 gets exactly-once from Kafka Connect
// (KIP-618), which keeps a source task's offsets on the target instead.
//
// # Offset syncs and group offsets
//
// With Config.SyncGroupOffsets, every acknowledged record also records
// where it went: runs of records whose source and target offsets both
// advance by one are merged, so a steady stream is one run per partition
// and a gap (compaction, transaction markers, a resend after a crash)
// starts a new one. Runs are written to the compacted target topic
// OffsetSyncsTopic(Config.Group) (MirrorMaker 2's
// mm2-offset-syncs.<alias>.internal) and read back on start, so
// translation survives a restart. Every Config.SyncGroupOffsetsInterval
// the committed offsets of the source groups matching Config.Groups are
// translated (exactly when the committed offset is a mirrored record,
// else to just after the last mirrored record before it: never ahead of
// the real position, as MirrorMaker 2 since Kafka 3.5) and committed to
// the same group on the target, only while that group has no active
// members there and only forward (MirrorMaker 2's sync.group.offsets).
//
// # Ownership
//
// One goroutine (Run's) owns the consumer, the producer, the topic list,
// the offset syncs and the counters; the periodic work (topic refresh,
// group offset sync, the progress line) runs on it between polls.
package mirror
