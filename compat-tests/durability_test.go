package compattests

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSigtermRestartKeepsEveryRecordTopicIDAndConfig(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	created := createTopic(t, adm, "durable", 3, map[string]string{"retention.ms": "86400000"})
	producer := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	want := makeRecords("durable", 3, 600, newRand(7))
	produceAsync(t, producer, want)
	before := readAll(t, b, "durable")

	b.Stop()
	b.Restart()

	after := readAll(t, b, "durable")
	for p := int32(0); p < 3; p++ {
		if len(after[p]) != len(before[p]) {
			t.Fatalf("partition %d: %d records after restart, %d before", p, len(after[p]), len(before[p]))
		}
		requireContiguous(t, fmt.Sprintf("partition %d after restart", p), after[p], 0)
		for i := range before[p] {
			if err := sameRecord(before[p][i], after[p][i]); err != nil {
				t.Fatalf("partition %d offset %d after restart: %v", p, i, err)
			}
		}
	}

	adm = b.admin(t)
	ctx := testContext(t, 20*time.Second)
	topics, err := adm.ListTopics(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	if d := topics["durable"]; d.Err != nil || d.ID != created.ID || len(d.Partitions) != 3 {
		t.Errorf("after restart: id %v (was %v), %d partitions, err %v", d.ID, created.ID, len(d.Partitions), d.Err)
	}
	described, err := adm.DescribeTopicConfigs(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := described.On("durable", nil)
	if v := configValue(configByName(rc.Configs)["retention.ms"]); v != "86400000" {
		t.Errorf("retention.ms after restart = %q, want 86400000", v)
	}

	// New records continue the offsets.
	producer = b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, producer, &kgo.Record{Topic: "durable", Partition: 0, Value: []byte("after")})
	got := readAll(t, b, "durable")[0]
	if last := got[len(got)-1]; last.Offset != int64(len(before[0])) || string(last.Value) != "after" {
		t.Errorf("record produced after restart is %q at offset %d, want \"after\" at %d", last.Value, last.Offset, len(before[0]))
	}
}

// TestKillNineDuringConcurrentProduceLosesNoAckedRecords is the durability
// bar: several idempotent acks=all producers write while the broker is
// killed with SIGKILL. After a restart every acknowledged record is there
// exactly once, at the offset it was acknowledged with, and each producer's
// records are in the order it sent them in every partition. Records that
// were never acknowledged may or may not be there.
func TestKillNineDuringConcurrentProduceLosesNoAckedRecords(t *testing.T) {
	skipOnKfake(t, "kill -9")
	t.Parallel()
	b := startBroker(t)
	const (
		partitions = 4
		producers  = 4
		killAfter  = 20000 // acknowledged records before the kill
	)
	createTopic(t, b.admin(t), "crash", partitions, nil)

	type ack struct {
		partition int32
		offset    int64
	}
	var (
		mu    sync.Mutex
		acked = map[string]ack{} // value -> where it was acknowledged
		nAck  atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	clients := make([]*kgo.Client, producers)
	for id := range producers {
		clients[id] = b.client(t,
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerLinger(time.Millisecond),
			kgo.ProducerBatchMaxBytes(16<<10), // many small requests in flight when the kill lands
			kgo.RecordRetries(3),
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				r := &kgo.Record{
					Topic:     "crash",
					Partition: int32(seq % partitions),
					Key:       []byte(strconv.Itoa(id)),
					Value:     fmt.Appendf(nil, "p%d-%09d", id, seq),
				}
				clients[id].Produce(ctx, r, func(r *kgo.Record, err error) {
					if err != nil {
						return
					}
					mu.Lock()
					acked[string(r.Value)] = ack{r.Partition, r.Offset}
					mu.Unlock()
					nAck.Add(1)
				})
			}
		}()
	}

	checkFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		if n := nAck.Load(); n < killAfter {
			return fmt.Errorf("only %d records acknowledged", n)
		}
		return nil
	})
	b.Kill()
	t.Logf("killed the broker with %d records acknowledged", nAck.Load())
	cancel()
	wg.Wait()
	for _, cl := range clients {
		cl.Close() // fails whatever is still buffered; no promise runs after this
	}

	b.Restart()
	got := readAll(t, b, "crash")

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for p := int32(0); p < partitions; p++ {
		lastSeq := map[string]int{} // producer -> last sequence number seen in p
		requireContiguous(t, fmt.Sprintf("partition %d", p), got[p], 0)
		for _, r := range got[p] {
			v := string(r.Value)
			if seen[v] {
				t.Fatalf("%s is in the log twice (again at partition %d offset %d)", v, p, r.Offset)
			}
			seen[v] = true
			id, seqText, ok := strings.Cut(v, "-")
			seq, err := strconv.Atoi(seqText)
			if !ok || err != nil {
				t.Fatalf("partition %d offset %d holds %q, which no producer wrote", p, r.Offset, v)
			}
			if last, ok := lastSeq[id]; ok && seq <= last {
				t.Fatalf("partition %d: %s at offset %d comes after sequence %d of the same producer", p, v, r.Offset, last)
			}
			lastSeq[id] = seq
			if a, ok := acked[v]; ok && (a.partition != p || a.offset != r.Offset) {
				t.Fatalf("%s was acknowledged at partition %d offset %d but is at partition %d offset %d", v, a.partition, a.offset, p, r.Offset)
			}
		}
	}
	var lost []string
	for v := range acked {
		if !seen[v] {
			lost = append(lost, v)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged records are gone after kill -9 and restart, e.g. %v", len(lost), len(acked), lost[:min(5, len(lost))])
	}
	t.Logf("%d acknowledged records all present; %d records in the log", len(acked), len(seen))

	// The restarted broker takes new writes after the recovered data.
	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, cl, &kgo.Record{Topic: "crash", Partition: 0, Value: []byte("after-restart")})
	again := readAll(t, b, "crash")[0]
	if last := again[len(again)-1]; string(last.Value) != "after-restart" || last.Offset != int64(len(got[0])) {
		t.Errorf("record produced after recovery is %q at offset %d, want after-restart at %d", last.Value, last.Offset, len(got[0]))
	}
}
