package compattests

// A checker in the style of Jepsen's Kafka queue workload. Writers append
// unique values with idempotent acks=all producers and note where each
// acknowledged value landed; readers tail every partition and note what
// they saw at each offset; after the fault, a final read takes everything.
// The checker then reports, per Kafka's guarantees:
//
//   - lost: acknowledged values missing from the final read;
//   - duplicates: values the final read holds more than once (idempotence
//     is on, so a retried write must not be stored twice);
//   - reordered: within a partition, a writer's values out of the order
//     it sent them;
//   - inconsistent: one offset seen holding two different values, across
//     the readers' reads, the acknowledgements and the final read
//     (including a value read during the run that later disappeared).
//
// The bar is zero of each.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type position struct {
	partition int32
	offset    int64
}

// history collects what writers were told and readers saw.
type history struct {
	mu       sync.Mutex
	acked    map[string]position
	observed map[position]string
	// conflicts are offsets seen holding two values during the run.
	conflicts []string
	acks      atomic.Int64
	reads     atomic.Int64
}

func newHistory() *history {
	return &history{acked: map[string]position{}, observed: map[position]string{}}
}

func (h *history) ack(value string, p position) {
	h.mu.Lock()
	h.acked[value] = p
	h.mu.Unlock()
	h.acks.Add(1)
}

func (h *history) observe(value string, p position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev, ok := h.observed[p]; ok && prev != value {
		h.conflicts = append(h.conflicts, fmt.Sprintf("partition %d offset %d read as %q and as %q", p.partition, p.offset, prev, value))
		return
	}
	h.observed[p] = value
	h.reads.Add(1)
}

// anomalies is the checker's report.
type anomalies struct {
	lost, duplicates, reordered, inconsistent []string
}

func (a anomalies) empty() bool {
	return len(a.lost)+len(a.duplicates)+len(a.reordered)+len(a.inconsistent) == 0
}

