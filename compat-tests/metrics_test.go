package compattests

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// metricsURL is the address the broker logged for its metrics listener.
var metricsURL = regexp.MustCompile(`serving metrics.*?(http://127\.0\.0\.1:[0-9]+)`)

// The samsa binary with metrics.listener set serves Prometheus metrics
// and the health checks; its records counter follows what is produced.
func TestBinaryServesMetricsAndHealthWhenMetricsListenerIsSet(t *testing.T) {
	skipOnKfake(t, "metrics.listener is Samsa's own")
	b := startBroker(t, withOverride("metrics.listener", "http://127.0.0.1:0"))
	m := metricsURL.FindStringSubmatch(b.output())
	if m == nil {
		t.Fatal("the broker did not log its metrics address")
	}
	base := m[1]
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get("/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", status, body)
	}
	if status, body := get("/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", status, body)
	}

	cl := b.client(t, kgo.DefaultProduceTopic("metered"), kgo.AllowAutoTopicCreation())
	produceSync(t, cl, kgo.StringRecord("a"), kgo.StringRecord("b"), kgo.StringRecord("c"))
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		_, body := get("/metrics")
		if !strings.Contains(body, `samsa_topic_records_in_total{topic="metered"} 3`+"\n") {
			return fmt.Errorf("no samsa_topic_records_in_total of 3 for metered in /metrics")
		}
		return nil
	})
	b.Stop()
}

// A metrics.listener that is not http://host:port stops the binary at
// start, with a message naming the key.
func TestBinaryRefusesAMalformedMetricsListener(t *testing.T) {
	skipOnKfake(t, "metrics.listener is Samsa's own")
	b := startBroker(t)
	b.Stop()
	b.overrides = append(b.overrides, [2]string{"metrics.listener", "127.0.0.1:9644"})
	if err := b.tryStart(); err == nil {
		t.Fatal("started with metrics.listener=127.0.0.1:9644")
	}
	if out := b.output(); !strings.Contains(out, "metrics.listener") || !strings.Contains(out, "want http://host:port") {
		t.Errorf("the broker's output does not say what is wrong with metrics.listener:\n%s", out)
	}
}
