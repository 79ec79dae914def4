package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

// startCluster starts brokers with their metrics listener on a free
// port each, and closes them when the test ends.
func startCluster(t *testing.T, brokers int, overrides map[string]string) *embedded.Cluster {
	t.Helper()
	all := map[string]string{"metrics.listener": "http://127.0.0.1:0"}
	for k, v := range overrides {
		all[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := embedded.Start(ctx, embedded.Config{Brokers: brokers, Overrides: all})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Close() })
	return cluster
}

// metricsAddr is the metrics endpoint of broker id (host:port).
func metricsAddr(t *testing.T, cluster *embedded.Cluster, id int32) string {
	t.Helper()
	addr := strings.TrimPrefix(cluster.Broker(id).Config().MetricsListener, "http://")
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("broker %d has no bound metrics listener: %q", id, addr)
	}
	return addr
}

func newClient(t *testing.T, cluster *embedded.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.Seeds()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return client
}

// get fetches path from a metrics endpoint: its status and body.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape is one /metrics page, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	status, body := get(t, addr, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the sample of name whose labels include want (label=value
// pairs), summed over the samples that match; ok is false when none does.
// A histogram's value is its sample count.
func (s scrape) value(name string, want ...string) (sum float64, ok bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, ok
}

// must is value, failing the test when no sample matches.
func (s scrape) must(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	v, ok := s.value(name, want...)
	if !ok {
		t.Fatalf("no sample of %s%v in /metrics", name, want)
	}
	return v
}

// samsaNames are the families of Samsa's own metrics on the page.
func (s scrape) samsaNames() []string {
	var names []string
	for name := range s {
		if strings.HasPrefix(name, "samsa_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// checkFor polls fn until it returns nil, failing the test with its last
// error after wait.
func checkFor(t *testing.T, wait time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// equal is an error when got is not want.
func equal(what string, got, want float64) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}
