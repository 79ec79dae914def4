package compattests

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaGoLogger returns a logger for kafka-go's Writer and Reader when
// SAMSA_COMPAT_CLIENT_DEBUG=1, else nil (kafka-go's default: silent).
func kafkaGoLogger(name string) kafka.Logger {
	if os.Getenv("SAMSA_COMPAT_CLIENT_DEBUG") != "1" {
		return nil
	}
	return log.New(os.Stderr, "[kafka-go "+name+"] ", log.Lmicroseconds)
}

func TestKafkaGoCreatesProducesAndReadsPartitionsByteExact(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ctx := testContext(t, 30*time.Second)
	topic := uniqueTopic(t)
	const partitions = 3
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second}

	created, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("kafka-go CreateTopics: %v", err)
	}
	if err := created.Errors[topic]; err != nil {
		t.Fatalf("kafka-go CreateTopics %s: %v", topic, err)
	}

	// The metadata listing (all topics) shows the topic, and a plain
	// Conn's ReadPartitions sees every partition led by this broker at
	// the address clients dialled (KAFKA-NOTES pitfall 9).
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			return fmt.Errorf("kafka-go Metadata: %w", err)
		}
		var names []string
		for _, tp := range md.Topics {
			names = append(names, tp.Name)
			if tp.Name == topic {
				if tp.Error != nil || len(tp.Partitions) != partitions {
					return fmt.Errorf("kafka-go Metadata: %s has error %v and %d partitions, want %d", topic, tp.Error, len(tp.Partitions), partitions)
				}
				return nil
			}
		}
		return fmt.Errorf("kafka-go Metadata lists topics %q, not %s", names, topic)
	})
	conn, err := kafka.DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		t.Fatalf("kafka-go Dial: %v", err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatalf("kafka-go Conn.ReadPartitions(%s): %v", topic, err)
	}
	if len(parts) != partitions {
		t.Fatalf("kafka-go Conn.ReadPartitions(%s): %d partitions, want %d", topic, len(parts), partitions)
	}
	for _, p := range parts {
		leader := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
		if p.Topic != topic || p.Error != nil || leader != b.Addr() || len(p.Replicas) != 1 || len(p.Isr) != 1 {
			t.Fatalf("kafka-go Conn.ReadPartitions(%s): partition %d has error %v, leader %s (want %s), replicas %v, isr %v",
				topic, p.ID, p.Error, leader, b.Addr(), p.Replicas, p.Isr)
		}
	}

	want := clientRecords(topic, partitions, clientRecordCount, time.Now())
	partitionOf := map[string]int{}
	msgs := make([]kafka.Message, len(want))
	for i, r := range want {
		partitionOf[string(r.Key)] = int(r.Partition)
		m := kafka.Message{Key: r.Key, Value: r.Value, Time: r.Timestamp}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		msgs[i] = m
	}
	w := &kafka.Writer{
		Addr:  kafka.TCP(b.Addr()),
		Topic: topic,
		// Every key is sent to the partition clientRecords planned for it.
		Balancer: kafka.BalancerFunc(func(m kafka.Message, _ ...int) int {
			return partitionOf[string(m.Key)]
		}),
		RequiredAcks: kafka.RequireAll,
		BatchSize:    16, // several batches per partition
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 10 * time.Second,
		Logger:       kafkaGoLogger("writer"),
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("kafka-go Writer.WriteMessages: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("kafka-go Writer.Close: %v", err)
	}

	offsets := make([]kafka.OffsetRequest, 0, 2*partitions)
	for p := 0; p < partitions; p++ {
		offsets = append(offsets, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	listed, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: offsets}})
	if err != nil {
		t.Fatalf("kafka-go ListOffsets: %v", err)
	}
	if len(listed.Topics[topic]) != partitions {
		t.Fatalf("kafka-go ListOffsets: %d partitions of %s listed, want %d", len(listed.Topics[topic]), topic, partitions)
	}
	for _, po := range listed.Topics[topic] {
		n := int64(len(byPartition(want)[int32(po.Partition)]))
		if po.Error != nil || po.FirstOffset != 0 || po.LastOffset != n {
			t.Fatalf("kafka-go ListOffsets %s/%d: first %d, last %d, error %v; want 0, %d, nil",
				topic, po.Partition, po.FirstOffset, po.LastOffset, po.Error, n)
		}
	}

	// kafka-go's Reader returns nil for an empty value as for a null one
	// (readNewBytes only allocates for a positive length), so its reads are
	// held to that; the kgo read after it tells the two apart, which is
	// what shows the Writer sent them apart and the broker kept them.
	for p, wantP := range byPartition(want) {
		got := kafkaGoReadPartition(t, b.Addr(), topic, int(p), len(wantP))
		requireSameRecords(t, fmt.Sprintf("kafka-go Reader on %s/%d", topic, p), withEmptyAsNull(wantP), got)
	}
	requireStoredByteExact(t, b, topic, want)
}

// kafkaGoReadPartition reads n records of one partition from its first
// offset with a kafka-go Reader bound to that partition (no GroupID, so no
// group coordinator and no commits).
func kafkaGoReadPartition(t *testing.T, addr, topic string, partition, n int) []*kgo.Record {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   []string{addr},
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  1 << 20,
		MaxWait:   200 * time.Millisecond,
		Logger:    kafkaGoLogger("reader"),
	})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatalf("kafka-go Reader.SetOffset: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go Reader on %s/%d: after %d of %d records: %v", topic, partition, len(got), n, err)
		}
		rec := &kgo.Record{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Value: m.Value, Timestamp: m.Time}
		for _, h := range m.Headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		got = append(got, rec)
	}
	return got
}
