package metrics_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/metrics"
)

// One broker, a producer, a consumer group that commits, and a request
// in error: every kind of metric moves as the traffic says, and the
// broker exports exactly the metrics the README lists.
func TestScrapeOfOneBrokerFollowsProduceFetchAndGroupTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster := startCluster(t, 1, map[string]string{"offsets.topic.num.partitions": "3"})
	addr := metricsAddr(t, cluster, 1)

	before := scrapeMetrics(t, addr)
	if _, ok := before.value("samsa_topic_records_in_total", "topic", "orders"); ok {
		t.Fatal("records in counted for a topic that does not exist yet")
	}

	client := newClient(t, cluster, kgo.DefaultProduceTopic("orders"))
	if _, err := kadm.NewClient(client).CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	produce := func(n int) {
		t.Helper()
		for i := range n {
			r := kgo.KeySliceRecord([]byte("k"+strconv.Itoa(i)), []byte("order "+strconv.Itoa(i)))
			if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(10)

	consumer := newClient(t, cluster, kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("billing"),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	var consumed int
	for consumed < 10 {
		fetches := consumer.PollFetches(ctx)
		if err := fetches.Err(); err != nil {
			t.Fatal(err)
		}
		consumed += fetches.NumRecords()
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	produce(5) // not consumed: the group lags by 5

	// A request in error: Metadata for a topic that does not exist,
	// without creating it.
	req := kmsg.NewPtrMetadataRequest()
	topic := kmsg.NewMetadataRequestTopic()
	topic.Topic = kmsg.StringPtr("no-such-topic")
	req.Topics = append(req.Topics, topic)
	req.AllowAutoTopicCreation = false
	if _, err := req.RequestWith(ctx, client); err != nil {
		t.Fatal(err)
	}

	s := scrapeMetrics(t, addr)
	if _, ok := before.value("samsa_requests_total", "api", "Produce"); ok {
		t.Error("Produce requests counted before any was sent")
	}
	if got := s.must(t, "samsa_requests_total", "api", "Produce"); got < 15 {
		t.Errorf("Produce requests = %v, want at least 15 (one per record sent)", got)
	}
	for _, api := range []string{"Fetch", "JoinGroup", "SyncGroup", "OffsetCommit", "Metadata"} {
		if got := s.must(t, "samsa_requests_total", "api", api); got < 1 {
			t.Errorf("%s requests = %v, want at least 1", api, got)
		}
	}
	if got := s.must(t, "samsa_request_duration_seconds", "api", "Produce"); got < 15 {
		t.Errorf("Produce latency observations = %v, want one per request (at least 15)", got)
	}
	if err := equal("Metadata UNKNOWN_TOPIC_OR_PARTITION errors", s.must(t, "samsa_request_errors_total", "api", "Metadata", "error", "UNKNOWN_TOPIC_OR_PARTITION"), 1); err != nil {
		t.Error(err)
	}
	if _, ok := s.value("samsa_request_errors_total", "api", "Produce"); ok {
		t.Error("Produce errors counted, but every produce succeeded")
	}

	if err := equal("records in on orders", s.must(t, "samsa_topic_records_in_total", "topic", "orders"), 15); err != nil {
		t.Error(err)
	}
	bytesIn := s.must(t, "samsa_topic_bytes_in_total", "topic", "orders")
	if bytesIn < 15*float64(len("order 0")) {
		t.Errorf("bytes in on orders = %v, less than the record values alone", bytesIn)
	}
	if got := s.must(t, "samsa_topic_bytes_out_total", "topic", "orders", "fetch", "consumer"); got <= 0 || got > bytesIn {
		t.Errorf("consumer bytes out on orders = %v, want more than 0 and at most the %v bytes in", got, bytesIn)
	}
	if err := equal("follower bytes out of a single broker", s.must(t, "samsa_topic_bytes_out_total", "topic", "orders", "fetch", "follower"), 0); err != nil {
		t.Error(err)
	}
	if err := equal("log end offsets of orders, summed", s.must(t, "samsa_log_end_offset", "topic", "orders"), 15); err != nil {
		t.Error(err)
	}
	if err := equal("high watermarks of orders, summed", s.must(t, "samsa_log_high_watermark", "topic", "orders"), 15); err != nil {
		t.Error(err)
	}
	if got := s.must(t, "samsa_log_size_bytes", "topic", "orders", "partition", "0") + s.must(t, "samsa_log_size_bytes", "topic", "orders", "partition", "1"); got < bytesIn {
		t.Errorf("log size of orders = %v, want at least the %v bytes appended", got, bytesIn)
	}

	// orders' 2 partitions and __consumer_offsets' 3, all led here.
	for name, want := range map[string]float64{
		"samsa_partitions": 5, "samsa_leader_partitions": 5,
		"samsa_under_replicated_partitions": 0, "samsa_offline_partitions": 0, "samsa_controller_offline_partitions": 0,
		"samsa_active_controller": 1, "samsa_isr_shrinks_total": 0, "samsa_isr_expands_total": 0,
	} {
		if err := equal(name, s.must(t, name), want); err != nil {
			t.Error(err)
		}
	}
	if err := equal("local store session CONNECTED", s.must(t, "samsa_metadata_store_session_state", "store", "local", "state", "CONNECTED"), 1); err != nil {
		t.Error(err)
	}
	if err := equal("local store session EXPIRED", s.must(t, "samsa_metadata_store_session_state", "store", "local", "state", "EXPIRED"), 0); err != nil {
		t.Error(err)
	}

	if err := equal("Stable groups", s.must(t, "samsa_groups", "state", "Stable"), 1); err != nil {
		t.Error(err)
	}
	if err := equal("Empty groups", s.must(t, "samsa_groups", "state", "Empty"), 0); err != nil {
		t.Error(err)
	}
	if err := equal("members of billing", s.must(t, "samsa_group_members", "group", "billing"), 1); err != nil {
		t.Error(err)
	}
	if err := equal("lag of billing on orders, summed", s.must(t, "samsa_group_lag", "group", "billing", "topic", "orders"), 5); err != nil {
		t.Error(err)
	}

	// The producer and the consumer are connected (kgo may open more
	// than one connection each).
	if got := s.must(t, "samsa_connections"); got < 2 {
		t.Errorf("connections = %v, want at least 2 (producer and consumer)", got)
	}
	if got := s.must(t, "samsa_request_budget_capacity_bytes"); got != 33554432 {
		t.Errorf("request budget capacity = %v, want queued.max.request.bytes' default 33554432", got)
	}
	if got := s.must(t, "samsa_request_budget_used_bytes"); got < 0 || got > 33554432 {
		t.Errorf("request budget used = %v, outside 0..capacity", got)
	}

	// The README lists exactly what the broker exports.
	if got, want := s.samsaNames(), sorted(metrics.Names()); !slices.Equal(got, want) {
		t.Errorf("exported metrics differ from the README's list (names.go):\n exported %v\n listed   %v", got, want)
	}
	// The Go runtime's and the process' metrics are there too.
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := s[name]; !ok && (name != "process_open_fds" || runtime.GOOS == "linux") {
			t.Errorf("%s missing", name)
		}
	}

	// The group gone, its members go from the scrape; its committed
	// offsets stay, and with them its lag.
	consumer.Close()
	checkFor(t, 10*time.Second, func() error {
		s := scrapeMetrics(t, addr)
		if v, _ := s.value("samsa_groups", "state", "Empty"); v != 1 {
			return fmt.Errorf("Empty groups = %v after the only member left, want 1", v)
		}
		return equal("members of billing", s.must(t, "samsa_group_members", "group", "billing"), 0)
	})
}

// The health endpoints: /healthz answers while the process runs;
// /readyz answers 200 while the broker serves and 503, with the reason,
// once it begins to shut down.
func TestHealthAndReadinessOfOneBrokerThroughItsShutdown(t *testing.T) {
	cluster := startCluster(t, 1, nil)
	addr := metricsAddr(t, cluster, 1)

	if status, body := get(t, addr, "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 \"ok\"", status, body)
	}
	if status, body := get(t, addr, "/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q, want 200 \"ready\"", status, body)
	}
	if status, _ := get(t, addr, "/nothing"); status != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", status)
	}

	// Shutting down begins with the controlled shutdown (nothing to
	// move on a single broker): from then on /readyz turns load
	// balancers away, while /healthz still answers.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cluster.Broker(1).Node().ControlledShutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, addr, "/readyz"); status != http.StatusServiceUnavailable || body != "not ready: shutting down\n" {
		t.Errorf("/readyz while shutting down: %d %q, want 503 \"not ready: shutting down\"", status, body)
	}
	if status, _ := get(t, addr, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while shutting down: %d, want 200 (the process is up)", status)
	}
	if err := cluster.Stop(1); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the metrics listener still answers after the broker stopped")
	}

	// Restarted, it binds the same port and is ready again.
	if err := cluster.Restart(1); err != nil {
		t.Fatal(err)
	}
	if got := metricsAddr(t, cluster, 1); got != addr {
		t.Errorf("restarted on %s, want the same address %s", got, addr)
	}
	if status, body := get(t, addr, "/readyz"); status != http.StatusOK {
		t.Errorf("/readyz after restart: %d %q", status, body)
	}
}

