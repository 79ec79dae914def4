package compattests

import (
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sarama picks each request's version from the Kafka version it is told the
// broker runs, capped by what ApiVersions advertises, and decodes every field
// of that version strictly (KAFKA-NOTES pitfall 3). So it runs twice: at the
// newest Kafka version it knows, and at its default (2.8), which still sends
// the older request versions many deployed sarama programs use.
var saramaVersions = []sarama.KafkaVersion{sarama.MaxVersion, sarama.DefaultVersion}

// saramaLogOnce routes sarama's package-wide logger to stderr when
// SAMSA_COMPAT_CLIENT_DEBUG=1, to see which request a failure came from.
var saramaLogOnce sync.Once

func saramaConfig(version sarama.KafkaVersion) *sarama.Config {
	saramaLogOnce.Do(func() {
		if os.Getenv("SAMSA_COMPAT_CLIENT_DEBUG") == "1" {
			sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
		}
	})
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "samsa-compat-sarama"
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Timeout = 10 * time.Second
	cfg.Producer.Timeout = 10 * time.Second
	cfg.Producer.Return.Successes = true // a SyncProducer needs them
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// Several records per batch and several batches per partition.
	cfg.Producer.Flush.Messages = 50
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	return cfg
}

func TestSaramaAdminProducerAndPartitionConsumerAtOldAndNewVersions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	addrs := []string{b.Addr()}
	const partitions = 3

	for _, version := range saramaVersions {
		t.Run("kafka-"+version.String(), func(t *testing.T) {
			admin, err := sarama.NewClusterAdmin(addrs, saramaConfig(version))
			if err != nil {
				t.Fatalf("sarama cluster admin: %v", err)
			}
			defer admin.Close()

			var made []string
			for _, mode := range []struct {
				name       string
				idempotent bool
			}{
				{"acks=all", false},
				{"acks=all/idempotent", true},
			} {
				t.Run(mode.name, func(t *testing.T) {
					topic := uniqueTopic(t)
					made = append(made, topic)
					if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
						t.Fatalf("sarama CreateTopic %s: %v", topic, err)
					}
					requireSaramaDescribes(t, admin, topic, partitions)

					cfg := saramaConfig(version)
					cfg.Producer.RequiredAcks = sarama.WaitForAll
					if mode.idempotent {
						cfg.Producer.Idempotent = true
						cfg.Net.MaxOpenRequests = 1
					}
					want := clientRecords(topic, partitions, clientRecordCount, time.Now())
					saramaProduce(t, addrs, cfg, want)

					cl, err := sarama.NewClient(addrs, saramaConfig(version))
					if err != nil {
						t.Fatalf("sarama client: %v", err)
					}
					defer cl.Close()
					checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
						if err := cl.RefreshMetadata(); err != nil {
							return err
						}
						names, err := cl.Topics()
						if err != nil {
							return err
						}
						ps, err := cl.Partitions(topic)
						if err != nil {
							return fmt.Errorf("sarama client partitions of %s (topics %q): %w", topic, names, err)
						}
						if len(ps) != partitions {
							return fmt.Errorf("sarama client metadata gives %s partitions %v, want %d", topic, ps, partitions)
						}
						return nil
					})
					for p := int32(0); p < partitions; p++ {
						n, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
						if err != nil {
							t.Fatalf("sarama GetOffset %s/%d newest: %v", topic, p, err)
						}
						if wantN := int64(len(byPartition(want)[p])); n != wantN {
							t.Fatalf("sarama GetOffset %s/%d newest = %d, want %d", topic, p, n, wantN)
						}
					}

					got := saramaConsumeFromOldest(t, addrs, saramaConfig(version), topic, partitions, want)
					for p, wantP := range byPartition(want) {
						requireSameRecords(t, fmt.Sprintf("sarama consuming %s/%d", topic, p), wantP, got[p])
					}
					requireStoredByteExact(t, b, topic, want)
				})
			}

			// Delete the topics this version made; they must leave the
			// listing (which sarama builds from Metadata and
			// DescribeConfigs).
			listed, err := admin.ListTopics()
			if err != nil {
				t.Fatalf("sarama ListTopics: %v", err)
			}
			for _, name := range made {
				if _, ok := listed[name]; !ok {
					t.Fatalf("sarama ListTopics does not list %s (lists %d topics)", name, len(listed))
				}
				if err := admin.DeleteTopic(name); err != nil {
					t.Fatalf("sarama DeleteTopic %s: %v", name, err)
				}
			}
			checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
				listed, err := admin.ListTopics()
				if err != nil {
					return err
				}
				for _, name := range made {
					if _, ok := listed[name]; ok {
						return fmt.Errorf("sarama ListTopics still lists %s after DeleteTopic", name)
					}
				}
				return nil
			})
		})
	}
}

