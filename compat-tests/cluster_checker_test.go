package compattests

// The fault tests' workload and checker (package
// broker/embedded/queuecheck, in the style of Jepsen's Kafka queue
// workload) on a ZooKeeper cluster of real broker processes. The bar is zero lost, duplicated, reordered or
// inconsistent records.

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded/queuecheck"
)

// workload runs writers and readers against a cluster topic until stop.
type workload struct {
	*queuecheck.Workload
	t     *testing.T
	c     *testCluster
	topic string
}

// startWorkload starts writers idempotent acks=all producers and one reader
// tailing every partition.
func startWorkload(t *testing.T, c *testCluster, topic string, partitions int32, writers int) *workload {
	t.Helper()
	w, err := queuecheck.StartWorkload(queuecheck.WorkloadConfig{
		Topic:      topic,
		Partitions: partitions,
		Writers:    writers,
		NewClient:  func(opts ...kgo.Opt) (*kgo.Client, error) { return c.client(t, opts...), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	cw := &workload{Workload: w, t: t, c: c, topic: topic}
	t.Cleanup(func() { w.Stop(nil) })
	return cw
}

// waitAcks waits until n more records were acknowledged than now.
func (w *workload) waitAcks(n int64, timeout time.Duration) {
	w.t.Helper()
	hist := w.History()
	target := hist.Acks() + n
	checkFor(w.t, timeout, 20*time.Millisecond, func() error {
		if got := hist.Acks(); got < target {
			return fmt.Errorf("%d acknowledged records, waiting for %d: the cluster makes no progress", got, target)
		}
		return nil
	})
}

// stop ends the writers and the reader, failing whatever is still
// buffered (it was never acknowledged).
func (w *workload) stop() { w.Stop(w.t.Logf) }

// verify heals nothing itself: call it once every broker is back. It
// reads everything and fails the test on any anomaly.
func (w *workload) verify() {
	w.t.Helper()
	w.c.waitFullISR(90*time.Second, w.topic)
	final := w.c.readAll(w.t, w.topic)
	hist := w.History()
	a := hist.Check(final)
	total := 0
	for _, recs := range final {
		total += len(recs)
	}
	w.t.Logf("%d acknowledged, %d read during the run, %d in the log at the end", hist.Acks(), hist.Reads(), total)
	if !a.Empty() {
		w.t.Fatalf("anomalies:\n%s", a)
	}
}
