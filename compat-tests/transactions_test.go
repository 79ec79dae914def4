package compattests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions with kgo, the reference client: what read_committed and
// read_uncommitted consumers see, zombie fencing, timeouts, the
// transactional offsets of consume-transform-produce, the admin APIs, and
// an exactly-once copy pipeline losing a member to kill -9.

// txnClient is a transactional kgo producer.
func txnClient(t *testing.T, b *testBroker, id string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return b.client(t, append([]kgo.Opt{kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
}

// produceInTxn writes values to topic, alternating over partitions, in
// one transaction, and commits or aborts it.
func produceInTxn(t *testing.T, cl *kgo.Client, topic string, partitions int32, commit bool, vals ...string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i, v := range vals {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("transactional produce: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

func TestReadCommittedSeesOnlyCommittedTransactions(t *testing.T) {
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "txn-visibility", 2, nil)
	cl := txnClient(t, b, "visibility")
	produceInTxn(t, cl, "txn-visibility", 2, true, "c1", "c2", "c3", "c4")
	produceInTxn(t, cl, "txn-visibility", 2, false, "a1", "a2", "a3", "a4")
	// A plain producer writes between the transactions: its records
	// are visible at once to both isolation levels.
	plain := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, plain, &kgo.Record{Topic: "txn-visibility", Partition: 0, Value: []byte("p1")})
	produceInTxn(t, cl, "txn-visibility", 2, true, "c5", "c6")
	writeSentinels(t, plain, "txn-visibility", 2)

	newClient := func(opts ...kgo.Opt) *kgo.Client { return b.client(t, opts...) }
	committed := readToSentinels(t, newClient, "txn-visibility", 2, kgo.ReadCommitted())
	if got, want := values(committed[0]), []string{"c1", "c3", "p1", "c5"}; !slices.Equal(got, want) {
		t.Errorf("read_committed partition 0 = %v, want %v", got, want)
	}
	if got, want := values(committed[1]), []string{"c2", "c4", "c6"}; !slices.Equal(got, want) {
		t.Errorf("read_committed partition 1 = %v, want %v", got, want)
	}
	uncommitted := readToSentinels(t, newClient, "txn-visibility", 2, kgo.ReadUncommitted())
	if got, want := values(uncommitted[0]), []string{"c1", "c3", "a1", "a3", "p1", "c5"}; !slices.Equal(got, want) {
		t.Errorf("read_uncommitted partition 0 = %v, want %v (aborted records included, as Kafka shows them)", got, want)
	}
	if got, want := values(uncommitted[1]), []string{"c2", "c4", "a2", "a4", "c6"}; !slices.Equal(got, want) {
		t.Errorf("read_uncommitted partition 1 = %v, want %v", got, want)
	}
}

func TestOpenTransactionHoldsBackTheLastStableOffset(t *testing.T) {
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "txn-lso", 1, nil)
	plain := b.client(t)
	produceSync(t, plain, &kgo.Record{Topic: "txn-lso", Value: []byte("before")})
	cl := txnClient(t, b, "lso")
	ctx := testContext(t, 30*time.Second)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "txn-lso", Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produceSync(t, plain, &kgo.Record{Topic: "txn-lso", Value: []byte("after")})

	ends := listOffsets(t, adm, "txn-lso", false)
	stable := listOffsets(t, adm, "txn-lso", true)
	if ends != 3 || stable != 1 {
		t.Fatalf("with a transaction open at offset 1: end offset %d, last stable offset %d; want 3 and 1", ends, stable)
	}
	// A read_committed consumer stops at the open transaction.
	rc := b.client(t, kgo.ConsumeTopics("txn-lso"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	var seen []string
	for pctx.Err() == nil {
		rc.PollFetches(pctx).EachRecord(func(r *kgo.Record) { seen = append(seen, string(r.Value)) })
	}
	cancel()
	if !slices.Equal(seen, []string{"before"}) {
		t.Fatalf("read_committed saw %v while the transaction was open, want [before]", seen)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if s := listOffsets(t, adm, "txn-lso", true); s != 4 {
			return fmt.Errorf("last stable offset %d after the commit, want 4 (three records and the marker)", s)
		}
		return nil
	})
	for len(seen) < 3 {
		rc.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen = append(seen, string(r.Value)) })
		if ctx.Err() != nil {
			t.Fatalf("read_committed saw %v after the commit", seen)
		}
	}
	if !slices.Equal(seen, []string{"before", "open", "after"}) {
		t.Fatalf("read_committed saw %v, want [before open after]", seen)
	}
}

// listOffsets is partition 0's end offset, or its last stable offset.
func listOffsets(t *testing.T, adm *kadm.Client, topic string, committed bool) int64 {
	t.Helper()
	ctx := testContext(t, 10*time.Second)
	var offs kadm.ListedOffsets
	var err error
	if committed {
		offs, err = adm.ListCommittedOffsets(ctx, topic)
	} else {
		offs, err = adm.ListEndOffsets(ctx, topic)
	}
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	o, _ := offs.Lookup(topic, 0)
	return o.Offset
}

func TestANewProducerFencesTheZombieWithTheSameTransactionalID(t *testing.T) {
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "txn-zombie", 1, nil)
	ctx := testContext(t, 60*time.Second)
	zombie := txnClient(t, b, "fenced")
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Topic: "txn-zombie", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The new instance initialises (aborting the zombie's transaction)
	// and commits its own.
	fresh := txnClient(t, b, "fenced")
	produceInTxn(t, fresh, "txn-zombie", 1, true, "fresh")

	err := zombie.EndTransaction(ctx, kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the zombie's commit: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	plain := b.client(t)
	writeSentinels(t, plain, "txn-zombie", 1)
	got := readToSentinels(t, func(opts ...kgo.Opt) *kgo.Client { return b.client(t, opts...) }, "txn-zombie", 1, kgo.ReadCommitted())
	if !slices.Equal(values(got[0]), []string{"fresh"}) {
		t.Fatalf("read_committed saw %v, want only [fresh]", values(got[0]))
	}
}

func TestTheCoordinatorAbortsATransactionThatOutlivesItsTimeout(t *testing.T) {
	b := startBroker(t, withOverride("transaction.abort.timed.out.transaction.cleanup.interval.ms", "200"))
	adm := b.admin(t)
	createTopic(t, adm, "txn-timeout", 1, nil)
	ctx := testContext(t, 60*time.Second)
	cl := txnClient(t, b, "slow", kgo.TransactionTimeout(time.Second))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "txn-timeout", Value: []byte("too late")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The coordinator aborts it: the last stable offset moves past the
	// abort marker without the producer doing anything.
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		if s := listOffsets(t, adm, "txn-timeout", true); s != 2 {
			return fmt.Errorf("last stable offset %d, want 2 (the record and the abort marker)", s)
		}
		return nil
	})
	described, err := adm.DescribeTransactions(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := described.On("slow", nil); d.State != "CompleteAbort" && !kfakeLacks(t, "Kafka's completed transaction states") {
		t.Fatalf("transaction state %q after its timeout, want CompleteAbort", d.State)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("committing a transaction the coordinator aborted succeeded")
	}
	plain := b.client(t)
	writeSentinels(t, plain, "txn-timeout", 1)
	got := readToSentinels(t, func(opts ...kgo.Opt) *kgo.Client { return b.client(t, opts...) }, "txn-timeout", 1, kgo.ReadCommitted())
	if len(got[0]) != 0 {
		t.Fatalf("read_committed saw %v of the aborted transaction", values(got[0]))
	}
}

func TestTransactionalOffsetsAreInvisibleUntilCommitted(t *testing.T) {
	skipOnKfake(t, "kfake answers this TxnOffsetCommit with UNKNOWN_TOPIC_ID")
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "txn-offsets-in", 1, nil)
	cl := b.client(t)
	ctx := testContext(t, 60*time.Second)
	if _, err := adm.CommitOffsets(ctx, "txn-group", kadm.OffsetsFromRecords(kgo.Record{Topic: "txn-offsets-in", Partition: 0, Offset: 4})); err != nil {
		t.Fatal(err)
	}

	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = kmsg.StringPtr("offsets-txn")
	init.TransactionTimeoutMillis = 60000
	initResp, err := retryCoordinatorRequest(ctx, cl, init)
	if err != nil {
		t.Fatal(err)
	}
	ip := initResp.(*kmsg.InitProducerIDResponse)
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "offsets-txn", ip.ProducerID, ip.ProducerEpoch, "txn-group"
	if resp, err := retryCoordinatorRequest(ctx, cl, add); err != nil {
		t.Fatal(err)
	} else if code := resp.(*kmsg.AddOffsetsToTxnResponse).ErrorCode; code != 0 {
		t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(code))
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = "offsets-txn", "txn-group", ip.ProducerID, ip.ProducerEpoch
	commit.Generation = -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic = "txn-offsets-in"
	cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset = 0, 9
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	if resp, err := retryCoordinatorRequest(ctx, cl, commit); err != nil {
		t.Fatal(err)
	} else if code := resp.(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("TxnOffsetCommit: %v", kerr.ErrorForCode(code))
	}

	// Pending: plain fetches see the old offset, require_stable waits.
	if off, code := fetchOffset(t, cl, "txn-group", "txn-offsets-in", false); off != 4 || code != 0 {
		t.Fatalf("OffsetFetch during the transaction: offset %d error %v, want 4", off, kerr.ErrorForCode(code))
	}
	if _, code := fetchOffset(t, cl, "txn-group", "txn-offsets-in", true); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("OffsetFetch require_stable during the transaction: %v, want UNSTABLE_OFFSET_COMMIT", kerr.ErrorForCode(code))
	}

	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "offsets-txn", ip.ProducerID, ip.ProducerEpoch, true
	if resp, err := retryCoordinatorRequest(ctx, cl, end); err != nil {
		t.Fatal(err)
	} else if code := resp.(*kmsg.EndTxnResponse).ErrorCode; code != 0 {
		t.Fatalf("EndTxn: %v", kerr.ErrorForCode(code))
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		off, code := fetchOffset(t, cl, "txn-group", "txn-offsets-in", true)
		if off != 9 || code != 0 {
			return fmt.Errorf("OffsetFetch after the commit: offset %d error %v, want 9", off, kerr.ErrorForCode(code))
		}
		return nil
	})
}

