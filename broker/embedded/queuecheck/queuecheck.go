// Package queuecheck is a checker in the style of Jepsen's Kafka queue
// workload, shared by the fault tests on ZooKeeper and real broker
// processes (compat-tests) and those on an in-process cluster
// (broker/embedded). Writers append unique values with idempotent
// acks=all producers and note where each acknowledged value landed;
// readers tail every partition and note what they saw at each offset;
// after the fault, a final read takes everything. Check then reports, per
// Kafka's guarantees:
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
//
// Users of package embedded may run it against their own faults too.
//
// Ownership: a History is safe for concurrent use; a Workload owns its
// writer and reader clients and closes them in Stop.
package queuecheck

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Position is where a value is: a partition and an offset in it.
type Position struct {
	Partition int32
	Offset    int64
}

// History collects what writers were told and readers saw.
type History struct {
	mu       sync.Mutex
	acked    map[string]Position
	observed map[Position]string
	// conflicts are offsets seen holding two values during the run.
	conflicts []string
	acks      atomic.Int64
	reads     atomic.Int64
}

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{acked: map[string]Position{}, observed: map[Position]string{}}
}

// Ack notes that value was acknowledged at p.
func (h *History) Ack(value string, p Position) {
	h.mu.Lock()
	h.acked[value] = p
	h.mu.Unlock()
	h.acks.Add(1)
}

// Observe notes that a reader read value at p.
func (h *History) Observe(value string, p Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev, ok := h.observed[p]; ok && prev != value {
		h.conflicts = append(h.conflicts, fmt.Sprintf("partition %d offset %d read as %q and as %q", p.Partition, p.Offset, prev, value))
		return
	}
	h.observed[p] = value
	h.reads.Add(1)
}

// Acks is how many values were acknowledged so far.
func (h *History) Acks() int64 { return h.acks.Load() }

// Reads is how many distinct offsets readers read so far.
func (h *History) Reads() int64 { return h.reads.Load() }

// Anomalies is the checker's report.
type Anomalies struct {
	Lost, Duplicates, Reordered, Inconsistent []string
}

// Empty reports whether the history met the bar: no anomaly of any kind.
func (a Anomalies) Empty() bool {
	return len(a.Lost)+len(a.Duplicates)+len(a.Reordered)+len(a.Inconsistent) == 0
}

