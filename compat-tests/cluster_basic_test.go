package compattests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/controller/zktest"
)

// TestThreeBrokersReplicateAndFailOverWhenTheLeaderIsKilled is the
// cluster's smallest story: a replication-factor-3 topic is written with
// acks=all, its leader is killed with SIGKILL, another in-sync replica
// takes over, and every acknowledged record reads back from the new
// leader.
func TestThreeBrokersReplicateAndFailOverWhenTheLeaderIsKilled(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	c.createTopic(t, "replicated", 1, 3, nil)
	cl := c.client(t, kgo.DefaultProduceTopic("replicated"), kgo.RequiredAcks(kgo.AllISRAcks()))
	var want []string
	for i := range 50 {
		v := fmt.Sprintf("before-%d", i)
		want = append(want, v)
		produceSync(t, cl, &kgo.Record{Value: []byte(v)})
	}
	old := c.leader("replicated", 0)
	c.broker(old).Kill()
	c.waitLeaderMoves("replicated", 0, old)
	// Metadata reports the dead broker's replica as offline.
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		m, err := c.metadata("replicated")
		if err != nil {
			return err
		}
		p := m.Topics["replicated"].Partitions[0]
		if !slices.Contains(p.OfflineReplicas, old) {
			return fmt.Errorf("offline replicas %v, want broker %d among them", p.OfflineReplicas, old)
		}
		return nil
	})
	for i := range 50 {
		v := fmt.Sprintf("after-%d", i)
		want = append(want, v)
		produceSync(t, cl, &kgo.Record{Value: []byte(v)})
	}
	c.broker(old).Restart()
	c.waitFullISR(60*time.Second, "replicated")
	got := c.readAll(t, "replicated")[0]
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if string(r.Value) != want[i] || r.Offset != int64(i) {
			t.Fatalf("offset %d holds %q (record %d), want %q at %d", r.Offset, r.Value, i, want[i], i)
		}
	}
}

// TestBrokerRefusesLogDirectoriesOfAnotherCluster restarts a broker
// against a new, empty ZooKeeper: its log directory names the old
// cluster, so it must refuse to start, as Kafka does, rather than take
// its topics for unknown ones and delete them.
func TestBrokerRefusesLogDirectoriesOfAnotherCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, withOverride("default.replication.factor", "1"),
		withOverride("offsets.topic.replication.factor", "1"), withOverride("min.insync.replicas", "1"))
	c.createTopic(t, "precious", 1, 1, nil)
	produceSync(t, c.client(t, kgo.DefaultProduceTopic("precious")), &kgo.Record{Value: []byte("keep me")})
	b := c.broker(1)
	b.Stop()

	other := zktest.Start(t)
	b.overrides = append(b.overrides, [2]string{"zookeeper.connect", other.Addr})
	if err := b.tryStart(); err == nil {
		t.Fatal("the broker started on the log directory of another cluster")
	}
	if out := b.output(); !strings.Contains(out, "cluster.id") {
		t.Errorf("the broker's refusal does not name cluster.id:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(b.dataDir, "precious-0")); err != nil {
		t.Errorf("the partition's log is gone after the refused start: %v", err)
	}
}
