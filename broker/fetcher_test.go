package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
)

// Kafka gives topic-partition to fetcher abs(31 * topic.hashCode() +
// partition) % num.replica.fetchers; "orders".hashCode() is -1008770331.
func TestFetcherIDIsKafkasHashOfTopicAndPartition(t *testing.T) {
	want := []int32{2, 1, 0, 2, 1, 0, 2, 1}
	for p, id := range want {
		if got := fetcherID("orders", int32(p), 3); got != id {
			t.Errorf("orders-%d: fetcher %d, want %d", p, got, id)
		}
	}
	for p := int32(0); p < 8; p++ {
		if got := fetcherID("orders", p, 1); got != 0 {
			t.Errorf("orders-%d with one fetcher: fetcher %d", p, got)
		}
	}
}

// fetcherOf returns the fetchers copying p, by key.
func fetchersOf(b *Broker, p *partition) []fetcherKey {
	b.fetchers.mu.Lock()
	defer b.fetchers.mu.Unlock()
	var keys []fetcherKey
	for k, f := range b.fetchers.byKey {
		f.mu.Lock()
		if _, ok := f.parts[p]; ok {
			keys = append(keys, k)
		}
		f.mu.Unlock()
	}
	return keys
}

// num.replica.fetchers is dynamic, as in Kafka: raising it spreads the
// followed partitions over more fetchers of the same leader, lowering it
// brings them back and stops the fetchers left empty.
func TestNumReplicaFetchersSpreadsPartitionsAndIsDynamic(t *testing.T) {
	b := newTestBroker(t)
	const leader = 99
	createTopicForTest(t, b, "orders", 8, nil)
	var parts []*partition
	for i := int32(0); i < 8; i++ {
		p, err := b.lookupPartition("orders", i)
		if err != nil {
			t.Fatal(err)
		}
		self := b.cfg.BrokerID
		if then := b.applyPartitionState(p, controller.Partition{Replicas: []int32{leader, self}, ISR: []int32{leader, self}, Leader: leader, LeaderEpoch: 1}); then != nil {
			then()
		}
		parts = append(parts, p)
	}
	requireFetchers := func(count int32) {
		t.Helper()
		for _, p := range parts {
			keys := fetchersOf(b, p)
			want := fetcherKey{leader: leader, id: fetcherID(p.topic, p.index, count)}
			if len(keys) != 1 || keys[0] != want {
				t.Fatalf("with %d fetchers, %s-%d is copied by %v, want only %v", count, p.topic, p.index, keys, want)
			}
		}
		b.fetchers.mu.Lock()
		n := len(b.fetchers.byKey)
		b.fetchers.mu.Unlock()
		if n != int(count) {
			t.Fatalf("%d fetchers run for one leader, want %d", n, count)
		}
	}
	requireFetchers(1)

	setFetchers := func(n string) {
		t.Helper()
		requireCode(t, "num.replica.fetchers="+n, incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeBroker, "0",
			configOp(kmsg.IncrementalAlterConfigOpSet, "num.replica.fetchers", kmsg.StringPtr(n))).ErrorCode, nil)
	}
	setFetchers("3")
	requireFetchers(3)
	setFetchers("1")
	requireFetchers(1)
}