func (a Anomalies) String() string {
	var b strings.Builder
	for _, part := range []struct {
		name string
		list []string
	}{{"acknowledged but lost", a.Lost}, {"duplicated", a.Duplicates}, {"out of order", a.Reordered}, {"inconsistent offsets", a.Inconsistent}} {
		fmt.Fprintf(&b, "%s: %d", part.name, len(part.list))
		if len(part.list) > 0 {
			sort.Strings(part.list)
			fmt.Fprintf(&b, " (e.g. %s)", strings.Join(part.list[:min(5, len(part.list))], "; "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Check compares the history with the final read: every partition's
// records in offset order. Values are "writer-sequence" ("w0-17").
func (h *History) Check(final map[int32][]*kgo.Record) Anomalies {
	h.mu.Lock()
	defer h.mu.Unlock()
	var a Anomalies
	a.Inconsistent = append(a.Inconsistent, h.conflicts...)
	where := map[string]Position{}
	at := map[Position]string{}
	for partition, recs := range final {
		last := map[string]int{} // writer -> last sequence seen in this partition
		for _, r := range recs {
			v := string(r.Value)
			p := Position{partition, r.Offset}
			at[p] = v
			if prev, dup := where[v]; dup {
				a.Duplicates = append(a.Duplicates, fmt.Sprintf("%s at %d/%d and %d/%d", v, prev.Partition, prev.Offset, partition, r.Offset))
				continue // a copy, not a reordering
			}
			where[v] = p
			writer, seqText, _ := strings.Cut(v, "-")
			seq, err := strconv.Atoi(seqText)
			if err != nil {
				a.Inconsistent = append(a.Inconsistent, fmt.Sprintf("partition %d offset %d holds %q, which no writer wrote", partition, r.Offset, v))
				continue
			}
			if prev, ok := last[writer]; ok && seq <= prev {
				a.Reordered = append(a.Reordered, fmt.Sprintf("partition %d: %s at offset %d after sequence %d", partition, v, r.Offset, prev))
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
			a.Lost = append(a.Lost, fmt.Sprintf("%s (acknowledged at %d/%d, which holds %s)", v, p.Partition, p.Offset, held))
		case got != p:
			a.Inconsistent = append(a.Inconsistent, fmt.Sprintf("%s acknowledged at %d/%d but stored at %d/%d", v, p.Partition, p.Offset, got.Partition, got.Offset))
		}
	}
	for p, v := range h.observed {
		if got, ok := at[p]; !ok {
			if _, moved := where[v]; !moved {
				a.Inconsistent = append(a.Inconsistent, fmt.Sprintf("%s was read at %d/%d during the run and is gone", v, p.Partition, p.Offset))
			} else {
				a.Inconsistent = append(a.Inconsistent, fmt.Sprintf("%s was read at %d/%d during the run and is now elsewhere", v, p.Partition, p.Offset))
			}
		} else if got != v {
			a.Inconsistent = append(a.Inconsistent, fmt.Sprintf("partition %d offset %d was read as %q during the run and holds %q", p.Partition, p.Offset, v, got))
		}
	}
	return a
}

// WorkloadConfig is what a Workload runs against.
type WorkloadConfig struct {
	Topic      string
	Partitions int32
	// Writers is the number of writers, each an idempotent acks=all
	// producer of its own.
	Writers int
	// NewClient makes a client for the cluster with opts added to the
	// caller's own (seeds, retry settings).
	NewClient func(opts ...kgo.Opt) (*kgo.Client, error)
}

// Workload is writers and a reader running against a topic until Stop,
// noting what they were told and saw in a History.
type Workload struct {
	cfg     WorkloadConfig
	hist    *History
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	writers []*kgo.Client
	reader  *kgo.Client
	stop    sync.Once
	// failures counts writes that failed before Stop (those buffered
	// when Stop came fail too, and are not counted).
	failures atomic.Int64
	firstErr atomic.Pointer[error]
}

// StartWorkload starts cfg.Writers idempotent acks=all producers, each
// writing "w<id>-<sequence>" round-robin over the partitions, and one
// reader tailing every partition from its start.
func StartWorkload(cfg WorkloadConfig) (*Workload, error) {
	w := &Workload{cfg: cfg, hist: NewHistory()}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	for range cfg.Writers {
		cl, err := cfg.NewClient(
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerLinger(2*time.Millisecond),
			kgo.ProduceRequestTimeout(5*time.Second),
			kgo.RecordDeliveryTimeout(45*time.Second),
		)
		if err != nil {
			w.closeClients()
			return nil, err
		}
		w.writers = append(w.writers, cl)
	}
	reader, err := cfg.NewClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: AllAtStart(cfg.Partitions)}),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		w.closeClients()
		return nil, err
	}
	w.reader = reader
	for id, cl := range w.writers {
		w.wg.Add(1)
		go w.write(id, cl)
	}
	w.wg.Add(1)
	go w.read(reader)
	return w, nil
}

// AllAtStart is every partition of a topic at its start offset, for
// kgo.ConsumePartitions.
func AllAtStart(partitions int32) map[int32]kgo.Offset {
	m := map[int32]kgo.Offset{}
	for p := range partitions {
		m[p] = kgo.NewOffset().AtStart()
	}
	return m
}

// History is what the workload's writers were told and its reader saw.
func (w *Workload) History() *History { return w.hist }

// Failures is how many writes failed (their records were given up on
// after the client's retries) before Stop, and the first one's error.
// Kafka promises no such thing under every fault: a test that expects
// clients to see no error (a controlled shutdown) checks it.
func (w *Workload) Failures() (int64, error) {
	var first error
	if p := w.firstErr.Load(); p != nil {
		first = *p
	}
	return w.failures.Load(), first
}

func (w *Workload) write(id int, cl *kgo.Client) {
	defer w.wg.Done()
	for seq := 0; w.ctx.Err() == nil; seq++ {
		r := &kgo.Record{
			Topic:     w.cfg.Topic,
			Partition: int32(seq) % w.cfg.Partitions,
			Value:     fmt.Appendf(nil, "w%d-%d", id, seq),
		}
		cl.Produce(w.ctx, r, func(r *kgo.Record, err error) {
			switch {
			case err == nil:
				w.hist.Ack(string(r.Value), Position{r.Partition, r.Offset})
			case w.ctx.Err() == nil:
				w.failures.Add(1)
				w.firstErr.CompareAndSwap(nil, &err)
			}
		})
		if seq%20 == 19 {
			time.Sleep(5 * time.Millisecond) // a steady few thousand records a second
		}
	}
}

func (w *Workload) read(cl *kgo.Client) {
	defer w.wg.Done()
	for w.ctx.Err() == nil {
		fs := cl.PollFetches(w.ctx)
		fs.EachRecord(func(r *kgo.Record) {
			w.hist.Observe(string(r.Value), Position{r.Partition, r.Offset})
		})
	}
}

// Stop ends the writers and the reader, failing whatever is still
// buffered (it was never acknowledged), and closes their clients. logf,
// when not nil, gets each writer's producer ID, to find its batches in
// the brokers' logs. Only the first call does anything.
func (w *Workload) Stop(logf func(format string, args ...any)) {
	w.stop.Do(func() {
		for i, cl := range w.writers {
			if logf == nil {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if id, epoch, err := cl.ProducerID(ctx); err == nil {
				logf("writer w%d is producer %d epoch %d", i, id, epoch)
			}
			cancel()
		}
		w.cancel()
		w.closeClients()
		w.wg.Wait()
	})
}

func (w *Workload) closeClients() {
	for _, cl := range w.writers {
		cl.Close()
	}
	if w.reader != nil {
		w.reader.Close()
	}
}
