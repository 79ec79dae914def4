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

import "errors"

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
