package compattests

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestTopicLifecycleCreateListDescribeDelete(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	ctx := testContext(t, 60*time.Second)

	created := createTopic(t, adm, "orders", 3, map[string]string{"retention.ms": "3600000"})
	if created.NumPartitions != 3 || created.ReplicationFactor != 1 {
		t.Errorf("CreateTopics answered %d partitions, replication factor %d; want 3, 1", created.NumPartitions, created.ReplicationFactor)
	}
	if created.ID == (kadm.TopicID{}) {
		t.Error("CreateTopics answered a zero topic ID")
	}
	// CreateTopics v5+ returns the topic's configs (KIP-525).
	if c, ok := created.Configs["retention.ms"]; !ok || c.MaybeValue() != "3600000" {
		t.Errorf("CreateTopics configs: retention.ms = %+v (present %v), want 3600000", c, ok)
	}
	if _, ok := created.Configs["cleanup.policy"]; !ok && !kfakeLacks(t, "defaults in CreateTopics configs") {
		t.Errorf("CreateTopics configs do not include defaults such as cleanup.policy: %v", created.Configs)
	}
	createTopic(t, adm, "payments", 1, nil)

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orders", "payments"} {
		if !topics.Has(name) {
			t.Fatalf("ListTopics = %v, missing %s", topics.Names(), name)
		}
	}
	orders := topics["orders"]
	if orders.Err != nil {
		t.Fatalf("orders: %v", orders.Err)
	}
	if orders.ID != created.ID {
		t.Errorf("metadata topic ID %v differs from CreateTopics' %v", orders.ID, created.ID)
	}
	if orders.IsInternal {
		t.Error("orders is marked internal")
	}
	if len(orders.Partitions) != 3 {
		t.Fatalf("orders has %d partitions, want 3", len(orders.Partitions))
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("ListBrokers = %v, %v; want one broker", brokers, err)
	}
	node := brokers[0].NodeID
	for _, p := range orders.Partitions.Sorted() {
		if p.Err != nil || p.Leader != node || len(p.Replicas) != 1 || p.Replicas[0] != node || len(p.ISR) != 1 {
			t.Errorf("partition %d: leader %d replicas %v isr %v err %v; want leader %d, one replica and ISR %d",
				p.Partition, p.Leader, p.Replicas, p.ISR, p.Err, node, node)
		}
	}

	described, err := adm.DescribeTopicConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := described.On("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configByName(rc.Configs)
	if c := cfg["retention.ms"]; c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("describe retention.ms = %q source %v, want 3600000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
	}
	if c := cfg["cleanup.policy"]; c.MaybeValue() != "delete" {
		t.Errorf("describe cleanup.policy = %q, want the default delete", c.MaybeValue())
	}

	if _, err := adm.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatalf("delete orders: %v", err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		if topics.Has("orders") {
			return errors.New("orders is still listed after DeleteTopics")
		}
		if !topics.Has("payments") {
			return errors.New("payments disappeared when orders was deleted")
		}
		return nil
	})
	// A deleted topic can be created again, and gets a new ID.
	again := createTopic(t, adm, "orders", 1, nil)
	if again.ID == created.ID {
		t.Errorf("re-created topic kept the old topic ID %v", created.ID)
	}
}

func TestCreateExistingTopicFailsWithTopicAlreadyExists(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "dup", 2, nil)
	_, err := adm.CreateTopic(testContext(t, 20*time.Second), 5, 1, nil, "dup")
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second create: %v, want TOPIC_ALREADY_EXISTS", err)
	}
	topics, err := adm.ListTopics(testContext(t, 20*time.Second), "dup")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(topics["dup"].Partitions); n != 2 {
		t.Errorf("dup has %d partitions after the failed create, want 2", n)
	}
}

func TestCreateTopicWithInvalidNameFailsWithInvalidTopicException(t *testing.T) {
	skipOnKfake(t, "kfake does not validate topic names")
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	for _, name := range []string{
		"",
		".",
		"..",
		"has space",
		"slash/name",
		"star*",
		strings.Repeat("x", 250), // Kafka's limit is 249 characters
	} {
		_, err := adm.CreateTopic(testContext(t, 20*time.Second), 1, 1, nil, name)
		if !errors.Is(err, kerr.InvalidTopicException) {
			t.Errorf("create %q: %v, want INVALID_TOPIC_EXCEPTION", shorten(name), err)
		}
	}
	// The longest legal name, and every legal character, work.
	createTopic(t, adm, strings.Repeat("y", 249), 1, nil)
	createTopic(t, adm, "Legal.name_with-every-kind09", 1, nil)
}

func TestCreatePartitionsAddsWritablePartitions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	ctx := testContext(t, 60*time.Second)
	createTopic(t, adm, "grow", 2, nil)

	resp, err := adm.CreatePartitions(ctx, 3, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatalf("CreatePartitions: %v", err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		topics, err := adm.ListTopics(ctx, "grow")
		if err != nil {
			return err
		}
		if n := len(topics["grow"].Partitions); n != 5 {
			return fmt.Errorf("grow has %d partitions, want 5", n)
		}
		return nil
	})

	// Shrinking is refused (Kafka: INVALID_PARTITIONS).
	resp, err = adm.UpdatePartitions(ctx, 1, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); !errors.Is(err, kerr.InvalidPartitions) {
		t.Errorf("shrinking to 1 partition: %v, want INVALID_PARTITIONS", err)
	}

	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := int32(0); p < 5; p++ {
		recs = append(recs, &kgo.Record{Topic: "grow", Partition: p, Value: fmt.Appendf(nil, "to-%d", p)})
	}
	produceSync(t, cl, recs...)
	got := readAll(t, b, "grow")
	for p := int32(0); p < 5; p++ {
		if len(got[p]) != 1 || string(got[p][0].Value) != fmt.Sprintf("to-%d", p) {
			t.Errorf("partition %d holds %d records, want the one produced to it", p, len(got[p]))
		}
	}
}

func configByName(cs []kadm.Config) map[string]kadm.Config {
	m := make(map[string]kadm.Config, len(cs))
	for _, c := range cs {
		m[c.Key] = c
	}
	return m
}

func shorten(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%s…(%d chars)", s[:10], len(s))
	}
	return s
}

// configValue is the config's value, or "" when it has none.
func configValue(c kadm.Config) string { return c.MaybeValue() }
