package txncoord

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// memJournal is an in-memory state log: one record list per partition.
type memJournal struct {
	mu     sync.Mutex
	logs   map[int32][][2][]byte
	epochs map[int32]int32
	fail   error
}

func newMemJournal() *memJournal {
	return &memJournal{logs: make(map[int32][][2][]byte), epochs: make(map[int32]int32)}
}

func (j *memJournal) Append(_ context.Context, p int32, key, value []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		return j.fail
	}
	j.logs[p] = append(j.logs[p], [2][]byte{key, value})
	return nil
}

func (j *memJournal) Replay(_ context.Context, p int32, fn func(key, value []byte) error) error {
	j.mu.Lock()
	recs := slices.Clone(j.logs[p])
	j.mu.Unlock()
	for _, r := range recs {
		if err := fn(r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}

func (j *memJournal) LeaderEpoch(p int32) (int32, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.epochs[p], true
}

// last decodes the newest record of a transactional ID.
func (j *memJournal) last(t *testing.T, p int32, id string) (Txn, bool) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	var found Txn
	ok := false
	for _, r := range j.logs[p] {
		txn, deleted, isTxn, err := decodeRecord(r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if isTxn && txn.TransactionalID == id {
			found, ok = txn, !deleted
		}
	}
	return found, ok
}

// markerLog records the markers written; block holds them back.
type markerLog struct {
	mu      sync.Mutex
	written []Markers
	block   chan struct{}
}

func (m *markerLog) WriteMarkers(ctx context.Context, mk Markers) error {
	m.mu.Lock()
	block := m.block
	m.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written = append(m.written, mk)
	return nil
}

func (m *markerLog) all() []Markers {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.written)
}

type fixture struct {
	c       *Coordinator
	journal *memJournal
	markers *markerLog
	now     atomic.Int64
	nextPID atomic.Int64
}

func newFixture(t *testing.T, journal *memJournal, markers *markerLog) *fixture {
	t.Helper()
	f := &fixture{journal: journal, markers: markers}
	f.now.Store(1_000_000)
	f.nextPID.Store(1000)
	f.c = New(Config{
		NumPartitions: 3, MaxTimeout: 15 * time.Minute, IDExpiration: 7 * 24 * time.Hour,
		AllocateProducerID: func(context.Context) (int64, error) { return f.nextPID.Add(1) - 1, nil },
		Now:                func() time.Time { return time.UnixMilli(f.now.Load()) },
		Logger:             zerolog.Nop(),
	}, journal, markers)
	t.Cleanup(f.c.Close)
	for p := int32(0); p < 3; p++ {
		f.c.Load(p)
	}
	f.waitLoaded(t)
	return f
}

func (f *fixture) waitLoaded(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, loading := f.c.List(nil)
		if !loading {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("partitions never loaded")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitState waits for a transactional ID to reach a state.
func (f *fixture) waitState(t *testing.T, id string, want State) Txn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		txn, err := f.c.Describe(id)
		if err == nil && txn.State == want {
			return txn
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %v (err %v), want %v", id, txn.State, err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

var ctx = context.Background()

func TestInitProducerIDBumpsTheEpochOfATransactionalID(t *testing.T) {
	f := newFixture(t, newMemJournal(), &markerLog{})
	pid, epoch, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	if err != nil || epoch != 0 {
		t.Fatalf("first init: pid %d epoch %d err %v, want epoch 0", pid, epoch, err)
	}
	pid2, epoch2, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	if err != nil || pid2 != pid || epoch2 != 1 {
		t.Fatalf("second init: pid %d epoch %d err %v, want pid %d epoch 1", pid2, epoch2, err, pid)
	}
	// The state log holds it, in Kafka's schema.
	txn, ok := f.journal.last(t, f.c.PartitionFor("app"), "app")
	if !ok || txn.ProducerID != pid || txn.ProducerEpoch != 1 || txn.State != Empty || txn.TimeoutMs != 60000 {
		t.Fatalf("state log holds %+v", txn)
	}
	if _, _, err := f.c.InitProducerID(ctx, "app", int32((16 * time.Minute).Milliseconds()), -1, -1); err != kerr.InvalidTransactionTimeout {
		t.Fatalf("timeout above transaction.max.timeout.ms: %v, want INVALID_TRANSACTION_TIMEOUT", err)
	}
}

func TestKIP360RetriedInitGetsTheSameEpochAndAnOldOneIsFenced(t *testing.T) {
	f := newFixture(t, newMemJournal(), &markerLog{})
	pid, _, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	_, e1, err := f.c.InitProducerID(ctx, "app", 60000, pid, 0)
	if err != nil || e1 != 1 {
		t.Fatalf("bump with the current epoch: epoch %d err %v", e1, err)
	}
	_, e1again, err := f.c.InitProducerID(ctx, "app", 60000, pid, 0)
	if err != nil || e1again != 1 {
		t.Fatalf("retried bump: epoch %d err %v, want the same epoch 1", e1again, err)
	}
	if _, _, err := f.c.InitProducerID(ctx, "app", 60000, pid+7, 0); err != kerr.ProducerFenced {
		t.Fatalf("another producer ID: %v, want PRODUCER_FENCED", err)
	}
}

func TestCommitWritesPrepareThenMarkersThenComplete(t *testing.T) {
	j := newMemJournal()
	j.epochs[f0(t)] = 7
	markers := &markerLog{block: make(chan struct{})}
	f := newFixture(t, j, markers)
	pid, epoch, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	tps := []TopicPartition{{"out", 1}, {"out", 0}, {"__consumer_offsets", 3}}
	if err := f.c.AddPartitions(ctx, "app", pid, epoch, tps); err != nil {
		t.Fatal(err)
	}
	txn := f.waitState(t, "app", Ongoing)
	if len(txn.Partitions) != 3 || txn.StartTimestamp != f.now.Load() {
		t.Fatalf("ongoing transaction %+v", txn)
	}
	if err := f.c.EndTxn(ctx, "app", pid, epoch, true); err != nil {
		t.Fatal(err)
	}
	f.waitState(t, "app", PrepareCommit)
	// While the markers are being written the producer must wait.
	if err := f.c.AddPartitions(ctx, "app", pid, epoch, tps[:1]); err != kerr.ConcurrentTransactions {
		t.Fatalf("add during commit: %v, want CONCURRENT_TRANSACTIONS", err)
	}
	if _, _, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1); err != kerr.ConcurrentTransactions {
		t.Fatalf("init during commit: %v, want CONCURRENT_TRANSACTIONS", err)
	}
	close(markers.block)
	f.waitState(t, "app", CompleteCommit)
	written := markers.all()
	if len(written) != 1 || !written[0].Commit || written[0].ProducerID != pid || written[0].ProducerEpoch != epoch ||
		written[0].CoordinatorEpoch != 7 || len(written[0].Partitions) != 3 {
		t.Fatalf("markers %+v", written)
	}
	// A retried EndTxn is answered as the first; the opposite is refused.
	if err := f.c.EndTxn(ctx, "app", pid, epoch, true); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	if err := f.c.EndTxn(ctx, "app", pid, epoch, false); err != kerr.InvalidTxnState {
		t.Fatalf("abort after commit: %v, want INVALID_TXN_STATE", err)
	}
}

// f0 is the state partition of "app" among 3.
func f0(t *testing.T) int32 {
	t.Helper()
	c := &Coordinator{cfg: Config{NumPartitions: 3}}
	return c.PartitionFor("app")
}

func TestAnOlderEpochIsFenced(t *testing.T) {
	f := newFixture(t, newMemJournal(), &markerLog{})
	pid, old, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	_, cur, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	if err := f.c.AddPartitions(ctx, "app", pid, old, []TopicPartition{{"t", 0}}); err != kerr.ProducerFenced {
		t.Fatalf("zombie add: %v, want PRODUCER_FENCED", err)
	}
	if err := f.c.AddPartitions(ctx, "app", pid, cur, []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.EndTxn(ctx, "app", pid, old, true); err != kerr.ProducerFenced {
		t.Fatalf("zombie commit: %v, want PRODUCER_FENCED", err)
	}
	if err := f.c.EndTxn(ctx, "app", pid+1, cur, true); err != kerr.InvalidProducerIDMapping {
		t.Fatalf("wrong producer id: %v, want INVALID_PRODUCER_ID_MAPPING", err)
	}
	if err := f.c.EndTxn(ctx, "nobody", pid, cur, true); err != kerr.InvalidProducerIDMapping {
		t.Fatalf("unknown transactional id: %v, want INVALID_PRODUCER_ID_MAPPING", err)
	}
}

func TestANewProducerAbortsTheTransactionItsPredecessorLeftOpen(t *testing.T) {
	markers := &markerLog{}
	f := newFixture(t, newMemJournal(), markers)
	pid, epoch, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	f.c.AddPartitions(ctx, "app", pid, epoch, []TopicPartition{{"t", 0}})
	if _, _, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1); err != kerr.ConcurrentTransactions {
		t.Fatalf("init over an open transaction: %v, want CONCURRENT_TRANSACTIONS", err)
	}
	f.waitState(t, "app", CompleteAbort)
	m := markers.all()
	if len(m) != 1 || m[0].Commit || m[0].ProducerEpoch != epoch+1 {
		t.Fatalf("markers %+v, want one ABORT with the bumped epoch %d", m, epoch+1)
	}
	_, e, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	if err != nil || e != epoch+2 {
		t.Fatalf("retried init: epoch %d err %v, want %d", e, err, epoch+2)
	}
}

func TestTimedOutTransactionsAreAbortedWithAFencingEpoch(t *testing.T) {
	markers := &markerLog{}
	f := newFixture(t, newMemJournal(), markers)
	pid, epoch, _ := f.c.InitProducerID(ctx, "app", 1000, -1, -1)
	f.c.AddPartitions(ctx, "app", pid, epoch, []TopicPartition{{"t", 0}})
	f.c.abortTimedOut()
	if txn, _ := f.c.Describe("app"); txn.State != Ongoing {
		t.Fatalf("aborted before its timeout: %v", txn.State)
	}
	f.now.Add(1001)
	f.c.abortTimedOut()
	txn := f.waitState(t, "app", CompleteAbort)
	if txn.ProducerEpoch != epoch+1 {
		t.Fatalf("epoch %d after the timeout abort, want %d", txn.ProducerEpoch, epoch+1)
	}
	if err := f.c.EndTxn(ctx, "app", pid, epoch, true); err != kerr.ProducerFenced {
		t.Fatalf("commit after the timeout: %v, want PRODUCER_FENCED", err)
	}
	if m := markers.all(); len(m) != 1 || m[0].Commit {
		t.Fatalf("markers %+v", m)
	}
}

func TestLoadResumesPreparedTransactionsWithTheNewEpoch(t *testing.T) {
	j := newMemJournal()
	p := f0(t)
	j.epochs[p] = 3
	blocked := &markerLog{block: make(chan struct{})}
	f := newFixture(t, j, blocked)
	pid, epoch, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	f.c.AddPartitions(ctx, "app", pid, epoch, []TopicPartition{{"t", 0}})
	f.c.EndTxn(ctx, "app", pid, epoch, false)
	f.waitState(t, "app", PrepareAbort)
	f.c.Unload(p) // the leadership moves while markers are pending
	if _, err := f.c.Describe("app"); err != kerr.NotCoordinator {
		t.Fatalf("after unload: %v, want NOT_COORDINATOR", err)
	}

	j.epochs[p] = 4
	markers := &markerLog{}
	g := newFixture(t, j, markers)
	g.waitState(t, "app", CompleteAbort)
	m := markers.all()
	if len(m) != 1 || m[0].Commit || m[0].CoordinatorEpoch != 4 || m[0].ProducerID != pid {
		t.Fatalf("resumed markers %+v", m)
	}
}

func TestExpiredTransactionalIDsAreForgotten(t *testing.T) {
	f := newFixture(t, newMemJournal(), &markerLog{})
	f.c.InitProducerID(ctx, "old", 60000, -1, -1)
	f.now.Add((7 * 24 * time.Hour).Milliseconds())
	f.c.InitProducerID(ctx, "fresh", 60000, -1, -1)
	f.c.removeExpired()
	if _, err := f.c.Describe("old"); err != kerr.TransactionalIDNotFound {
		t.Fatalf("expired id: %v, want TRANSACTIONAL_ID_NOT_FOUND", err)
	}
	if _, ok := f.journal.last(t, f.c.PartitionFor("old"), "old"); ok {
		t.Fatal("no tombstone for the expired id")
	}
	if _, err := f.c.Describe("fresh"); err != nil {
		t.Fatalf("fresh id: %v", err)
	}
}

func TestVerifyOnlyAnswersWhetherAPartitionIsInTheTransaction(t *testing.T) {
	f := newFixture(t, newMemJournal(), &markerLog{})
	pid, epoch, _ := f.c.InitProducerID(ctx, "app", 60000, -1, -1)
	in, out := TopicPartition{"t", 0}, TopicPartition{"t", 1}
	f.c.AddPartitions(ctx, "app", pid, epoch, []TopicPartition{in})
	res, err := f.c.VerifyPartitions("app", pid, epoch, []TopicPartition{in, out})
	if err != nil || res[in] != nil || res[out] != kerr.InvalidTxnState {
		t.Fatalf("verify: %v %v", res, err)
	}
	f.c.EndTxn(ctx, "app", pid, epoch, false)
	f.waitState(t, "app", CompleteAbort)
	res, _ = f.c.VerifyPartitions("app", pid, epoch, []TopicPartition{in})
	if res[in] != kerr.InvalidTxnState {
		t.Fatalf("verify after abort: %v, want INVALID_TXN_STATE (a late write must be refused)", res[in])
	}
}

func TestJournalFailuresAnswerAsKafkaDoes(t *testing.T) {
	j := newMemJournal()
	f := newFixture(t, j, &markerLog{})
	j.fail = kerr.NotEnoughReplicas
	if _, _, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1); err != kerr.CoordinatorNotAvailable {
		t.Fatalf("init with too few replicas: %v, want COORDINATOR_NOT_AVAILABLE", err)
	}
	j.fail = kerr.NotLeaderForPartition
	if _, _, err := f.c.InitProducerID(ctx, "app", 60000, -1, -1); err != kerr.NotCoordinator {
		t.Fatalf("init after losing the leadership: %v, want NOT_COORDINATOR", err)
	}
}
