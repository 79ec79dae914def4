package compattests

// What the transaction tests of the stock clients (clients_txn_*_test.go)
// share: one plan of transactions that every transactional producer runs
// (three committed, one aborted, over several partitions), where Kafka puts
// each of their records, and the reads that judge them — a kgo consumer at
// read_committed must see exactly the committed records at those offsets, one
// at read_uncommitted the aborted ones too.
//
// Where Kafka puts records: a transactional producer's records on a
// partition are contiguous, and ending the transaction (EndTxn) writes one
// control record — a COMMIT or ABORT marker — to every partition the
// transaction wrote to, taking one offset there (KIP-98). Consumers never
// return markers, so the offsets of the records a client reads have gaps
// exactly where the markers are, and a test can say which offsets hold what.
//
// Where a consumer stops: after every transaction has ended, the test
// appends one ordinary (non-transactional) record, txnEndValue, to each
// partition. A read_committed consumer can only read it once the last
// stable offset has passed every marker before it, so reading up to it
// proves no transaction is left open, and tells a consumer — kgo's or a
// client's own — that it has read everything.
//
// kafka-go (segmentio/kafka-go v0.4.51) has no transactional producer: its
// Writer has no transactional.id and never calls InitProducerId, and the
// low-level Client.Produce takes a TransactionalID but no producer id, epoch
// or sequence, so it cannot write a transactional batch. It is not among
// the producers here.

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnEndValue is the value of the record appended to every partition after
// the transactions of a test (see the file comment).
const txnEndValue = "end-of-test"

// txnStep is one transaction: its records, whether it commits or aborts,
// and the offsets of a consumer group it commits with them (source
// partition -> offset; only the send-offsets tests set it).
type txnStep struct {
	Commit  bool
	Records []*kgo.Record
	Offsets map[int32]int64
}

// txnPlan returns the transactions a producer runs on topic (at least two
// partitions): a commit over every partition, a commit to the first two, an
// abort over every partition, and a commit leaving the first partition out,
// so that every partition has committed records on both sides of the aborted
// ones and not every transaction writes to every partition. Each record
// carries a header naming its transaction. tag starts every value, telling
// the producers of one test apart. The offsets are left to layTxns.
func txnPlan(topic string, partitions int32, tag string, base time.Time) []txnStep {
	base = base.Truncate(time.Millisecond)
	type shape struct {
		commit bool
		n      int
		first  int32 // records go round-robin over partitions first..first+count-1
		count  int32
	}
	shapes := []shape{
		{true, 2 * int(partitions), 0, partitions},
		{true, 4, 0, 2},
		{false, 2 * int(partitions), 0, partitions},
		{true, 2 * int(partitions-1), 1, partitions - 1},
	}
	var steps []txnStep
	ts := 0
	for i, s := range shapes {
		step := txnStep{Commit: s.commit}
		verb := "commit"
		if !s.commit {
			verb = "abort"
		}
		for j := 0; j < s.n; j++ {
			step.Records = append(step.Records, &kgo.Record{
				Topic:     topic,
				Partition: s.first + int32(j)%s.count,
				Key:       []byte(fmt.Sprintf("t%d-%d", i, j)),
				Value:     []byte(fmt.Sprintf("%s-t%d-%s-%d", tag, i, verb, j)),
				Headers:   []kgo.RecordHeader{{Key: "txn", Value: []byte(strconv.Itoa(i))}},
				Timestamp: base.Add(time.Duration(ts) * time.Millisecond),
			})
			ts++
		}
		steps = append(steps, step)
	}
	return steps
}

// layTxns sets each record's Offset to where Kafka puts it when steps run
// in order on an empty topic by one producer, and returns the records of the
// committed transactions, of the aborted ones, all of them (in the order
// produced), and each partition's end offset after the last marker.
func layTxns(steps []txnStep) (committed, aborted, all []*kgo.Record, ends map[int32]int64) {
	ends = map[int32]int64{}
	for _, s := range steps {
		touched := map[int32]bool{}
		for _, r := range s.Records {
			r.Offset = ends[r.Partition]
			ends[r.Partition]++
			touched[r.Partition] = true
			all = append(all, r)
			if s.Commit {
				committed = append(committed, r)
			} else {
				aborted = append(aborted, r)
			}
		}
		for p := range touched {
			ends[p]++ // the marker
		}
	}
	return committed, aborted, all, ends
}

