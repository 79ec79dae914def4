package compattests

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Every stock client's read_committed consumer — confluent-kafka's
// (isolation.level=read_committed), kafkajs's (its default,
// readUncommitted: false), sarama's (Consumer.IsolationLevel =
// ReadCommitted) at its old and new protocol versions — reads exactly the
// committed records of transactions kgo wrote, at their offsets, and none
// of the aborted one: each client drops aborted records by the aborted
// transactions list a read_committed Fetch returns, and skips the markers.
//
// kafka-go's Reader has an IsolationLevel too, but v0.4.51 decodes a
// Fetch's aborted transactions and then ignores them: at read_committed it
// returns the aborted records and even the markers (as records with a
// 6-byte value of zeros and ones), against kfake as against any broker. It
// is not held to this.
func TestReadCommittedConsumersOfEveryClientSkipAbortedTransactions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	createTopic(t, b.admin(t), topic, partitions, nil)
	steps := txnPlan(topic, partitions, "kgo", time.Now())
	committed, _, all, ends := layTxns(steps)
	kgoRunTxns(t, b, txnIDFor(t, "kgo"), steps)
	requireTxnReads(t, b, topic, partitions, committed, all, ends)

	input := txnScriptInput{Topic: topic, Partitions: partitions, EndValue: txnEndValue}
	t.Run("confluent-kafka", func(t *testing.T) {
		requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
		out := runTxnScript(t, "testdata/python", input, debianPython, confluentTxnScript, "consume", b.Addr())
		requireScriptConsumed(t, "confluent-kafka read_committed consumer", topic, committed, out.Consumed)
	})
	t.Run("kafkajs", func(t *testing.T) {
		node := requireKafkajs(t)
		out := runTxnScript(t, kafkajsDir, input, node, "txn.js", "consume", b.Addr(), uniqueTopic(t)+"-group")
		requireScriptConsumed(t, "kafkajs read_committed consumer", topic, committed, out.Consumed)
	})
	for _, version := range saramaVersions {
		t.Run("sarama-kafka-"+version.String(), func(t *testing.T) {
			got := saramaReadCommitted(t, []string{b.Addr()}, saramaConfig(version), topic, partitions)
			requireReadExactly(t, "sarama read_committed consumer", topic, committed, got)
		})
	}
}

// kgoRunTxns runs steps with a kgo transactional producer
// (kgo.TransactionalID; BeginTransaction, produce, EndTransaction with
// TryCommit or TryAbort) and fails unless every record is acknowledged at
// the offset layTxns set on it.
func kgoRunTxns(t *testing.T, b *testBroker, txnID string, steps []txnStep) {
	t.Helper()
	cl := b.client(t, kgo.TransactionalID(txnID), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := testContext(t, 30*time.Second)
	for i, step := range steps {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatalf("kgo BeginTransaction (transaction %d): %v", i, err)
		}
		sent := make([]*kgo.Record, len(step.Records))
		for j, r := range step.Records {
			c := *r // ProduceSync sets the offset it was acknowledged at
			sent[j] = &c
		}
		if err := cl.ProduceSync(ctx, sent...).FirstErr(); err != nil {
			t.Fatalf("kgo produce (transaction %d): %v", i, err)
		}
		for j, r := range sent {
			if want := step.Records[j]; r.Partition != want.Partition || r.Offset != want.Offset {
				t.Fatalf("kgo: transaction %d record %d acknowledged at partition %d offset %d, want partition %d offset %d",
					i, j, r.Partition, r.Offset, want.Partition, want.Offset)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(step.Commit)); err != nil {
			t.Fatalf("kgo EndTransaction (transaction %d, commit %v): %v", i, step.Commit, err)
		}
	}
}
