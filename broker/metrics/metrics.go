package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is one broker's registry: the request metrics it counts as
// requests are served, the scrape-time collector once Watch gave it its
// sources, and the Go runtime and process collectors.
type Metrics struct {
	registry *prometheus.Registry
	requests *requestMetrics
}

// New returns a registry with the request metrics and the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry(), requests: newRequestMetrics()}
	m.registry.MustRegister(m.requests.collectors()...)
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RequestServed implements broker.RequestObserver.
func (m *Metrics) RequestServed(key int16, d time.Duration) { m.requests.served(key, d) }

// ResponseError implements broker.RequestObserver.
func (m *Metrics) ResponseError(key, code int16) { m.requests.failed(key, code) }

// Watch adds the scrape-time metrics, read from src. It is called once,
// when the broker is built; until then /metrics has the request metrics
// and the runtime's only.
func (m *Metrics) Watch(src Sources) error {
	if src.Broker == nil {
		return fmt.Errorf("watch broker metrics: no broker")
	}
	if err := m.registry.Register(newCollector(src)); err != nil {
		return fmt.Errorf("watch broker metrics: %w", err)
	}
	return nil
}

// Gatherer is the registry, for tests and for serving it elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }
