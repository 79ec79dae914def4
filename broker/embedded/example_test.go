package embedded_test

import (
	"context"
	"fmt"
	"log"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

// A test's Kafka broker in one call: Samsa on a free loopback port, its
// data in a temporary directory that Close removes.
func ExampleStart() {
	ctx := context.Background()
	cluster, err := embedded.Start(ctx, embedded.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	client, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.Seeds()...),
		kgo.AllowAutoTopicCreation(),
		kgo.DefaultProduceTopic("greetings"),
		kgo.ConsumeTopics("greetings"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	if err := client.ProduceSync(ctx, kgo.StringRecord("hello, samsa")).FirstErr(); err != nil {
		log.Fatal(err)
	}
	client.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
		fmt.Printf("%s: %s\n", r.Topic, r.Value)
	})
	// Output: greetings: hello, samsa
}

// Three brokers on the in-process ensemble, and a fault: the leader of a
// partition is killed, another in-sync replica takes over, and every
// acknowledged record is still there.
func ExampleCluster_Kill() {
	ctx := context.Background()
	cluster, err := embedded.Start(ctx, embedded.Config{
		Brokers:   3,
		Overrides: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	client, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.Seeds()...),
		kgo.AllowAutoTopicCreation(),
		kgo.DefaultProduceTopic("orders"),
		kgo.ConsumeTopics("orders"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.ProduceSync(ctx, kgo.StringRecord("order 1")).FirstErr(); err != nil {
		log.Fatal(err)
	}

	old := cluster.LeaderOf("orders", 0)
	if err := cluster.Kill(old); err != nil {
		log.Fatal(err)
	}
	leader, err := cluster.WaitForLeader(ctx, "orders", 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a new leader:", leader != old)
	for read := 0; read < 1; {
		client.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			fmt.Printf("%s\n", r.Value)
			read++
		})
	}
	// Output:
	// a new leader: true
	// order 1
}
