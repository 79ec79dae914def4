package perf

import (
	"math"
	"slices"
	"sync"
	"time"
)

// maxLatencySamples bounds the latencies kept for percentiles, as Kafka's
// ProducerPerformance does (500,000): a longer run keeps every k-th
// record's latency. The count, average and maximum cover every record.
const maxLatencySamples = 500_000

// latencies gathers per-record latencies from many goroutines (kgo runs
// promises on its own): the totals since the start, the totals of the
// current reporting window, and a sample for percentiles.
type latencies struct {
	mu       sync.Mutex
	every    int64 // keep record i's latency when i%every == 0
	seen     int64
	bytes    int64
	sum, max time.Duration
	window   struct {
		n        int64
		bytes    int64
		sum, max time.Duration
	}
	samples []time.Duration
}

func newLatencies(expected int64) *latencies {
	every := max(1, expected/maxLatencySamples)
	if expected/every > maxLatencySamples {
		every++
	}
	return &latencies{every: every, samples: make([]time.Duration, 0, min(expected, maxLatencySamples))}
}

// add records one record of size bytes that took d.
func (l *latencies) add(d time.Duration, bytes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen%l.every == 0 {
		l.samples = append(l.samples, d)
	}
	l.seen++
	l.bytes += int64(bytes)
	l.sum += d
	l.max = max(l.max, d)
	l.window.n++
	l.window.bytes += int64(bytes)
	l.window.sum += d
	l.window.max = max(l.window.max, d)
}

// windowStats is one reporting window's records, bytes and latencies.
type windowStats struct {
	records, bytes int64
	avg, max       time.Duration
}

// takeWindow returns the current window's totals and starts a new one.
func (l *latencies) takeWindow() windowStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := windowStats{records: l.window.n, bytes: l.window.bytes, max: l.window.max}
	if w.records > 0 {
		w.avg = l.window.sum / time.Duration(w.records)
	}
	l.window.n, l.window.bytes, l.window.sum, l.window.max = 0, 0, 0, 0
	return w
}

// LatencySummary is the distribution of a run's latencies, in
// milliseconds.
type LatencySummary struct {
	AvgMs  float64 `json:"avg_ms"`
	MaxMs  float64 `json:"max_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
}

func (l *latencies) summary() LatencySummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	return summarize(l.samples, l.sum, l.max, l.seen)
}

// summarize reads the percentiles of samples (a copy is sorted) and the
// average and maximum of all n latencies, whose sum and max are given.
func summarize(samples []time.Duration, sum, maxLatency time.Duration, n int64) LatencySummary {
	if n == 0 {
		return LatencySummary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return LatencySummary{
		AvgMs:  ms(sum / time.Duration(n)),
		MaxMs:  ms(maxLatency),
		P50Ms:  ms(percentile(sorted, 50)),
		P95Ms:  ms(percentile(sorted, 95)),
		P99Ms:  ms(percentile(sorted, 99)),
		P999Ms: ms(percentile(sorted, 99.9)),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest sample with at least p% of the samples at or below it. It is 0
// for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps p*n that should be whole (99.9% of 1000) from
	// rounding up past it in floating point.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mb is bytes in Kafka's perf tools' megabytes: 2^20 bytes.
func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// perSecond is n over d, 0 for no time.
func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// totals is the records and bytes so far and their average latency.
func (l *latencies) totals() (records, bytes int64, avg time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen > 0 {
		avg = l.sum / time.Duration(l.seen)
	}
	return l.seen, l.bytes, avg
}
