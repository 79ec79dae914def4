// Package txncoord is the transaction coordinator (KIP-98): it owns the
// transactional IDs of the __transaction_state partitions this broker
// leads, hands out their producer IDs and epochs, tracks each
// transaction's partitions, and drives a commit or abort through its
// two phases: the PrepareCommit / PrepareAbort record is written to the
// state log (the decision), then COMMIT or ABORT markers go to every
// partition of the transaction (MarkerWriter), then CompleteCommit /
// CompleteAbort is written.
//
// A transactional ID's coordinator is the leader of its state partition,
// abs(hashCode(transactional.id)) % transaction.state.log.num.partitions.
// When this broker becomes that leader the partition is loaded from the
// log (Load: transactions left prepared get their markers again), and it
// is dropped when the leadership goes (Unload). The coordinator epoch
// stamped on markers is the state partition's leader epoch, so markers of
// a deposed coordinator are fenced by the partitions.
//
// Transactions running longer than their timeout are aborted with a
// bumped producer epoch (fencing the producer), and transactional IDs
// idle for transactional.id.expiration.ms are forgotten (a tombstone).
//
// Errors are Kafka's (*kerr.Error); package broker turns PRODUCER_FENCED
// into INVALID_PRODUCER_EPOCH for request versions that predate it.
//
// Ownership: Coordinator.mu guards the partition and transaction maps and
// every Txn. A state change marks its transaction pending, releases mu
// while the journal writes, and applies the new state only if the
// partition is still loaded under the same epoch; requests that find a
// transaction pending answer CONCURRENT_TRANSACTIONS.
package txncoord

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/groupcoord"
)

// Journal is the coordinator's access to the __transaction_state
// partitions, implemented by the broker on the partition logs.
type Journal interface {
	// Append writes one record (a nil value is a tombstone) to partition
	// p and returns once it is replicated to the ISR or has failed, with
	// a Kafka error.
	Append(ctx context.Context, partition int32, key, value []byte) error
	// Replay calls fn for every record of partition p, in offset order.
	Replay(ctx context.Context, partition int32, fn func(key, value []byte) error) error
	// LeaderEpoch is partition p's leader epoch while this broker leads
	// it.
	LeaderEpoch(partition int32) (int32, bool)
}

// Markers are the transaction markers of one completing transaction.
type Markers struct {
	TransactionalID  string
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool
	Partitions       []TopicPartition
}

// MarkerWriter writes markers to the leaders of their partitions.
type MarkerWriter interface {
	// WriteMarkers returns once every partition has its marker
	// (replicated) or no longer exists, retrying what fails; it returns
	// an error only when ctx ends or the coordinator was fenced.
	WriteMarkers(ctx context.Context, m Markers) error
}

// Config configures a Coordinator.
type Config struct {
	NumPartitions int32         // transaction.state.log.num.partitions
	MaxTimeout    time.Duration // transaction.max.timeout.ms
	IDExpiration  time.Duration // transactional.id.expiration.ms
	// AbortInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms.
	AbortInterval time.Duration
	// RemoveExpiredInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms.
	RemoveExpiredInterval time.Duration
	// AllocateProducerID hands out a new producer ID.
	AllocateProducerID func(ctx context.Context) (int64, error)
	Now                func() time.Time
	Logger             zerolog.Logger
}

// Coordinator coordinates the transactions of the state partitions it
// loaded. Its methods are safe for concurrent use.
type Coordinator struct {
	cfg     Config
	journal Journal
	markers MarkerWriter
	log     zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	parts map[int32]*partitionState
	txns  map[string]*txnEntry
}

// partitionState is one state partition this coordinator leads.
type partitionState struct {
	id      int32
	epoch   int32 // the coordinator epoch: the partition's leader epoch
	loading bool
	ctx     context.Context
	cancel  context.CancelFunc
}

