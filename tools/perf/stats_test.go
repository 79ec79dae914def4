package perf

import (
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	// 1 ms to 1000 ms: the p-th percentile is p% of the way, exactly.
	var samples []time.Duration
	for i := 1000; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	s := summarize(samples, 500500*time.Millisecond, 1000*time.Millisecond, 1000)
	want := LatencySummary{AvgMs: 500.5, MaxMs: 1000, P50Ms: 500, P95Ms: 950, P99Ms: 990, P999Ms: 999}
	if s != want {
		t.Errorf("summary of 1..1000 ms = %+v, want %+v", s, want)
	}
	if one := summarize(samples[:1], time.Second, time.Second, 1); one.P50Ms != 1000 || one.P999Ms != 1000 {
		t.Errorf("one sample of 1 s: percentiles %+v, want all 1000 ms", one)
	}
	if none := summarize(nil, 0, 0, 0); none != (LatencySummary{}) {
		t.Errorf("no samples: %+v, want zeros", none)
	}
}

func TestALongRunKeepsABoundedSampleButCountsEveryRecord(t *testing.T) {
	const n = 2*maxLatencySamples + 7
	l := newLatencies(n)
	for i := range n {
		l.add(time.Duration(i%1000+1)*time.Microsecond, 10)
	}
	if len(l.samples) > maxLatencySamples || len(l.samples) < maxLatencySamples/2 {
		t.Errorf("kept %d latencies of %d: want at most %d, and most of that", len(l.samples), n, maxLatencySamples)
	}
	records, bytes, _ := l.totals()
	if records != n || bytes != 10*n {
		t.Errorf("totals %d records, %d bytes: want %d and %d", records, bytes, n, 10*n)
	}
	if s := l.summary(); s.MaxMs != 1 || s.P50Ms < 0.45 || s.P50Ms > 0.55 {
		t.Errorf("summary %+v: want max 1 ms and a median near 0.5 ms", s)
	}
}

func TestTheWindowStartsAfreshAtEachProgressLine(t *testing.T) {
	l := newLatencies(10)
	l.add(2*time.Millisecond, 100)
	l.add(4*time.Millisecond, 100)
	if w := l.takeWindow(); w.records != 2 || w.bytes != 200 || w.avg != 3*time.Millisecond || w.max != 4*time.Millisecond {
		t.Errorf("first window %+v: want 2 records, 200 bytes, 3 ms avg, 4 ms max", w)
	}
	l.add(time.Millisecond, 50)
	if w := l.takeWindow(); w.records != 1 || w.bytes != 50 || w.max != time.Millisecond {
		t.Errorf("second window %+v: want only the record added since", w)
	}
}
