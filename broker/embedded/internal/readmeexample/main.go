package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

const topic, records = "orders", 300

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Three brokers in this process, on free loopback ports, their data
	// in a temporary directory that Close removes.
	cluster, err := embedded.Start(ctx, embedded.Config{Brokers: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	client, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.Seeds()...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // acks=all
		kgo.DefaultProduceTopic(topic),
		kgo.ConsumeTopics(topic),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Three partitions, each on all three brokers; a write is acknowledged
	// once at least two have it.
	minISR := map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}
	created, err := kadm.NewClient(client).CreateTopic(ctx, 3, 3, minISR, topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		log.Fatal(err)
	}

	var batch []*kgo.Record
	for i := range records {
		batch = append(batch, kgo.StringRecord(fmt.Sprintf("order-%03d", i)))
	}
	if err := client.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("produced %d records to %s\n", records, topic)
	fmt.Printf("consumed %d records\n", consume(ctx, client))

	// Kill the leader of partition 0 as kill -9 would; another in-sync
	// replica takes over.
	leader := cluster.LeaderOf(topic, 0)
	if err := cluster.Kill(leader); err != nil {
		log.Fatal(err)
	}
	next, err := cluster.WaitForLeader(ctx, topic, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("killed broker %d, the leader of %s-0; broker %d leads it now\n", leader, topic, next)

	// A new consumer reads everything back from the two brokers left.
	reader, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...), kgo.ConsumeTopics(topic))
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	fmt.Printf("read back %d of %d records, each partition in the order produced\n", consume(ctx, reader), records)
}

// consume reads until it has every record, checking that each partition
// holds its records in the order they were produced.
func consume(ctx context.Context, client *kgo.Client) int {
	read := 0
	last := map[int32]string{}
	for read < records {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			log.Fatalf("read %d of %d records: %v", read, records, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if v := string(r.Value); v <= last[r.Partition] {
				log.Fatalf("partition %d: %s after %s", r.Partition, v, last[r.Partition])
			}
			last[r.Partition] = string(r.Value)
			read++
		})
	}
	return read
}
