package log

// Transactions on the partition side, as Kafka's ProducerStateManager and
// transaction index keep them:
//
//   - A transactional batch (attributes bit 4) from a producer with no open
//     transaction on this partition opens one at the batch's base offset.
//   - A control batch (a COMMIT or ABORT marker, written by AppendMarker on
//     the leader and copied verbatim by followers) closes it. An ABORT is
//     recorded in the transaction index of the segment the marker lands in
//     (".txnindex", Kafka's layout: version, producer ID, first offset,
//     last offset, last stable offset).
//   - The first unstable offset is the smallest first offset of the open
//     transactions; the last stable offset (LSO) is the smaller of it and
//     the high watermark. read_committed consumers read below the LSO and
//     are told the aborted transactions of what they read.
//   - Producer snapshots carry each producer's open transaction and the
//     coordinator epoch of its last marker; recovery rebuilds the open
//     transactions and the transaction indexes of unflushed segments.
//
// KIP-890 part 1: a transactional batch that would open a transaction is
// written only with a verification guard the broker took before asking the
// transaction coordinator (VerificationGuard). A marker for the producer,
// or a newer epoch, drops the guard, so a write that was verified before
// an abort but arrives after it is refused (ErrInvalidTxnState) instead
// of opening a transaction no one will ever end.

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/samsa-io/samsa/log/recordbatch"
)

var (
	// ErrInvalidTxnState: a transactional batch would open a transaction
	// without a valid verification guard (INVALID_TXN_STATE).
	ErrInvalidTxnState = errors.New("invalid transaction state")
	// ErrCoordinatorFenced: a marker carries an older coordinator epoch
	// than the producer's last marker (TRANSACTION_COORDINATOR_FENCED).
	ErrCoordinatorFenced = errors.New("transaction coordinator fenced")
)

// TxnMarker is one transaction marker for a partition.
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool // COMMIT; false is ABORT
}

// AbortedTxn is one aborted transaction, as a read_committed fetch lists
// it: the consumer drops the producer's records from FirstOffset up to
// the ABORT marker.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
}

// ProducerInfo describes one producer the partition knows
// (DescribeProducers).
type ProducerInfo struct {
	ProducerID       int64
	ProducerEpoch    int16
	LastSequence     int32 // -1 when unknown
	LastTimestamp    int64 // -1 when unknown
	CoordinatorEpoch int32 // of its last marker, -1 if none
	// CurrentTxnStartOffset is the first offset of its open transaction,
	// -1 if none.
	CurrentTxnStartOffset int64
}

// SkipVerification is the guard of a write that needs no KIP-890
// verification (Append, and brokers that do not verify).
const SkipVerification uint64 = math.MaxUint64

