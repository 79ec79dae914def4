package queuecheck

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCheckFindsEveryKindOfAnomaly keeps the checker honest: a history
// with one of each anomaly reports each.
func TestCheckFindsEveryKindOfAnomaly(t *testing.T) {
	h := NewHistory()
	h.Ack("w0-0", Position{0, 0})
	h.Ack("w0-1", Position{0, 1})
	h.Ack("w0-2", Position{0, 2}) // lost
	h.Ack("w1-0", Position{0, 3}) // stored elsewhere
	h.Observe("w0-0", Position{0, 0})
	h.Observe("w9-9", Position{0, 7}) // read, then gone
	rec := func(off int64, v string) *kgo.Record { return &kgo.Record{Offset: off, Value: []byte(v)} }
	final := map[int32][]*kgo.Record{0: {
		rec(0, "w0-0"), rec(1, "w0-1"), rec(2, "w1-0"), rec(3, "w1-0"), rec(4, "w0-5"), rec(5, "w0-4"),
	}}
	a := h.Check(final)
	if len(a.Lost) != 1 || len(a.Duplicates) != 1 || len(a.Reordered) != 1 || len(a.Inconsistent) != 2 {
		t.Fatalf("checker report:\n%s", a)
	}
	if !NewHistory().Check(map[int32][]*kgo.Record{0: {rec(0, "w0-0")}}).Empty() {
		t.Fatal("a clean history reports anomalies")
	}
}
