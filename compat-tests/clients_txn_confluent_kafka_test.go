package compattests

import (
	"slices"
	"testing"
	"time"
)

const confluentTxnScript = "confluent_kafka_txn.py"

// confluent-kafka-python's transactional Producer (librdkafka:
// init_transactions, begin_transaction, produce, commit_transaction and
// abort_transaction) runs three committed transactions and one aborted one
// over three partitions: each record is acknowledged where Kafka puts it,
// a read_committed consumer reads exactly the committed records and a
// read_uncommitted one the aborted records too.
func TestConfluentKafkaTransactionsCommittedAreReadCommittedAndAbortedAreNot(t *testing.T) {
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	createTopic(t, b.admin(t), topic, partitions, nil)
	steps := txnPlan(topic, partitions, "confluent", time.Now())
	committed, _, all, ends := layTxns(steps)

	out := runTxnScript(t, "testdata/python", txnScriptInput{
		Topic: topic, Partitions: partitions, TransactionalID: txnIDFor(t, "confluent"), Transactions: toTxnScriptSteps(steps),
	}, debianPython, confluentTxnScript, "produce", b.Addr())
	requireAcknowledgedAt(t, "confluent-kafka transactional producer", all, out.Produced)
	requireTxnReads(t, b, topic, partitions, committed, all, ends)
}

// send_offsets_to_transaction with a consumer's group metadata: the offsets
// become the group's committed offsets when the transaction commits, and
// those of the aborted transaction never do.
func TestConfluentKafkaSendOffsetsToTransactionCommitsGroupOffsetsOnlyOnCommit(t *testing.T) {
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	source, topic, group := uniqueTopic(t)+"-in", uniqueTopic(t)+"-out", uniqueTopic(t)+"-group"
	const partitions = 2
	createTopic(t, adm, source, partitions, nil)
	createTopic(t, adm, topic, partitions, nil)
	produceSourceRecords(t, b, source, partitions, 10)

	steps := txnPlan(topic, partitions, "confluent", time.Now())
	steps[0].Offsets = map[int32]int64{0: 4, 1: 3}
	steps[1].Offsets = map[int32]int64{1: 6}
	steps[2].Offsets = map[int32]int64{0: 10, 1: 10} // aborted
	steps[3].Offsets = map[int32]int64{0: 8}
	committed, _, all, ends := layTxns(steps)

	out := runTxnScript(t, "testdata/python", txnScriptInput{
		Topic: topic, Partitions: partitions, TransactionalID: txnIDFor(t, "confluent"), Transactions: toTxnScriptSteps(steps),
		Group: group, SourceTopic: source,
	}, debianPython, confluentTxnScript, "produce", b.Addr())
	requireAcknowledgedAt(t, "confluent-kafka transactional producer", all, out.Produced)
	requireGroupOffsets(t, adm, group, source, map[int32]int64{0: 8, 1: 6})
	requireTxnReads(t, b, topic, partitions, committed, all, ends)
}

// Zombie fencing (KIP-98): a second producer with the same transactional.id
// calling init_transactions fences the first, which had written records in
// an open transaction. The first's next produce and commit fail with
// librdkafka's fatal fencing error; the transaction it had open is aborted,
// so read_committed never sees any of its records, and read_uncommitted
// sees only those it wrote before it was fenced.
func TestConfluentKafkaSecondProducerFencesTheFirstAndItsOpenTransactionStaysInvisible(t *testing.T) {
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 2
	createTopic(t, b.admin(t), topic, partitions, nil)
	plan := txnPlan(topic, partitions, "confluent", time.Now())
	zombieOpen := txnStep{Commit: false, Records: plan[0].Records} // aborted by the fencing
	zombieLate := plan[2]                                          // refused: never written
	successor := txnStep{Commit: true, Records: plan[1].Records}
	committed, _, all, ends := layTxns([]txnStep{zombieOpen, successor})

	out := runTxnScript(t, "testdata/python", txnScriptInput{
		Topic: topic, Partitions: partitions, TransactionalID: txnIDFor(t, "confluent"),
		Transactions: toTxnScriptSteps([]txnStep{zombieOpen, zombieLate, successor}),
	}, debianPython, confluentTxnScript, "fence", b.Addr())

	f := out.Fencing
	if f == nil {
		t.Fatal("the script reports nothing of the fenced producer")
	}
	// librdkafka names the fencing _FENCED, a fatal error it raises on
	// INVALID_PRODUCER_EPOCH from a partition leader (Kafka's answer to a
	// produce at an epoch older than the partition's, KIP-588) or
	// PRODUCER_FENCED from the coordinator. kfake answers the zombie's
	// produce INVALID_TXN_STATE instead, which librdkafka reports as is.
	if kfakeLacks(t, "Kafka's INVALID_PRODUCER_EPOCH for a fenced producer's produce") {
		t.Logf("the fenced producer's commit_transaction gave %q (fatal %v)", f.CommitError, f.Fatal)
	} else if f.CommitError != "_FENCED" || !f.Fatal {
		t.Fatalf("the fenced producer's commit_transaction gave error %q (fatal %v: %s), want the fatal _FENCED", f.CommitError, f.Fatal, f.Message)
	}
	for _, e := range f.DeliveryErrors {
		if !slices.Contains([]string{"_FENCED", "INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "_PURGE_QUEUE", "_PURGE_INFLIGHT"}, e) && !useKfake {
			t.Fatalf("a record the fenced producer sent after the fencing failed with %q, want a fencing error (all: %q)", e, f.DeliveryErrors)
		}
	}
	requireAcknowledgedAt(t, "confluent-kafka successor producer", successor.Records, out.Produced)
	requireTxnReads(t, b, topic, partitions, committed, all, ends)
}
