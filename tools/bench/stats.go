package bench

import (
	"math"
	"slices"
	"time"
)

// summary holds the percentiles a latency table shows.
type summary struct {
	n                        int
	p50, p90, p99, p999, max time.Duration
}

// summarize sorts a copy of ds and reads its percentiles.
func summarize(ds []time.Duration) summary {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	s := summary{n: len(sorted)}
	if len(sorted) == 0 {
		return s
	}
	s.p50 = percentile(sorted, 50)
	s.p90 = percentile(sorted, 90)
	s.p99 = percentile(sorted, 99)
	s.p999 = percentile(sorted, 99.9)
	s.max = sorted[len(sorted)-1]
	return s
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
