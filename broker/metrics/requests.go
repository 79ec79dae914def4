package metrics

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request latency buckets, in seconds: from the sub-millisecond
// metadata requests to fetches that wait out their max wait (500 ms by
// default) and acks=all produces that wait for slow followers.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// maxAPIKey bounds the API keys with counters of their own; a request
// for a larger key (no broker serves one) is counted under "Unknown".
const maxAPIKey = 127

// maxErrorCode bounds the error codes with a counter slot of their own;
// larger ones (none in Kafka today) are looked up by label.
const maxErrorCode = 255

// requestMetrics counts requests, errors and latency per API.
type requestMetrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// apis holds each API's children, made on its first request; index
	// maxAPIKey+1 is the one for unknown keys.
	apis [maxAPIKey + 2]atomic.Pointer[apiMetrics]
	mu   sync.Mutex // making an apiMetrics
}

// apiMetrics are one API's counters and histogram.
type apiMetrics struct {
	name     string
	requests prometheus.Counter
	duration prometheus.Observer
	errors   [maxErrorCode + 1]atomic.Pointer[prometheus.Counter] // by error code
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: defRequests.name, Help: defRequests.help,
		}, defRequests.labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: defRequestErrors.name, Help: defRequestErrors.help,
		}, defRequestErrors.labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: defRequestDuration.name, Help: defRequestDuration.help,
			Buckets: durationBuckets,
		}, defRequestDuration.labels),
	}
}

func (r *requestMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.requests, r.errors, r.duration}
}

// api returns the metrics of an API key, making them on first use.
func (r *requestMetrics) api(key int16) *apiMetrics {
	i := int(key)
	if i < 0 || i > maxAPIKey {
		i = maxAPIKey + 1
	}
	if a := r.apis[i].Load(); a != nil {
		return a
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.apis[i].Load(); a != nil {
		return a
	}
	name := "Unknown"
	if i <= maxAPIKey {
		name = kmsg.NameForKey(key)
	}
	a := &apiMetrics{
		name:     name,
		requests: r.requests.WithLabelValues(name),
		duration: r.duration.WithLabelValues(name),
	}
	r.apis[i].Store(a)
	return a
}

// served counts one request.
func (r *requestMetrics) served(key int16, d time.Duration) {
	a := r.api(key)
	a.requests.Inc()
	a.duration.Observe(d.Seconds())
}

// failed counts one error code of a response.
func (r *requestMetrics) failed(key, code int16) {
	a := r.api(key)
	if code < 0 || int(code) > maxErrorCode {
		r.errors.WithLabelValues(a.name, errorName(code)).Inc()
		return
	}
	if c := a.errors[code].Load(); c != nil {
		(*c).Inc()
		return
	}
	c := r.errors.WithLabelValues(a.name, errorName(code))
	a.errors[code].CompareAndSwap(nil, &c) // a racing first use made the same child
	c.Inc()
}

// errorName is the Kafka name of an error code (UNKNOWN_TOPIC_OR_PARTITION).
func errorName(code int16) string {
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) && ke.Code == code {
		return ke.Message
	}
	return "UNKNOWN_CODE_" + strconv.Itoa(int(code))
}
