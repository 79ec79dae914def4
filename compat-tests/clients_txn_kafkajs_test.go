package compattests

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkajs's transactional producer (producer({transactionalId, idempotent}),
// transaction(), send, commit/abort) runs three committed transactions and
// one aborted one over three partitions: each record is acknowledged where
// Kafka puts it, a read_committed consumer reads exactly the committed
// records and a read_uncommitted one the aborted records too.
func TestKafkajsTransactionsCommittedAreReadCommittedAndAbortedAreNot(t *testing.T) {
	node := requireKafkajs(t)
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	createTopic(t, b.admin(t), topic, partitions, nil)
	steps := txnPlan(topic, partitions, "kafkajs", time.Now())
	committed, _, all, ends := layTxns(steps)

	out := runTxnScript(t, kafkajsDir, txnScriptInput{
		Topic: topic, Partitions: partitions, TransactionalID: txnIDFor(t, "kafkajs"), Transactions: toTxnScriptSteps(steps),
	}, node, "txn.js", "produce", b.Addr())
	requireAcknowledgedAt(t, "kafkajs transactional producer", all, out.Produced)
	requireTxnReads(t, b, topic, partitions, committed, all, ends)
}

// kafkajs's transaction.sendOffsets, the consume-transform-produce step:
// the offsets a transaction commits for a group become the group's
// committed offsets when it commits, and those of an aborted transaction
// never do; the records produced alongside follow their transactions.
func TestKafkajsTransactionSendOffsetsCommitsGroupOffsetsOnlyOnCommit(t *testing.T) {
	node := requireKafkajs(t)
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	source, topic, group := uniqueTopic(t)+"-in", uniqueTopic(t)+"-out", uniqueTopic(t)+"-group"
	const partitions = 2
	createTopic(t, adm, source, partitions, nil)
	createTopic(t, adm, topic, partitions, nil)
	produceSourceRecords(t, b, source, partitions, 10)

	steps := txnPlan(topic, partitions, "kafkajs", time.Now())
	steps[0].Offsets = map[int32]int64{0: 4, 1: 3}
	steps[1].Offsets = map[int32]int64{1: 6}
	steps[2].Offsets = map[int32]int64{0: 10, 1: 10} // aborted
	steps[3].Offsets = map[int32]int64{0: 8}
	committed, _, all, ends := layTxns(steps)

	out := runTxnScript(t, kafkajsDir, txnScriptInput{
		Topic: topic, Partitions: partitions, TransactionalID: txnIDFor(t, "kafkajs"), Transactions: toTxnScriptSteps(steps),
		Group: group, SourceTopic: source,
	}, node, "txn.js", "produce", b.Addr())
	requireAcknowledgedAt(t, "kafkajs transactional producer", all, out.Produced)
	requireGroupOffsets(t, adm, group, source, map[int32]int64{0: 8, 1: 6})
	requireTxnReads(t, b, topic, partitions, committed, all, ends)
}

// produceSourceRecords fills each partition of topic with n records: the
// input a consume-transform-produce application has read when it commits
// offsets into it.
func produceSourceRecords(t *testing.T, b *testBroker, topic string, partitions int32, n int) {
	t.Helper()
	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range partitions {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("in-" + itoa(p) + "-" + itoa(i))})
		}
	}
	produceSync(t, cl, recs...)
}