// retryCoordinatorRequest issues a coordinator request, retrying
// retriable answers (the coordinator loading, a transaction completing).
func retryCoordinatorRequest(ctx context.Context, cl *kgo.Client, req kmsg.Request) (kmsg.Response, error) {
	for {
		resp, err := cl.Request(ctx, req)
		if err != nil {
			return nil, err
		}
		var code int16
		switch r := resp.(type) {
		case *kmsg.InitProducerIDResponse:
			code = r.ErrorCode
		case *kmsg.AddOffsetsToTxnResponse:
			code = r.ErrorCode
		case *kmsg.EndTxnResponse:
			code = r.ErrorCode
		case *kmsg.TxnOffsetCommitResponse:
			if len(r.Topics) > 0 && len(r.Topics[0].Partitions) > 0 {
				code = r.Topics[0].Partitions[0].ErrorCode
			}
		}
		if code == 0 || !kerr.IsRetriable(kerr.ErrorForCode(code)) && code != kerr.ConcurrentTransactions.Code {
			return resp, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%T still %v: %w", req, kerr.ErrorForCode(code), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fetchOffset is a group's committed offset of partition 0 (OffsetFetch
// v7+, with or without require_stable) and the partition's error code.
func fetchOffset(t *testing.T, cl *kgo.Client, group, topic string, requireStable bool) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.RequireStable = requireStable
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testContext(t, 10*time.Second), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Groups) > 0 {
		g := resp.Groups[0]
		if g.ErrorCode != 0 {
			return -1, g.ErrorCode
		}
		p := g.Topics[0].Partitions[0]
		return p.Offset, p.ErrorCode
	}
	if resp.ErrorCode != 0 {
		return -1, resp.ErrorCode
	}
	p := resp.Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

func TestTransactionAdminAPIsDescribeARunningTransaction(t *testing.T) {
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "txn-admin", 2, nil)
	ctx := testContext(t, 60*time.Second)
	plain := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, plain, &kgo.Record{Topic: "txn-admin", Partition: 1, Value: []byte("x")})
	cl := txnClient(t, b, "described")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "txn-admin", Partition: 1, Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	described, err := adm.DescribeTransactions(ctx, "described")
	if err != nil {
		t.Fatal(err)
	}
	d, err := described.On("described", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "Ongoing" || d.ProducerID < 0 || d.StartTimestamp <= 0 || len(d.Topics["txn-admin"]) != 1 {
		t.Fatalf("DescribeTransactions: %+v, want Ongoing with txn-admin partition 1", d)
	}
	listed, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["described"]; !ok || len(listed) != 1 {
		t.Fatalf("ListTransactions(Ongoing) = %v, want only described", listed)
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"txn-admin": {1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var open []int64
	producers.EachProducer(func(p kadm.DescribedProducer) {
		if p.CurrentTxnStartOffset >= 0 {
			open = append(open, p.CurrentTxnStartOffset)
			if p.ProducerID != d.ProducerID {
				t.Errorf("DescribeProducers: producer %d holds the open transaction, want %d", p.ProducerID, d.ProducerID)
			}
		}
	})
	if !slices.Equal(open, []int64{1}) {
		t.Fatalf("DescribeProducers open transaction start offsets = %v, want [1]", open)
	}

	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		described, err := adm.DescribeTransactions(ctx, "described")
		if err != nil {
			return err
		}
		if d, _ := described.On("described", nil); d.State != "CompleteCommit" && !kfakeLacks(t, "Kafka's completed transaction states") {
			return fmt.Errorf("state %q after the commit, want CompleteCommit", d.State)
		}
		return nil
	})
	if _, err := adm.DescribeTransactions(ctx, "nobody"); !errors.Is(err, kerr.TransactionalIDNotFound) {
		t.Fatalf("DescribeTransactions of an unknown ID: %v, want TRANSACTIONAL_ID_NOT_FOUND", err)
	}
}

func TestExactlyOnceCopyWhileAMemberIsKilled(t *testing.T) {
	skipOnKfake(t, "kills a pipeline member process")
	b := startBroker(t, withOverride("transaction.abort.timed.out.transaction.cleanup.interval.ms", "500"))
	adm := b.admin(t)
	createTopic(t, adm, "eos-in", 3, nil)
	createTopic(t, adm, "eos-out", 3, nil)
	seeds := []string{b.Addr()}
	startCopier(t, seeds, "eos-member-a", "eos-group", "eos-in", "eos-out")
	startCopier(t, seeds, "eos-member-b", "eos-group", "eos-in", "eos-out")
	member := memberStarted(t, seeds, "eos-member-c", "eos-group", "eos-in", "eos-out")
	input := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	killed := false
	want := produceInput(t, input, "eos-in", 3, 6*time.Second, 3*time.Second, func() {
		if !killed {
			killed = true
			t.Log("kill -9 of a pipeline member")
			if err := member.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitGroupCaughtUp(t, adm, "eos-group", "eos-in", 90*time.Second)
	checkExactlyOnceCopy(t, func(opts ...kgo.Opt) *kgo.Client { return b.client(t, opts...) }, input, "eos-out", 3, want)
}

// produceInput writes numbered records to topic, spread over its
// partitions, for d, calling tick every interval, and returns the values
// written per partition, in order.
func produceInput(t *testing.T, cl *kgo.Client, topic string, partitions int32, d, interval time.Duration, tick func()) map[int32][]string {
	t.Helper()
	want := map[int32][]string{}
	began := time.Now()
	next := interval
	ctx := testContext(t, d+2*time.Minute)
	for n := 0; time.Since(began) < d; {
		var recs []*kgo.Record
		for j := 0; j < 30; j, n = j+1, n+1 {
			p := int32(n) % partitions
			v := fmt.Sprintf("r%06d", n)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
			want[p] = append(want[p], v)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce input: %v", err)
		}
		if time.Since(began) >= next {
			next += interval
			tick()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return want
}

// memberStarted starts a pipeline member in its own process (this test
// binary, told so by copierProcessEnv).
func memberStarted(t *testing.T, seeds []string, txnID, group, in, out string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), copierProcessEnv+"="+strings.Join([]string{strings.Join(seeds, ","), txnID, group, in, out}, "|"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if s := stderr.String(); s != "" {
			t.Logf("member %s said:\n%s", txnID, s)
		}
	})
	return cmd
}

// checkExactlyOnceCopy reads out as read_committed and requires every
// input value exactly once, in input order per partition.
func checkExactlyOnceCopy(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, writer *kgo.Client, out string, partitions int32, want map[int32][]string) {
	t.Helper()
	writeSentinels(t, writer, out, partitions)
	got := readToSentinels(t, newClient, out, partitions, kgo.ReadCommitted())
	total := 0
	for p := int32(0); p < partitions; p++ {
		total += len(want[p])
		g := values(got[p])
		if slices.Equal(g, want[p]) {
			continue
		}
		seen := map[string]int{}
		var dups []string
		for _, v := range g {
			if seen[v]++; seen[v] == 2 {
				dups = append(dups, v)
			}
		}
		var lost []string
		for _, v := range want[p] {
			if seen[v] == 0 {
				lost = append(lost, v)
			}
		}
		sort.Strings(dups)
		t.Errorf("partition %d: %d records copied of %d; %d lost (first %v), %d twice (first %v), order kept: %v",
			p, len(g), len(want[p]), len(lost), first(lost, 5), len(dups), first(dups, 5), len(lost) == 0 && len(dups) == 0)
	}
	t.Logf("%d records copied exactly once", total)
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
