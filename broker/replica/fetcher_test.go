package replica

import (
	"testing"

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

// fetchersOf returns the fetchers copying p, by key.
func fetchersOf(m *Manager, p *Partition) []fetcherKey {
	m.fetchers.mu.Lock()
	defer m.fetchers.mu.Unlock()
	var keys []fetcherKey
	for k, f := range m.fetchers.byKey {
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
	m := newTestTable(t)
	const leader = 99
	m.createTopic(t, "orders", 8)
	var parts []*Partition
	for i := int32(0); i < 8; i++ {
		p, err := m.Lookup("orders", i)
		if err != nil {
			t.Fatal(err)
		}
		self := m.cfg.BrokerID
		m.ApplyState(p, controller.Partition{Replicas: []int32{leader, self}, ISR: []int32{leader, self}, Leader: leader, LeaderEpoch: 1})
		parts = append(parts, p)
	}
	requireFetchers := func(count int32) {
		t.Helper()
		for _, p := range parts {
			keys := fetchersOf(m.Manager, p)
			want := fetcherKey{leader: leader, id: fetcherID(p.topic, p.index, count)}
			if len(keys) != 1 || keys[0] != want {
				t.Fatalf("with %d fetchers, %s-%d is copied by %v, want only %v", count, p.topic, p.index, keys, want)
			}
		}
		m.fetchers.mu.Lock()
		n := len(m.fetchers.byKey)
		m.fetchers.mu.Unlock()
		if n != int(count) {
			t.Fatalf("%d fetchers run for one leader, want %d", n, count)
		}
	}
	requireFetchers(1)

	setFetchers := func(n string) {
		t.Helper()
		m.setBrokerConfig(t, "num.replica.fetchers", n)
	}
	setFetchers("3")
	requireFetchers(3)
	setFetchers("1")
	requireFetchers(1)
}
