package metrics

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Counting a request and its errors is on every request's path: after an
// API's first request it allocates nothing.
func TestCountingARequestAllocatesNothing(t *testing.T) {
	m := New()
	m.RequestServed(int16(kmsg.Produce), time.Millisecond)
	m.ResponseError(int16(kmsg.Produce), kerr.NotLeaderForPartition.Code)
	allocs := testing.AllocsPerRun(1000, func() {
		m.RequestServed(int16(kmsg.Produce), time.Millisecond)
		m.ResponseError(int16(kmsg.Produce), kerr.NotLeaderForPartition.Code)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request counted, want 0", allocs)
	}
}

// Error codes are named as Kafka names them; API keys beyond any Kafka
// defines are counted together under "Unknown".
func TestRequestMetricsNameAPIsAndErrorsAsKafkaDoes(t *testing.T) {
	m := New()
	m.RequestServed(int16(kmsg.Fetch), 2*time.Millisecond)
	m.ResponseError(int16(kmsg.Fetch), kerr.OffsetOutOfRange.Code)
	m.ResponseError(int16(kmsg.Fetch), kerr.OffsetOutOfRange.Code)
	m.ResponseError(int16(kmsg.Fetch), 999)
	m.RequestServed(200, time.Millisecond)
	m.RequestServed(-1, time.Millisecond)

	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case s.Counter != nil:
				got[key] = s.Counter.GetValue()
			case s.Histogram != nil:
				got[key] = float64(s.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"samsa_requests_total api=Fetch":                                 1,
		"samsa_request_duration_seconds api=Fetch":                       1,
		"samsa_request_errors_total api=Fetch error=OFFSET_OUT_OF_RANGE": 2,
		"samsa_request_errors_total api=Fetch error=UNKNOWN_CODE_999":    1,
		"samsa_requests_total api=Unknown":                               2,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