// metrics.listener must be http://host:port, and a port in use fails the
// start naming the listener.
func TestBrokerWithBadMetricsListenerDoesNotStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, bad := range []string{"127.0.0.1:9644", "https://127.0.0.1:9644", "http://127.0.0.1", "http://127.0.0.1:9644/metrics"} {
		cluster, err := embedded.Start(ctx, embedded.Config{Overrides: map[string]string{"metrics.listener": bad}})
		if err == nil {
			cluster.Close()
			t.Errorf("metrics.listener=%s accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "metrics.listener") || !strings.Contains(err.Error(), "http://host:port") {
			t.Errorf("metrics.listener=%s: error %q does not name the key and the form it wants", bad, err)
		}
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cluster, err := embedded.Start(ctx, embedded.Config{Overrides: map[string]string{"metrics.listener": "http://" + taken.Addr().String()}})
	if err == nil {
		cluster.Close()
		t.Fatal("started with its metrics listener's port in use")
	}
	if !strings.Contains(err.Error(), "metrics listener "+taken.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("port in use: error %q does not say which listener and why", err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// The listener also serves Go's profiles of the running broker, for
// finding where its CPU and memory go.
func TestProfilesOfTheRunningBroker(t *testing.T) {
	cluster := startCluster(t, 1, nil)
	addr := metricsAddr(t, cluster, 1)

	status, body := get(t, addr, "/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d, want 200 with the list of profiles", status)
	}
	if status, body := get(t, addr, "/debug/pprof/heap?debug=1"); status != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("/debug/pprof/heap: %d, want 200 with a heap profile", status)
	}
}

// Lock contention is sampled only while someone asks for it: a mutex or
// block profile taken over N seconds shows the contention of those
// seconds (here, goroutines fighting over one lock), and none is sampled
// outside such a window.
func TestContentionProfilesSampleOnlyWhileAsked(t *testing.T) {
	cluster := startCluster(t, 1, nil)
	addr := metricsAddr(t, cluster, 1)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			contendForLock(&mu, stop)
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	for _, name := range []string{"mutex", "block"} {
		if profile := profileText(t, addr, "/debug/pprof/"+name+"?seconds=1"); !strings.Contains(profile, "contendForLock") {
			t.Errorf("%s profile over 1 s does not show the lock fought over by contendForLock", name)
		}
		// The window is closed: contention from now on is not sampled,
		// so the cumulative profile does not grow.
		before := profileText(t, addr, "/debug/pprof/"+name+"?debug=1")
		time.Sleep(300 * time.Millisecond)
		if after := profileText(t, addr, "/debug/pprof/"+name+"?debug=1"); samplesIn(after) != samplesIn(before) {
			t.Errorf("%s profile grew after its window closed: %d samples, then %d", name, samplesIn(before), samplesIn(after))
		}
	}
}

//go:noinline
func contendForLock(mu *sync.Mutex, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		mu.Lock()
		time.Sleep(50 * time.Microsecond)
		mu.Unlock()
		// Time apart, so the lock's queue of waiters empties now and
		// then: the runtime times a wait only from a queue started while
		// sampling is on.
		time.Sleep(2 * time.Millisecond)
	}
}

// profileText fetches a profile: the text of a debug=1 one, or a gzipped
// protocol buffer's uncompressed bytes (its string table names the
// functions).
func profileText(t *testing.T, addr, path string) string {
	t.Helper()
	status, body := get(t, addr, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if strings.Contains(path, "debug=1") {
		return body
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: not a gzipped profile: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(raw)
}

// samplesIn sums the sample counts of a debug=1 contention profile (each
// sample line starts "cycles count @").
func samplesIn(profile string) int64 {
	var n int64
	for _, line := range strings.Split(profile, "\n") {
		var cycles, count int64
		if _, err := fmt.Sscanf(line, "%d %d @", &cycles, &count); err == nil {
			n += count
		}
	}
	return n
}
