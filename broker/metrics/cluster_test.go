package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Three brokers on the in-process ensemble: one active controller, the
// leader counts what producers append and what its followers fetch, and
// a follower cut off from the leader shows as an ISR shrink and an
// under-replicated partition, then an expansion once it is back. A
// paused broker (its session lost) is not ready.
func TestScrapesOfAClusterFollowReplicationAndFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cluster := startCluster(t, 3, map[string]string{"replica.lag.time.max.ms": "500"})
	ids := []int32{1, 2, 3}
	addrs := map[int32]string{}
	for _, id := range ids {
		addrs[id] = metricsAddr(t, cluster, id)
	}

	client := newClient(t, cluster, kgo.DefaultProduceTopic("payments"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if _, err := kadm.NewClient(client).CreateTopic(ctx, 1, 3, nil, "payments"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitInSync(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := client.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("payment ", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	leader := cluster.LeaderOf("payments", 0)

	var controllers float64
	for _, id := range ids {
		s := scrapeMetrics(t, addrs[id])
		controllers += s.must(t, "samsa_active_controller")
		if err := equal(fmt.Sprintf("broker %d's session CONNECTED", id), s.must(t, "samsa_metadata_store_session_state", "store", "embedded", "state", "CONNECTED"), 1); err != nil {
			t.Error(err)
		}
		if err := equal(fmt.Sprintf("broker %d's replicas of payments", id), s.must(t, "samsa_partitions"), 1); err != nil {
			t.Error(err)
		}
		_, reportsOffline := s.value("samsa_controller_offline_partitions")
		if active := s.must(t, "samsa_active_controller") == 1; reportsOffline != active {
			t.Errorf("broker %d: active controller %v, but reports the cluster's offline partitions: %v", id, active, reportsOffline)
		}
		records, _ := s.value("samsa_topic_records_in_total", "topic", "payments")
		leads := s.must(t, "samsa_leader_partitions")
		if id == leader {
			if records != 20 || leads != 1 {
				t.Errorf("leader %d: records in %v, leads %v; want 20 and 1", id, records, leads)
			}
			if got := s.must(t, "samsa_topic_bytes_out_total", "topic", "payments", "fetch", "follower"); got <= 0 {
				t.Errorf("leader %d: follower bytes out %v, want more than 0 (two followers replicate)", id, got)
			}
		} else if records != 0 || leads != 0 {
			t.Errorf("follower %d: records in %v, leads %v; want 0 and 0 (producers write to the leader only)", id, records, leads)
		}
	}
	if controllers != 1 {
		t.Errorf("active controllers over the cluster = %v, want 1", controllers)
	}
	for _, id := range ids {
		checkFor(t, 10*time.Second, func() error {
			return equal(fmt.Sprintf("broker %d's log end offset of payments", id), scrapeMetrics(t, addrs[id]).must(t, "samsa_log_end_offset", "topic", "payments"), 20)
		})
	}

	// A follower cut off from the leader falls behind and leaves the
	// ISR after replica.lag.time.max.ms.
	follower := ids[0]
	if follower == leader {
		follower = ids[1]
	}
	// Counted from here, once every replica is in the ISR: a slow start
	// under -race may have moved a follower out of the ISR (and back).
	checkFor(t, 10*time.Second, func() error {
		return equal("leader's under-replicated partitions before the cut", scrapeMetrics(t, addrs[leader]).must(t, "samsa_under_replicated_partitions"), 0)
	})
	baseline := scrapeMetrics(t, addrs[leader])
	shrinks, expands := baseline.must(t, "samsa_isr_shrinks_total"), baseline.must(t, "samsa_isr_expands_total")
	if err := cluster.Isolate(follower); err != nil {
		t.Fatal(err)
	}
	client = newClient(t, cluster, kgo.DefaultProduceTopic("payments"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := client.ProduceSync(ctx, kgo.StringRecord("while cut off")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		s := scrapeMetrics(t, addrs[leader])
		if err := equal("leader's ISR shrinks since the follower was cut off", s.must(t, "samsa_isr_shrinks_total")-shrinks, 1); err != nil {
			return err
		}
		return equal("leader's under-replicated partitions", s.must(t, "samsa_under_replicated_partitions"), 1)
	})
	if err := cluster.Heal(follower); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		s := scrapeMetrics(t, addrs[leader])
		if err := equal("leader's ISR expansions since the follower was cut off", s.must(t, "samsa_isr_expands_total")-expands, 1); err != nil {
			return err
		}
		return equal("leader's under-replicated partitions", s.must(t, "samsa_under_replicated_partitions"), 0)
	})

	// Paused, a broker's session is lost: it is not ready, but its
	// process is up.
	if err := cluster.Pause(follower); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, addrs[follower], "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "metadata store session") {
		t.Errorf("/readyz of a paused broker: %d %q, want 503 naming its metadata store session", status, body)
	}
	if status, _ := get(t, addrs[follower], "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz of a paused broker: %d, want 200", status)
	}
	if err := cluster.Resume(follower); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if status, body := get(t, addrs[follower], "/readyz"); status != http.StatusOK {
			return fmt.Errorf("/readyz after Resume: %d %q", status, body)
		}
		return nil
	})
}

// Followers fetch in incremental sessions (KIP-227), as Kafka's do: each
// leader holds a session per follower fetching from it, with the
// partitions that follower copies from it, and records still flow.
func TestFollowersFetchThroughIncrementalSessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cluster := startCluster(t, 3, nil)
	client := newClient(t, cluster, kgo.DefaultProduceTopic("ledger"), kgo.RequiredAcks(kgo.AllISRAcks()))
	const partitions = 12
	if _, err := kadm.NewClient(client).CreateTopic(ctx, partitions, 3, nil, "ledger"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitInSync(ctx, "ledger"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := client.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("entry ", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// Each partition has two followers, each holding it in a session on
	// its leader: 24 partitions in sessions across the cluster.
	checkFor(t, 10*time.Second, func() error {
		var sessions, held float64
		for _, id := range []int32{1, 2, 3} {
			s := scrapeMetrics(t, metricsAddr(t, cluster, id))
			sessions += s.must(t, "samsa_fetch_sessions")
			held += s.must(t, "samsa_fetch_session_partitions")
		}
		if sessions < 2 {
			return fmt.Errorf("%v fetch sessions across the cluster, want the followers' (at least 2)", sessions)
		}
		return equal("partitions in fetch sessions", held, 2*partitions)
	})
}