func (a anomalies) String() string {
	var b strings.Builder
	for _, part := range []struct {
		name string
		list []string
	}{{"acknowledged but lost", a.lost}, {"duplicated", a.duplicates}, {"out of order", a.reordered}, {"inconsistent offsets", a.inconsistent}} {
		fmt.Fprintf(&b, "%s: %d", part.name, len(part.list))
		if len(part.list) > 0 {
			sort.Strings(part.list)
			fmt.Fprintf(&b, " (e.g. %s)", strings.Join(part.list[:min(5, len(part.list))], "; "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// check compares the history with the final read.
func (h *history) check(final map[int32][]*kgo.Record) anomalies {
	h.mu.Lock()
	defer h.mu.Unlock()
	var a anomalies
	a.inconsistent = append(a.inconsistent, h.conflicts...)
	where := map[string]position{}
	at := map[position]string{}
	for partition, recs := range final {
		last := map[string]int{} // writer -> last sequence seen in this partition
		for _, r := range recs {
			v := string(r.Value)
			p := position{partition, r.Offset}
			at[p] = v
			if prev, dup := where[v]; dup {
				a.duplicates = append(a.duplicates, fmt.Sprintf("%s at %d/%d and %d/%d", v, prev.partition, prev.offset, partition, r.Offset))
				continue // a copy, not a reordering
			}
			where[v] = p
			writer, seqText, _ := strings.Cut(v, "-")
			seq, err := strconv.Atoi(seqText)
			if err != nil {
				a.inconsistent = append(a.inconsistent, fmt.Sprintf("partition %d offset %d holds %q, which no writer wrote", partition, r.Offset, v))
				continue
			}
			if prev, ok := last[writer]; ok && seq <= prev {
				a.reordered = append(a.reordered, fmt.Sprintf("partition %d: %s at offset %d after sequence %d", partition, v, r.Offset, prev))
			}
			last[writer] = seq
		}
	}
	for v, p := range h.acked {
		got, ok := where[v]
		switch {
		case !ok:
			held, has := at[p]
			if !has {
				held = "nothing"
			}
			a.lost = append(a.lost, fmt.Sprintf("%s (acknowledged at %d/%d, which holds %s)", v, p.partition, p.offset, held))
		case got != p:
			a.inconsistent = append(a.inconsistent, fmt.Sprintf("%s acknowledged at %d/%d but stored at %d/%d", v, p.partition, p.offset, got.partition, got.offset))
		}
	}
	for p, v := range h.observed {
		if got, ok := at[p]; !ok {
			if _, moved := where[v]; !moved {
				a.inconsistent = append(a.inconsistent, fmt.Sprintf("%s was read at %d/%d during the run and is gone", v, p.partition, p.offset))
			} else {
				a.inconsistent = append(a.inconsistent, fmt.Sprintf("%s was read at %d/%d during the run and is now elsewhere", v, p.partition, p.offset))
			}
		} else if got != v {
			a.inconsistent = append(a.inconsistent, fmt.Sprintf("partition %d offset %d was read as %q during the run and holds %q", p.partition, p.offset, v, got))
		}
	}
	return a
}

// workload runs writers and readers against a cluster topic until stop.
type workload struct {
	t          *testing.T
	c          *testCluster
	topic      string
	partitions int32
	hist       *history
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	writers    []*kgo.Client
}

// startWorkload starts writers idempotent acks=all producers and one reader
// tailing every partition.
func startWorkload(t *testing.T, c *testCluster, topic string, partitions int32, writers int) *workload {
	t.Helper()
	w := &workload{t: t, c: c, topic: topic, partitions: partitions, hist: newHistory()}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(w.cancel)
	for id := range writers {
		cl := c.client(t,
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerLinger(2*time.Millisecond),
			kgo.ProduceRequestTimeout(5*time.Second),
			kgo.RecordDeliveryTimeout(45*time.Second),
		)
		w.writers = append(w.writers, cl)
		w.wg.Add(1)
		go w.write(id, cl)
	}
	reader := c.client(t,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: allAtStart(partitions)}),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	w.wg.Add(1)
	go w.read(reader)
	return w
}

func allAtStart(partitions int32) map[int32]kgo.Offset {
	m := map[int32]kgo.Offset{}
	for p := range partitions {
		m[p] = kgo.NewOffset().AtStart()
	}
	return m
}

func (w *workload) write(id int, cl *kgo.Client) {
	defer w.wg.Done()
	for seq := 0; w.ctx.Err() == nil; seq++ {
		r := &kgo.Record{
			Topic:     w.topic,
			Partition: int32(seq) % w.partitions,
			Value:     fmt.Appendf(nil, "w%d-%d", id, seq),
		}
		cl.Produce(w.ctx, r, func(r *kgo.Record, err error) {
			if err == nil {
				w.hist.ack(string(r.Value), position{r.Partition, r.Offset})
			}
		})
		if seq%20 == 19 {
			time.Sleep(5 * time.Millisecond) // a steady few thousand records a second
		}
	}
}

func (w *workload) read(cl *kgo.Client) {
	defer w.wg.Done()
	for w.ctx.Err() == nil {
		fs := cl.PollFetches(w.ctx)
		fs.EachRecord(func(r *kgo.Record) {
			w.hist.observe(string(r.Value), position{r.Partition, r.Offset})
		})
	}
}

// waitAcks waits until n more records were acknowledged than now.
func (w *workload) waitAcks(n int64, timeout time.Duration) {
	w.t.Helper()
	target := w.hist.acks.Load() + n
	checkFor(w.t, timeout, 20*time.Millisecond, func() error {
		if got := w.hist.acks.Load(); got < target {
			return fmt.Errorf("%d acknowledged records, waiting for %d: the cluster makes no progress", got, target)
		}
		return nil
	})
}

// stop ends the writers and the reader, failing whatever is still
// buffered (it was never acknowledged).
func (w *workload) stop() {
	for i, cl := range w.writers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if id, epoch, err := cl.ProducerID(ctx); err == nil {
			w.t.Logf("writer w%d is producer %d epoch %d", i, id, epoch)
		}
		cancel()
	}
	w.cancel()
	for _, cl := range w.writers {
		cl.Close()
	}
	w.wg.Wait()
}

// verify heals nothing itself: call it once every broker is back. It
// reads everything and fails the test on any anomaly.
func (w *workload) verify() {
	w.t.Helper()
	w.c.waitFullISR(90*time.Second, w.topic)
	final := w.c.readAll(w.t, w.topic)
	a := w.hist.check(final)
	total := 0
	for _, recs := range final {
		total += len(recs)
	}
	w.t.Logf("%d acknowledged, %d read during the run, %d in the log at the end", w.hist.acks.Load(), w.hist.reads.Load(), total)
	if !a.empty() {
		w.t.Fatalf("anomalies:\n%s", a)
	}
}

// TestHistoryCheckerFindsEveryKindOfAnomaly keeps the checker honest: a
// history with one of each anomaly reports each.
func TestHistoryCheckerFindsEveryKindOfAnomaly(t *testing.T) {
	h := newHistory()
	h.ack("w0-0", position{0, 0})
	h.ack("w0-1", position{0, 1})
	h.ack("w0-2", position{0, 2}) // lost
	h.ack("w1-0", position{0, 3}) // stored elsewhere
	h.observe("w0-0", position{0, 0})
	h.observe("w9-9", position{0, 7}) // read, then gone
	rec := func(off int64, v string) *kgo.Record { return &kgo.Record{Offset: off, Value: []byte(v)} }
	final := map[int32][]*kgo.Record{0: {
		rec(0, "w0-0"), rec(1, "w0-1"), rec(2, "w1-0"), rec(3, "w1-0"), rec(4, "w0-5"), rec(5, "w0-4"),
	}}
	a := h.check(final)
	if len(a.lost) != 1 || len(a.duplicates) != 1 || len(a.reordered) != 1 || len(a.inconsistent) != 2 {
		t.Fatalf("checker report:\n%s", a)
	}
	if !newHistory().check(map[int32][]*kgo.Record{0: {rec(0, "w0-0")}}).empty() {
		t.Fatal("a clean history reports anomalies")
	}
}