// txnEntry is a transactional ID's state in memory.
type txnEntry struct {
	Txn
	partition int32
	pending   bool // a state change is being written
	// The producer ID and epoch before the last epoch bump, so that a
	// retried InitProducerID (KIP-360) gets the bumped one again. Kept
	// in memory only, as in Kafka.
	lastProducerID    int64
	lastProducerEpoch int16
}

// New builds a coordinator that owns no partition until Load.
func New(cfg Config, journal Journal, markers MarkerWriter) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg: cfg, journal: journal, markers: markers,
		log:    cfg.Logger.With().Str("component", "txncoord").Logger(),
		ctx:    ctx,
		cancel: cancel,
		parts:  make(map[int32]*partitionState),
		txns:   make(map[string]*txnEntry),
	}
	c.every(cfg.AbortInterval, c.abortTimedOut)
	c.every(cfg.RemoveExpiredInterval, c.removeExpired)
	return c
}

// Close stops the coordinator's background work and waits for it.
func (c *Coordinator) Close() {
	c.cancel()
	c.wg.Wait()
}

func (c *Coordinator) every(d time.Duration, fn func()) {
	if d <= 0 {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// PartitionFor is the state partition of a transactional ID.
func (c *Coordinator) PartitionFor(transactionalID string) int32 {
	return groupcoord.KeyPartition(transactionalID, c.cfg.NumPartitions)
}

// Load takes over state partition p, which this broker now leads: its
// transactions are read from the log in the background; until then
// requests for them answer COORDINATOR_LOAD_IN_PROGRESS.
func (c *Coordinator) Load(p int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	if old := c.parts[p]; old != nil {
		c.dropLocked(old)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	ps := &partitionState{id: p, loading: true, epoch: -1, ctx: ctx, cancel: cancel}
	c.parts[p] = ps
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.load(ps)
	}()
}

// Unload drops state partition p: this broker no longer leads it.
// Marker writing in progress for its transactions stops; the next
// coordinator resumes it.
func (c *Coordinator) Unload(p int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.parts[p]; ps != nil {
		c.dropLocked(ps)
	}
}

func (c *Coordinator) dropLocked(ps *partitionState) {
	ps.cancel()
	delete(c.parts, ps.id)
	for id, e := range c.txns {
		if e.partition == ps.id {
			delete(c.txns, id)
		}
	}
}

// load replays a state partition, retrying while it stays ours.
func (c *Coordinator) load(ps *partitionState) {
	for attempt := 0; ; attempt++ {
		if ps.ctx.Err() != nil {
			return
		}
		epoch, ok := c.journal.LeaderEpoch(ps.id)
		loaded := make(map[string]Txn)
		err := errors.New("not the leader")
		if ok {
			err = c.journal.Replay(ps.ctx, ps.id, func(key, value []byte) error {
				t, deleted, ok, err := decodeRecord(key, value)
				switch {
				case err != nil:
					c.log.Warn().Err(err).Int32("partition", ps.id).Msg("skipping unreadable transaction state record")
				case !ok:
				case deleted:
					delete(loaded, t.TransactionalID)
				default:
					loaded[t.TransactionalID] = t
				}
				return nil
			})
		}
		if err == nil {
			c.finishLoad(ps, epoch, loaded)
			return
		}
		if ps.ctx.Err() != nil {
			return
		}
		c.log.Warn().Err(err).Int32("partition", ps.id).Int("attempt", attempt).Msg("loading transaction state partition")
		select {
		case <-ps.ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Coordinator) finishLoad(ps *partitionState, epoch int32, loaded map[string]Txn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parts[ps.id] != ps {
		return
	}
	ps.epoch = epoch
	ps.loading = false
	resume := 0
	for id, t := range loaded {
		e := &txnEntry{Txn: t, partition: ps.id, lastProducerID: -1, lastProducerEpoch: -1}
		c.txns[id] = e
		switch t.State {
		case PrepareCommit, PrepareAbort:
			c.completeLocked(ps, e)
			resume++
		case PrepareEpochFence, Dead:
			// Not written by Samsa; Kafka never leaves these in the log
			// either. An open transaction of a fenced epoch is aborted
			// by its timeout.
		}
	}
	c.log.Info().Int32("partition", ps.id).Int32("coordinator_epoch", epoch).Int("transactional_ids", len(loaded)).Int("completions_resumed", resume).Msg("loaded transaction state partition")
}

// owner finds the loaded partition of a transactional ID (c.mu held).
func (c *Coordinator) owner(id string) (*partitionState, *kerr.Error) {
	ps := c.parts[c.PartitionFor(id)]
	switch {
	case ps == nil:
		return nil, kerr.NotCoordinator
	case ps.loading:
		return nil, kerr.CoordinatorLoadInProgress
	}
	return ps, nil
}

// write makes next the transaction's state: it writes it to the journal
// with c.mu released, and applies it if the partition is still loaded
// under the same epoch. c.mu is held on entry and on return.
func (c *Coordinator) write(ctx context.Context, ps *partitionState, e *txnEntry, next Txn) *kerr.Error {
	e.pending = true
	c.mu.Unlock()
	err := c.journal.Append(ctx, ps.id, encodeKey(e.TransactionalID), encodeValue(next))
	c.mu.Lock()
	e.pending = false
	if c.parts[ps.id] != ps {
		return kerr.NotCoordinator
	}
	if err != nil {
		c.log.Debug().Err(err).Str("transactional_id", e.TransactionalID).Stringer("state", next.State).Msg("state log write failed")
		return journalError(err)
	}
	e.Txn = next
	return nil
}

// journalError maps an append failure as Kafka's coordinator does.
func journalError(err error) *kerr.Error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return kerr.CoordinatorNotAvailable
		}
		return kerr.UnknownServerError
	}
	switch ke {
	case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
		return kerr.NotCoordinator
	default:
		return kerr.UnknownServerError
	}
}

// epochExhausted: the epoch cannot be bumped again without wrapping
// (Kafka's TransactionMetadata.isEpochExhausted).
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// InitProducerID gives a transactional producer its producer ID and a
// new epoch, fencing older epochs. expectedID and expectedEpoch are the
// producer's current ones (KIP-360, InitProducerId v3+) or -1. A
// transaction left running by an older epoch is aborted first and the
// producer told CONCURRENT_TRANSACTIONS, so it retries once the abort is
// complete.
func (c *Coordinator) InitProducerID(ctx context.Context, id string, timeoutMs int32, expectedID int64, expectedEpoch int16) (int64, int16, *kerr.Error) {
	if timeoutMs <= 0 || time.Duration(timeoutMs)*time.Millisecond > c.cfg.MaxTimeout {
		return -1, -1, kerr.InvalidTransactionTimeout
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, kerrv := c.owner(id)
	if kerrv != nil {
		return -1, -1, kerrv
	}
	e := c.txns[id]
	if e == nil {
		c.mu.Unlock()
		pid, err := c.cfg.AllocateProducerID(ctx)
		c.mu.Lock()
		if err != nil {
			c.log.Error().Err(err).Msg("allocate producer id")
			return -1, -1, kerr.CoordinatorNotAvailable
		}
		if ps, kerrv = c.owner(id); kerrv != nil {
			return -1, -1, kerrv
		}
		if e = c.txns[id]; e == nil {
			e = &txnEntry{
				Txn: Txn{
					TransactionalID: id, ProducerID: pid, ProducerEpoch: -1, TimeoutMs: timeoutMs,
					State: Empty, StartTimestamp: -1, LastUpdateTimestamp: c.cfg.Now().UnixMilli(),
				},
				partition: ps.id, lastProducerID: -1, lastProducerEpoch: -1,
			}
			c.txns[id] = e
		}
	}
	if e.pending {
		return -1, -1, kerr.ConcurrentTransactions
	}
	if expectedID >= 0 {
		valid := e.ProducerEpoch < 0 || expectedID == e.ProducerID ||
			(expectedID == e.lastProducerID && epochExhausted(expectedEpoch))
		if !valid {
			return -1, -1, kerr.ProducerFenced
		}
	}
	switch e.State {
	case PrepareCommit, PrepareAbort:
		return -1, -1, kerr.ConcurrentTransactions
	case Ongoing:
		// An older epoch left a transaction running: fence it with a
		// bumped epoch and abort it; the producer retries.
		if err := c.fenceAndAbort(ctx, ps, e); err != nil {
			return -1, -1, err
		}
		return -1, -1, kerr.ConcurrentTransactions
	case Empty, CompleteCommit, CompleteAbort:
	default:
		return -1, -1, kerr.UnknownServerError
	}
	next := e.Txn.clone()
	lastID, lastEpoch := e.ProducerID, int16(-1)
	if expectedID >= 0 && e.ProducerEpoch >= 0 {
		switch expectedEpoch {
		case e.ProducerEpoch:
			lastEpoch = e.ProducerEpoch
		case e.lastProducerEpoch:
			// A retry of a bump whose answer the producer never got.
			return e.ProducerID, e.ProducerEpoch, nil
		default:
			return -1, -1, kerr.ProducerFenced
		}
	}
	if epochExhausted(e.ProducerEpoch) {
		c.mu.Unlock()
		pid, err := c.cfg.AllocateProducerID(ctx)
		c.mu.Lock()
		if err != nil {
			return -1, -1, kerr.CoordinatorNotAvailable
		}
		if c.parts[ps.id] != ps || c.txns[id] != e || e.pending {
			return -1, -1, kerr.ConcurrentTransactions
		}
		next.ProducerID, next.ProducerEpoch = pid, 0
	} else {
		next.ProducerEpoch++
	}
	next.TimeoutMs = timeoutMs
	next.State = Empty
	next.Partitions = nil
	next.StartTimestamp = -1
	next.LastUpdateTimestamp = c.cfg.Now().UnixMilli()
	if err := c.write(ctx, ps, e, next); err != nil {
		return -1, -1, err
	}
	e.lastProducerID, e.lastProducerEpoch = lastID, lastEpoch
	return next.ProducerID, next.ProducerEpoch, nil
}

// fenceAndAbort aborts e's running transaction under a bumped epoch, so
// that its producer is fenced (c.mu held).
func (c *Coordinator) fenceAndAbort(ctx context.Context, ps *partitionState, e *txnEntry) *kerr.Error {
	next := e.Txn.clone()
	if !epochExhausted(next.ProducerEpoch) {
		next.ProducerEpoch++
	}
	next.State = PrepareAbort
	next.LastUpdateTimestamp = c.cfg.Now().UnixMilli()
	if err := c.write(ctx, ps, e, next); err != nil {
		return err
	}
	c.completeLocked(ps, e)
	return nil
}

// checkProducer checks a request's producer ID and epoch against the
// transactional ID's (c.mu held).
func checkProducer(e *txnEntry, producerID int64, epoch int16) *kerr.Error {
	switch {
	case e == nil || e.ProducerID != producerID:
		return kerr.InvalidProducerIDMapping
	case e.ProducerEpoch != epoch:
		return kerr.ProducerFenced
	case e.pending:
		return kerr.ConcurrentTransactions
	}
	return nil
}

// AddPartitions adds partitions to the producer's transaction, starting
// one if none runs (AddPartitionsToTxn, AddOffsetsToTxn).
func (c *Coordinator) AddPartitions(ctx context.Context, id string, producerID int64, epoch int16, tps []TopicPartition) *kerr.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, err := c.owner(id)
	if err != nil {
		return err
	}
	e := c.txns[id]
	if err := checkProducer(e, producerID, epoch); err != nil {
		return err
	}
	switch e.State {
	case PrepareCommit, PrepareAbort:
		return kerr.ConcurrentTransactions
	case Ongoing, Empty, CompleteCommit, CompleteAbort:
	default:
		return kerr.InvalidTxnState
	}
	if e.State == Ongoing {
		missing := false
		for _, tp := range tps {
			if !e.hasPartition(tp) {
				missing = true
				break
			}
		}
		if !missing {
			return nil
		}
	}
	next := e.Txn.withPartitions(tps)
	now := c.cfg.Now().UnixMilli()
	if e.State != Ongoing {
		next.Partitions = nil
		next = next.withPartitions(tps)
		next.StartTimestamp = now
	}
	next.State = Ongoing
	next.LastUpdateTimestamp = now
	return c.write(ctx, ps, e, next)
}

// VerifyPartitions answers a partition leader's question (KIP-890,
// AddPartitionsToTxn v4 with verify_only): is each partition in the
// producer's running transaction? Nothing is written.
func (c *Coordinator) VerifyPartitions(id string, producerID int64, epoch int16, tps []TopicPartition) (map[TopicPartition]*kerr.Error, *kerr.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.owner(id); err != nil {
		return nil, err
	}
	e := c.txns[id]
	switch {
	case e == nil || e.ProducerID != producerID:
		return nil, kerr.InvalidProducerIDMapping
	case e.ProducerEpoch != epoch:
		return nil, kerr.ProducerFenced
	case e.pending:
		return nil, kerr.ConcurrentTransactions
	}
	res := make(map[TopicPartition]*kerr.Error, len(tps))
	for _, tp := range tps {
		if e.State == Ongoing && e.hasPartition(tp) {
			res[tp] = nil
		} else {
			res[tp] = kerr.InvalidTxnState
		}
	}
	return res, nil
}

// EndTxn commits or aborts the producer's transaction: once the
// decision is in the state log the producer is answered, and the markers
// are written in the background. A retried EndTxn of a completed
// transaction is answered as the first was.
func (c *Coordinator) EndTxn(ctx context.Context, id string, producerID int64, epoch int16, commit bool) *kerr.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, err := c.owner(id)
	if err != nil {
		return err
	}
	e := c.txns[id]
	if e == nil || e.ProducerID != producerID {
		return kerr.InvalidProducerIDMapping
	}
	if e.ProducerEpoch != epoch {
		// A retry after the coordinator aborted (and fenced) the
		// transaction on timeout is still fenced, as in Kafka.
		return kerr.ProducerFenced
	}
	if e.pending {
		return kerr.ConcurrentTransactions
	}
	switch e.State {
	case Ongoing:
	case CompleteCommit:
		if commit {
			return nil
		}
		return kerr.InvalidTxnState
	case CompleteAbort:
		if !commit {
			return nil
		}
		return kerr.InvalidTxnState
	case PrepareCommit:
		if commit {
			return kerr.ConcurrentTransactions
		}
		return kerr.InvalidTxnState
	case PrepareAbort:
		if !commit {
			return kerr.ConcurrentTransactions
		}
		return kerr.InvalidTxnState
	default:
		return kerr.InvalidTxnState
	}
	next := e.Txn.clone()
	next.State = PrepareAbort
	if commit {
		next.State = PrepareCommit
	}
	next.LastUpdateTimestamp = c.cfg.Now().UnixMilli()
	if err := c.write(ctx, ps, e, next); err != nil {
		return err
	}
	c.completeLocked(ps, e)
	return nil
}