// AppendMarker writes a transaction marker as the partition leader, as
// Kafka's coordinator-driven WriteTxnMarkers does: a control batch
// (recordbatch.BuildControl) stamped with nowMs and leaderEpoch. A marker
// with an older producer epoch than the producer's is refused
// (ErrInvalidProducerEpoch), as is one from an older coordinator epoch
// than the producer's last marker (ErrCoordinatorFenced). A marker for a
// producer without an open transaction is written all the same and
// closes nothing. The marker's epoch becomes the producer's; an ABORT is
// recorded in the transaction index of the segment it lands in.
func (l *Log) AppendMarker(m TxnMarker, leaderEpoch int32, nowMs int64) (AppendResult, error) {
	batch, err := recordbatch.BuildControl(m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch, nowMs)
	if err != nil {
		return AppendResult{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return AppendResult{}, ErrClosed
	}
	if e := l.producers.producers[m.ProducerID]; e != nil {
		if m.ProducerEpoch < e.epoch {
			return AppendResult{}, fmt.Errorf("%w: marker for producer %d has epoch %d, older than the current epoch %d", ErrInvalidProducerEpoch, m.ProducerID, m.ProducerEpoch, e.epoch)
		}
		if m.CoordinatorEpoch < e.coordinatorEpoch {
			return AppendResult{}, fmt.Errorf("%w: marker for producer %d from coordinator epoch %d, after one from %d", ErrCoordinatorFenced, m.ProducerID, m.CoordinatorEpoch, e.coordinatorEpoch)
		}
	}
	res, h, err := l.writeAsLeader(batch, leaderEpoch, nowMs)
	if err != nil {
		return AppendResult{}, err
	}
	ctl := recordbatch.ControlAbort
	if m.Commit {
		ctl = recordbatch.ControlCommit
	}
	err = l.applyMarker(h, recordbatch.ControlRecord{Type: ctl, CoordinatorEpoch: m.CoordinatorEpoch})
	res.LogStartOffset = l.logStart.Load()
	return res, err
}

// applyMarker records a written marker in the producer state and, for an
// ABORT, in the active segment's transaction index (the marker was just
// appended there).
func (l *Log) applyMarker(h recordbatch.Header, cr recordbatch.ControlRecord) error {
	entry := l.producers.completeTxn(h, cr.CoordinatorEpoch)
	l.publishTxns()
	if cr.Type != recordbatch.ControlAbort {
		return nil
	}
	if err := l.active().addAborted(entry); err != nil {
		// Readers have the entry; the file is rebuilt by the next
		// recovery of the segment.
		l.logger.Error().Err(err).Int64("marker_offset", h.BaseOffset).Msg("write transaction index")
		return err
	}
	return nil
}

// applyControlBatch records a control batch copied from the leader (or
// replayed): transaction markers end transactions; other control
// records do not concern producers.
func (l *Log) applyControlBatch(batch []byte, h recordbatch.Header) error {
	cr, err := recordbatch.ParseControl(batch)
	if err != nil {
		return fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	if !cr.Marker() {
		return nil
	}
	return l.applyMarker(h, cr)
}

// publishTxns publishes the unstable transactions for lock-free readers,
// first forgetting those whose marker is below the high watermark (mu
// held).
func (l *Log) publishTxns() {
	ps := l.producers
	ps.pruneUnstable(l.highWatermark.Load())
	if !ps.unstableChanged {
		return
	}
	pub := slices.Clone(ps.unstable)
	l.unstableTxns.Store(&pub)
	ps.unstableChanged = false
}

// FirstUnstableOffset is the first offset of the earliest transaction
// still unstable: open, or ended by a marker not yet below the high
// watermark (Kafka's firstUnstableOffset). ok is false when there is
// none. It takes no lock.
func (l *Log) FirstUnstableOffset() (int64, bool) {
	hw := l.highWatermark.Load()
	if p := l.unstableTxns.Load(); p != nil {
		for _, t := range *p { // in first offset order
			if t.markerOffset < 0 || t.markerOffset >= hw {
				return t.firstOffset, true
			}
		}
	}
	return 0, false
}

// LastStableOffset is the offset below which read_committed consumers
// read: the high watermark, or the first unstable offset when that is
// lower, but never below the log start offset. On the leader it never
// goes back: a transaction opens at the log end offset, at or above the
// high watermark, and a completed one holds the LSO until its marker is
// below the high watermark. It takes no lock.
func (l *Log) LastStableOffset() int64 {
	lso := l.highWatermark.Load()
	if fu, ok := l.FirstUnstableOffset(); ok && fu < lso {
		lso = fu
	}
	return max(lso, l.logStart.Load())
}

// AbortedTransactions lists the aborted transactions a read_committed
// fetch of [from, upTo) must be told of: those whose ABORT marker is at or
// after from and whose first offset is below upTo, in marker order, as
// Kafka's collectAbortedTransactions finds them in the transaction
// indexes of the segments from the one holding from onwards. It takes no
// lock.
func (l *Log) AbortedTransactions(from, upTo int64) []AbortedTxn {
	segs := *l.segs.Load()
	i := max(sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > from })-1, 0)
	var out []AbortedTxn
	for ; i < len(segs); i++ {
		for _, e := range segs[i].abortedTxns() {
			if e.lastOffset >= from && e.firstOffset < upTo {
				out = append(out, AbortedTxn{ProducerID: e.producerID, FirstOffset: e.firstOffset})
			}
			// Every transaction that could still start below upTo
			// was complete when this one was.
			if e.lastStableOffset >= upTo {
				return out
			}
		}
	}
	return out
}

// VerificationGuard returns the guard a broker holds while it asks the
// transaction coordinator whether producerID's transaction includes this
// partition (KIP-890 part 1); a transactional batch that opens a
// transaction must come with it (AppendWithGuard). needed is false when
// the producer has a transaction open here already. A marker for the
// producer, or a batch of a newer epoch, drops the guard.
func (l *Log) VerificationGuard(producerID int64) (guard uint64, needed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.producers.guardFor(producerID, l.env.now().UnixMilli())
}

// Producers describes the producers the partition knows, by producer ID
// (DescribeProducers).
func (l *Log) Producers() []ProducerInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for id, e := range l.producers.producers {
		out = append(out, e.info(id))
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out
}