// requireSaramaDescribes fails unless sarama's DescribeTopics (a Metadata
// request to the controller) shows topic with its partitions, each led by a
// broker and replicated once.
func requireSaramaDescribes(t *testing.T, admin sarama.ClusterAdmin, topic string, partitions int) {
	t.Helper()
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		mds, err := admin.DescribeTopics([]string{topic})
		if err != nil {
			return fmt.Errorf("sarama DescribeTopics: %w", err)
		}
		if len(mds) != 1 || mds[0].Name != topic {
			return fmt.Errorf("sarama DescribeTopics(%s) returned %d topics", topic, len(mds))
		}
		md := mds[0]
		if !errors.Is(md.Err, sarama.ErrNoError) {
			return fmt.Errorf("sarama DescribeTopics(%s): %w", topic, md.Err)
		}
		if len(md.Partitions) != partitions {
			return fmt.Errorf("sarama DescribeTopics(%s): %d partitions, want %d", topic, len(md.Partitions), partitions)
		}
		for _, p := range md.Partitions {
			if !errors.Is(p.Err, sarama.ErrNoError) || p.Leader < 0 || len(p.Replicas) != 1 || len(p.Isr) != 1 {
				return fmt.Errorf("sarama DescribeTopics(%s): partition %d has error %v, leader %d, replicas %v, isr %v",
					topic, p.ID, p.Err, p.Leader, p.Replicas, p.Isr)
			}
		}
		return nil
	})
}

// saramaProduce sends want with a SyncProducer in two SendMessages calls
// (so an idempotent producer's sequence numbers must carry on across
// requests) and fails unless each record is acknowledged at its planned
// partition and offset.
func saramaProduce(t *testing.T, addrs []string, cfg *sarama.Config, want []*kgo.Record) {
	t.Helper()
	prod, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama sync producer: %v", err)
	}
	defer func() {
		if err := prod.Close(); err != nil {
			t.Errorf("close sarama producer: %v", err)
		}
	}()
	msgs := make([]*sarama.ProducerMessage, len(want))
	for i, r := range want {
		m := &sarama.ProducerMessage{
			Topic:     r.Topic,
			Partition: r.Partition,
			Key:       sarama.ByteEncoder(r.Key),
			Timestamp: r.Timestamp,
		}
		if r.Value != nil { // a nil Encoder is a null value; ByteEncoder(nil) would be too, but say it
			m.Value = sarama.ByteEncoder(r.Value)
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
		}
		msgs[i] = m
	}
	half := len(msgs) / 2
	for _, part := range [][]*sarama.ProducerMessage{msgs[:half], msgs[half:]} {
		if err := prod.SendMessages(part); err != nil {
			var perrs sarama.ProducerErrors
			if errors.As(err, &perrs) && len(perrs) > 0 {
				t.Fatalf("sarama SendMessages: %d failed, first: %v", len(perrs), perrs[0].Err)
			}
			t.Fatalf("sarama SendMessages: %v", err)
		}
	}
	for i, m := range msgs {
		if m.Partition != want[i].Partition || m.Offset != want[i].Offset {
			t.Fatalf("sarama: record %d acknowledged at partition %d offset %d, want partition %d offset %d",
				i, m.Partition, m.Offset, want[i].Partition, want[i].Offset)
		}
	}
}

// saramaConsumeFromOldest reads every partition of topic from OffsetOldest
// with sarama PartitionConsumers (no group) until it has as many records as
// want holds for it.
func saramaConsumeFromOldest(t *testing.T, addrs []string, cfg *sarama.Config, topic string, partitions int32, want []*kgo.Record) map[int32][]*kgo.Record {
	t.Helper()
	cons, err := sarama.NewConsumer(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer cons.Close()
	got := map[int32][]*kgo.Record{}
	deadline := time.After(15 * time.Second)
	for p := int32(0); p < partitions; p++ {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama ConsumePartition %s/%d: %v", topic, p, err)
		}
		n := len(byPartition(want)[p])
		for len(got[p]) < n {
			select {
			case m := <-pc.Messages():
				r := &kgo.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Timestamp: m.Timestamp}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
				}
				got[p] = append(got[p], r)
			case err := <-pc.Errors():
				t.Fatalf("sarama consuming %s/%d: %v", topic, p, err)
			case <-deadline:
				t.Fatalf("sarama consuming %s/%d: %d of %d records after 15s", topic, p, len(got[p]), n)
			}
		}
		if err := pc.Close(); err != nil {
			t.Fatalf("close sarama partition consumer %s/%d: %v", topic, p, err)
		}
	}
	return got
}