// completeLocked writes the markers of e's prepared transaction in the
// background, then its CompleteCommit or CompleteAbort (c.mu held).
func (c *Coordinator) completeLocked(ps *partitionState, e *txnEntry) {
	m := Markers{
		TransactionalID: e.TransactionalID, ProducerID: e.ProducerID, ProducerEpoch: e.ProducerEpoch,
		CoordinatorEpoch: ps.epoch, Commit: e.State == PrepareCommit, Partitions: e.Partitions,
	}
	e.pending = true // nothing else may change it until it completes
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.complete(ps, e, m)
	}()
}

func (c *Coordinator) complete(ps *partitionState, e *txnEntry, m Markers) {
	if len(m.Partitions) > 0 {
		if err := c.markers.WriteMarkers(ps.ctx, m); err != nil {
			if ps.ctx.Err() == nil {
				c.log.Warn().Err(err).Str("transactional_id", m.TransactionalID).Msg("transaction markers not written; the next coordinator resumes")
			}
			return
		}
	}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.parts[ps.id] != ps || c.txns[e.TransactionalID] != e {
			c.mu.Unlock()
			return
		}
		next := e.Txn.clone()
		next.State = CompleteAbort
		if m.Commit {
			next.State = CompleteCommit
		}
		next.Partitions = nil
		next.LastUpdateTimestamp = c.cfg.Now().UnixMilli()
		err := c.write(ps.ctx, ps, e, next)
		c.mu.Unlock()
		if err == nil || err == kerr.NotCoordinator {
			return
		}
		c.log.Warn().Err(err).Str("transactional_id", m.TransactionalID).Int("attempt", attempt).Msg("writing transaction completion")
		select {
		case <-ps.ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		c.mu.Lock()
		e.pending = true // still completing
		c.mu.Unlock()
	}
}

