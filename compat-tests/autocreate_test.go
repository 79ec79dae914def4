package compattests

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProduceToNewTopicCreatesItWhenAutoCreateIsEnabled(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withOverride("auto.create.topics.enable", "true"), withOverride("num.partitions", "3"))
	// kgo only asks for auto-creation when told to; librdkafka producers ask
	// by default.
	cl := b.client(t, kgo.AllowAutoTopicCreation())
	produceSync(t, cl, &kgo.Record{Topic: "appears", Value: []byte("first")})

	topics, err := b.admin(t).ListTopics(testContext(t, 20*time.Second), "appears")
	if err != nil {
		t.Fatal(err)
	}
	d := topics["appears"]
	if d.Err != nil || len(d.Partitions) != 3 || d.Partitions.NumReplicas() != 1 {
		t.Fatalf("auto-created topic: err %v, %d partitions, replication %d; want num.partitions=3 and 1 replica",
			d.Err, len(d.Partitions), d.Partitions.NumReplicas())
	}
	var total int
	for _, recs := range readAll(t, b, "appears") {
		total += len(recs)
	}
	if total != 1 {
		t.Errorf("auto-created topic holds %d records, want 1", total)
	}
}

func TestProduceToNewTopicFailsWithUnknownTopicWhenAutoCreateIsDisabled(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withOverride("auto.create.topics.enable", "false"))
	cl := b.client(t,
		kgo.AllowAutoTopicCreation(), // the client asks; the broker must refuse
		kgo.UnknownTopicRetries(2),
		kgo.RecordDeliveryTimeout(10*time.Second),
	)
	err := cl.ProduceSync(testContext(t, 20*time.Second), &kgo.Record{Topic: "never-made", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("produce to a missing topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	topics, err := b.admin(t).ListTopics(testContext(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("never-made") {
		t.Fatal("the topic was created although auto.create.topics.enable=false")
	}
	// Creating it explicitly still works.
	createTopic(t, b.admin(t), "never-made", 1, nil)
	produceSync(t, b.client(t), &kgo.Record{Topic: "never-made", Value: []byte("x")})
}