// txnScriptInput is what a transactional client script reads on stdin.
type txnScriptInput struct {
	Topic           string          `json:"topic"`
	Partitions      int32           `json:"partitions"`
	TransactionalID string          `json:"transactionalId,omitempty"`
	Transactions    []txnScriptStep `json:"transactions,omitempty"`
	// Group and SourceTopic name the consumer group and the topic whose
	// offsets the transactions commit (send-offsets tests only).
	Group       string `json:"group,omitempty"`
	SourceTopic string `json:"sourceTopic,omitempty"`
	// EndValue is the value of the record that ends each partition, for
	// scripts that consume.
	EndValue string `json:"endValue,omitempty"`
}

type txnScriptStep struct {
	Commit  bool           `json:"commit"`
	Records []scriptRecord `json:"records"`
	// Offsets maps a partition of SourceTopic (as a string) to the offset
	// the transaction commits for Group.
	Offsets map[string]int64 `json:"offsets,omitempty"`
}

// txnScriptOutput is what a transactional client script prints.
type txnScriptOutput struct {
	// Produced is where each record of every transaction was
	// acknowledged, in the order of the input.
	Produced []scriptRecord `json:"produced"`
	// Consumed are the records a consumer read before the end record of
	// each partition, in the order it read them.
	Consumed []scriptRecord `json:"consumed"`
	// Fencing is what a fenced producer was told (fencing tests only).
	Fencing *fencingReport `json:"fencing,omitempty"`
}

// fencingReport is what a producer fenced by a newer one with its
// transactional.id saw when it went on with its open transaction.
type fencingReport struct {
	// DeliveryErrors are the errors its records' delivery reports gave.
	DeliveryErrors []string `json:"deliveryErrors"`
	// CommitError is the error commit gave (empty if commit succeeded),
	// by the client's name for it, with Fatal saying whether the client
	// holds the producer unusable from then on.
	CommitError string `json:"commitError"`
	Fatal       bool   `json:"fatal"`
	Message     string `json:"message"`
}

func toTxnScriptSteps(steps []txnStep) []txnScriptStep {
	out := make([]txnScriptStep, len(steps))
	for i, s := range steps {
		out[i] = txnScriptStep{Commit: s.Commit, Records: toScriptRecords(s.Records)}
		if len(s.Offsets) > 0 {
			out[i].Offsets = map[string]int64{}
			for p, o := range s.Offsets {
				out[i].Offsets[itoa(p)] = o
			}
		}
	}
	return out
}

// runTxnScript runs a client script as runClientScript does, with a
// transactional input and output.
func runTxnScript(t *testing.T, dir string, input txnScriptInput, name string, args ...string) txnScriptOutput {
	t.Helper()
	raw := runScript(t, dir, input, name, args...)
	var out txnScriptOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s printed something that is not its JSON report: %v\n%s", name, err, tail(raw, 8<<10))
	}
	return out
}

// endTxnTopic appends the txnEndValue record to every partition of topic
// with a plain (idempotent, non-transactional) kgo producer, once the test's
// transactions have ended, and returns the offset each landed at.
func endTxnTopic(t *testing.T, b *testBroker, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := make([]*kgo.Record, partitions)
	for p := range partitions {
		recs[p] = &kgo.Record{Topic: topic, Partition: p, Key: []byte("end"), Value: []byte(txnEndValue)}
	}
	produceSync(t, cl, recs...)
	at := map[int32]int64{}
	for _, r := range recs {
		at[r.Partition] = r.Offset
	}
	return at
}