// abortTimedOut aborts transactions running longer than their timeout,
// bumping the producer epoch so the producer is fenced.
func (c *Coordinator) abortTimedOut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now().UnixMilli()
	var due []*txnEntry
	for _, e := range c.txns {
		if e.State == Ongoing && !e.pending && e.StartTimestamp >= 0 && now-e.StartTimestamp > int64(e.TimeoutMs) {
			due = append(due, e)
		}
	}
	for _, e := range due {
		ps := c.parts[e.partition]
		if ps == nil || ps.loading || c.txns[e.TransactionalID] != e || e.pending || e.State != Ongoing {
			continue
		}
		c.log.Info().Str("transactional_id", e.TransactionalID).Int64("producer_id", e.ProducerID).Int32("timeout_ms", e.TimeoutMs).Msg("aborting transaction that outlived its timeout")
		if err := c.fenceAndAbort(ps.ctx, ps, e); err != nil {
			c.log.Warn().Err(err).Str("transactional_id", e.TransactionalID).Msg("aborting timed-out transaction")
		}
	}
}

// removeExpired forgets transactional IDs with no running transaction
// that were last used longer than transactional.id.expiration.ms ago.
func (c *Coordinator) removeExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now().UnixMilli()
	var due []*txnEntry
	for _, e := range c.txns {
		switch e.State {
		case Empty, CompleteCommit, CompleteAbort:
			if !e.pending && now-e.LastUpdateTimestamp >= c.cfg.IDExpiration.Milliseconds() {
				due = append(due, e)
			}
		}
	}
	for _, e := range due {
		ps := c.parts[e.partition]
		if ps == nil || ps.loading || c.txns[e.TransactionalID] != e || e.pending {
			continue
		}
		e.pending = true
		c.mu.Unlock()
		err := c.journal.Append(ps.ctx, ps.id, encodeKey(e.TransactionalID), nil)
		c.mu.Lock()
		e.pending = false
		if err == nil && c.txns[e.TransactionalID] == e {
			delete(c.txns, e.TransactionalID)
			c.log.Info().Str("transactional_id", e.TransactionalID).Msg("transactional id expired")
		}
	}
}

// Describe returns a transactional ID's state (DescribeTransactions).
func (c *Coordinator) Describe(id string) (Txn, *kerr.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.owner(id); err != nil {
		return Txn{}, err
	}
	e := c.txns[id]
	if e == nil {
		return Txn{}, kerr.TransactionalIDNotFound
	}
	return e.Txn.clone(), nil
}

// List returns the transactions of every loaded partition that keep
// passes (ListTransactions); loading is true while a partition is still
// loading, which Kafka answers COORDINATOR_LOAD_IN_PROGRESS.
func (c *Coordinator) List(keep func(Txn) bool) (txns []Txn, loading bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.parts {
		if ps.loading {
			loading = true
		}
	}
	for _, e := range c.txns {
		if keep == nil || keep(e.Txn) {
			txns = append(txns, e.Txn.clone())
		}
	}
	return txns, loading
}
