package compattests

import (
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sarama's transactional SyncProducer (Producer.Transaction.ID, idempotent,
// one request in flight, acks=all) runs three committed transactions and
// one aborted one, each committing consumer group offsets with
// AddOffsetsToTxn, at the newest Kafka version sarama knows and at its
// default: each record is acknowledged where Kafka puts it, read_committed
// reads exactly the committed records and read_uncommitted the aborted
// ones too, and the group holds the offsets of the committed transactions
// only.
func TestSaramaTransactionsWithAddOffsetsToTxnAtOldAndNewVersions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	addrs := []string{b.Addr()}
	const partitions = 2

	for _, version := range saramaVersions {
		t.Run("kafka-"+version.String(), func(t *testing.T) {
			source, topic, group := uniqueTopic(t)+"-in", uniqueTopic(t)+"-out", uniqueTopic(t)+"-group"
			createTopic(t, adm, source, partitions, nil)
			createTopic(t, adm, topic, partitions, nil)
			produceSourceRecords(t, b, source, partitions, 10)

			steps := txnPlan(topic, partitions, "sarama", time.Now())
			steps[0].Offsets = map[int32]int64{0: 4, 1: 3}
			steps[1].Offsets = map[int32]int64{1: 6}
			steps[2].Offsets = map[int32]int64{0: 10, 1: 10} // aborted
			steps[3].Offsets = map[int32]int64{0: 8}
			committed, _, all, ends := layTxns(steps)

			cfg := saramaConfig(version)
			cfg.Producer.Transaction.ID = txnIDFor(t, "sarama")
			cfg.Producer.Idempotent = true
			cfg.Producer.RequiredAcks = sarama.WaitForAll
			cfg.Net.MaxOpenRequests = 1
			saramaRunTxns(t, addrs, cfg, source, group, steps)

			requireGroupOffsets(t, adm, group, source, map[int32]int64{0: 8, 1: 6})
			requireTxnReads(t, b, topic, partitions, committed, all, ends)
		})
	}
}

// saramaRunTxns runs steps with one transactional SyncProducer made from
// cfg: BeginTxn, the records in two SendMessages calls, AddOffsetsToTxn
// for group on source when the step has offsets, then CommitTxn or
// AbortTxn. It fails unless every record is acknowledged at the offset
// layTxns set on it.
func saramaRunTxns(t *testing.T, addrs []string, cfg *sarama.Config, source, group string, steps []txnStep) {
	t.Helper()
	prod, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama transactional producer: %v", err)
	}
	defer func() {
		if err := prod.Close(); err != nil {
			t.Errorf("close sarama producer: %v", err)
		}
	}()
	for i, step := range steps {
		if err := prod.BeginTxn(); err != nil {
			t.Fatalf("sarama BeginTxn (transaction %d): %v", i, err)
		}
		msgs := saramaMessages(step.Records)
		half := len(msgs) / 2
		for _, part := range [][]*sarama.ProducerMessage{msgs[:half], msgs[half:]} {
			if err := prod.SendMessages(part); err != nil {
				var perrs sarama.ProducerErrors
				if errors.As(err, &perrs) && len(perrs) > 0 {
					t.Fatalf("sarama SendMessages (transaction %d): %d failed, first: %v", i, len(perrs), perrs[0].Err)
				}
				t.Fatalf("sarama SendMessages (transaction %d): %v", i, err)
			}
		}
		for j, m := range msgs {
			if r := step.Records[j]; m.Partition != r.Partition || m.Offset != r.Offset {
				t.Fatalf("sarama: transaction %d record %d acknowledged at partition %d offset %d, want partition %d offset %d",
					i, j, m.Partition, m.Offset, r.Partition, r.Offset)
			}
		}
		if len(step.Offsets) > 0 {
			var offsets []*sarama.PartitionOffsetMetadata
			for p, o := range step.Offsets {
				offsets = append(offsets, &sarama.PartitionOffsetMetadata{Partition: p, Offset: o})
			}
			if err := prod.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{source: offsets}, group); err != nil {
				t.Fatalf("sarama AddOffsetsToTxn (transaction %d): %v", i, err)
			}
		}
		end, verb := prod.CommitTxn, "CommitTxn"
		if !step.Commit {
			end, verb = prod.AbortTxn, "AbortTxn"
		}
		if err := end(); err != nil {
			t.Fatalf("sarama %s (transaction %d): %v (status %v)", verb, i, err, prod.TxnStatus())
		}
	}
}

// saramaMessages turns records into sarama messages for the manual
// partitioner.
func saramaMessages(recs []*kgo.Record) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		m := &sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Key: sarama.ByteEncoder(r.Key), Timestamp: r.Timestamp}
		if r.Value != nil {
			m.Value = sarama.ByteEncoder(r.Value)
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
		}
		msgs[i] = m
	}
	return msgs
}

// saramaReadCommitted reads every partition of topic from the oldest
// offset with sarama PartitionConsumers at Consumer.IsolationLevel =
// ReadCommitted, up to the txnEndValue record, and returns each
// partition's records before it.
func saramaReadCommitted(t *testing.T, addrs []string, cfg *sarama.Config, topic string, partitions int32) map[int32][]*kgo.Record {
	t.Helper()
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cons, err := sarama.NewConsumer(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer cons.Close()
	got := map[int32][]*kgo.Record{}
	deadline := time.After(30 * time.Second)
	for p := range partitions {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama ConsumePartition %s/%d: %v", topic, p, err)
		}
	read:
		for {
			select {
			case m := <-pc.Messages():
				if string(m.Value) == txnEndValue {
					break read
				}
				r := &kgo.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Timestamp: m.Timestamp}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
				}
				got[p] = append(got[p], r)
			case err := <-pc.Errors():
				t.Fatalf("sarama consuming %s/%d: %v", topic, p, err)
			case <-deadline:
				t.Fatalf("sarama read_committed consumer: no end record on %s/%d after 30s (read %s)", topic, p, describeRecords(map[int32][]*kgo.Record{p: got[p]}))
			}
		}
		if err := pc.Close(); err != nil {
			t.Fatalf("close sarama partition consumer %s/%d: %v", topic, p, err)
		}
	}
	return got
}