// readTxnTopic reads every partition of topic from its start with a kgo
// consumer at the given isolation level, up to the txnEndValue record, and
// returns each partition's records before it.
func readTxnTopic(t *testing.T, b *testBroker, topic string, partitions int32, level kgo.IsolationLevel, what string) map[int32][]*kgo.Record {
	t.Helper()
	consume := map[int32]kgo.Offset{}
	for p := range partitions {
		consume[p] = kgo.NewOffset().AtStart()
	}
	cl := b.client(t,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: consume}),
		kgo.FetchIsolationLevel(level),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	ctx := testContext(t, 30*time.Second)
	got := map[int32][]*kgo.Record{}
	ended := map[int32]bool{}
	for len(ended) < int(partitions) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			var open []int32
			for p := range partitions {
				if !ended[p] {
					open = append(open, p)
				}
			}
			t.Fatalf("%s: no end record after 30s on partitions %v of %s (read so far: %s); a transaction left open holds the last stable offset back",
				what, open, topic, describeRecords(got))
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("%s: fetch %s/%d: %v", what, topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			switch {
			case ended[r.Partition]:
			case string(r.Value) == txnEndValue:
				ended[r.Partition] = true
			default:
				got[r.Partition] = append(got[r.Partition], r)
			}
		})
	}
	return got
}

// requireReadExactly fails unless got holds, partition by partition, exactly
// the records of want at their offsets.
func requireReadExactly(t *testing.T, what, topic string, want []*kgo.Record, got map[int32][]*kgo.Record) {
	t.Helper()
	wantBy := byPartition(want)
	for _, p := range slices.Sorted(maps.Keys(wantBy)) {
		requireSameRecords(t, fmt.Sprintf("%s %s/%d", what, topic, p), wantBy[p], got[p])
	}
	for p, gotP := range got {
		if _, ok := wantBy[p]; !ok && len(gotP) > 0 {
			t.Fatalf("%s %s/%d: read %s, where no transaction wrote", what, topic, p, describeRecords(map[int32][]*kgo.Record{p: gotP}))
		}
	}
}

// requireEndsAt fails unless the end records landed where layTxns says the
// transactions ended: one marker per partition per transaction, no more.
func requireEndsAt(t *testing.T, topic string, ends, endAt map[int32]int64) {
	t.Helper()
	for p, at := range endAt {
		if at != ends[p] {
			t.Fatalf("the record after the transactions on %s/%d is at offset %d, want %d (the records and one marker per transaction there)",
				topic, p, at, ends[p])
		}
	}
}

// requireTxnReads is the judgement of a transactional producer's work on
// topic: it ends the topic, then kgo at read_committed reads exactly the
// committed records and at read_uncommitted the aborted ones too, each at
// its offset.
func requireTxnReads(t *testing.T, b *testBroker, topic string, partitions int32, committed, all []*kgo.Record, ends map[int32]int64) {
	t.Helper()
	requireEndsAt(t, topic, ends, endTxnTopic(t, b, topic, partitions))
	requireReadExactly(t, "kgo read_committed", topic, committed,
		readTxnTopic(t, b, topic, partitions, kgo.ReadCommitted(), "kgo read_committed"))
	requireReadExactly(t, "kgo read_uncommitted", topic, all,
		readTxnTopic(t, b, topic, partitions, kgo.ReadUncommitted(), "kgo read_uncommitted"))
}

// describeRecords lists records by partition as partition/offset=value, for
// failure messages.
func describeRecords(by map[int32][]*kgo.Record) string {
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(by)) {
		for _, r := range by[p] {
			parts = append(parts, fmt.Sprintf("%d/%d=%q", p, r.Offset, r.Value))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

// requireGroupOffsets fails unless group's committed offsets are exactly
// want for topic (partition -> offset) and the group has none elsewhere.
func requireGroupOffsets(t *testing.T, adm *kadm.Client, group, topic string, want map[int32]int64) {
	t.Helper()
	resps, err := adm.FetchOffsets(testContext(t, 15*time.Second), group)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("kadm FetchOffsets(%s): %v", group, err)
	}
	got := map[string]map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if got[o.Topic] == nil {
			got[o.Topic] = map[int32]int64{}
		}
		got[o.Topic][o.Partition] = o.At
	})
	if len(got) != 1 || !maps.Equal(got[topic], want) {
		t.Fatalf("group %s has committed offsets %v, want %v on %s only", group, got, want, topic)
	}
}

// txnIDFor is a transactional.id unique to the test (and a suffix).
func txnIDFor(t *testing.T, suffix string) string {
	return uniqueTopic(t) + "-" + suffix
}
