package groupcoord

import (
	"context"
	"sync"
)

// OffsetsTopic is the internal topic that holds committed offsets and
// group metadata. It is compacted: the last record of a key wins, and a
// record with a nil value (a tombstone) deletes the key.
const OffsetsTopic = "__consumer_offsets"

// Record is one __consumer_offsets record. Key and Value use Kafka's
// schemas (kmsg.OffsetCommitKey / OffsetCommitValue, GroupMetadataKey /
// GroupMetadataValue), so the topic can be read by Kafka's tools and a log
// written by Kafka can be loaded. A nil Value is a tombstone.
//
// The other fields are what a replay reports about the record's batch;
// appends ignore them. A record of a transactional batch (a TxnOffsetCommit)
// has Transactional set and its batch's ProducerID; a transaction marker (a
// control record) has Marker set, the ProducerID of the transaction it
// ends, and no Key or Value.
type Record struct {
	Key, Value []byte

	ProducerID    int64
	Transactional bool
	Marker        Marker
}

// Marker is the kind of a control record: Kafka's ControlRecordType, whose
// key is an int16 version and an int16 type (0 ABORT, 1 COMMIT).
type Marker int8

const (
	// NoMarker: a data record.
	NoMarker Marker = iota
	// CommitMarker ends a transaction whose offsets become committed.
	CommitMarker
	// AbortMarker ends a transaction whose offsets are dropped.
	AbortMarker
)

// Journal is the coordinator's access to __consumer_offsets, implemented by
// the broker on top of the partition logs.
//
// Append errors should be Kafka errors (*kerr.Error, possibly wrapped): the
// coordinator maps them to what clients expect as Kafka does
// (NOT_LEADER_FOR_PARTITION and KAFKA_STORAGE_ERROR become NOT_COORDINATOR;
// UNKNOWN_TOPIC_OR_PARTITION and NOT_ENOUGH_REPLICAS[_AFTER_APPEND] become
// COORDINATOR_NOT_AVAILABLE; MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE
// become INVALID_COMMIT_OFFSET_SIZE for commits and UNKNOWN_SERVER_ERROR for
// group metadata; REQUEST_TIMED_OUT or a deadline passes through for commits
// and becomes REBALANCE_IN_PROGRESS for group metadata). Any other error is
// UNKNOWN_SERVER_ERROR.
//
// Transactional offset commits (TxnOffsetCommit) need more: a Journal that
// also implements TransactionalJournal. Without it TxnOffsetCommit answers
// UNKNOWN_SERVER_ERROR and every replayed record counts as a plain one.
type Journal interface {
	// Append writes the records to partition p of __consumer_offsets as
	// one batch and returns once they are committed (replicated to the
	// ISR) or have failed.
	Append(ctx context.Context, partition int32, records []Record) error
	// Replay calls fn for every record of partition p from its log start
	// to its current end, in offset order. An error from fn stops the
	// replay and is returned.
	Replay(ctx context.Context, partition int32, fn func(Record) error) error
}

// TransactionalJournal is a Journal that writes transactional batches and
// reports them, and transaction markers, on replay (Record's Transactional,
// ProducerID and Marker), as Kafka's GroupMetadataManager reads them when it
// loads a partition.
type TransactionalJournal interface {
	Journal
	// AppendTransactional writes the records to partition p as one
	// transactional batch of the producer (its ID and epoch in the batch
	// header, the transactional attribute set) and returns once they are
	// committed to the ISR or have failed, like Append. The producer's
	// COMMIT or ABORT marker, written to the partition later by the
	// broker, decides whether they count.
	AppendTransactional(ctx context.Context, partition int32, producerID int64, producerEpoch int16, records []Record) error
}

// MemoryJournal is an in-memory TransactionalJournal for tests: one slice
// of records per partition, no compaction. Transactional batches keep their
// producer on each record; AppendMarker stands for the broker writing a
// transaction marker. Safe for concurrent use.
type MemoryJournal struct {
	mu         sync.Mutex
	logs       map[int32][]Record
	appendHook func(partition int32, records []Record) error
	replayHook func(partition int32) error
}

var _ TransactionalJournal = (*MemoryJournal)(nil)

// NewMemoryJournal returns an empty journal.
func NewMemoryJournal() *MemoryJournal {
	return &MemoryJournal{logs: make(map[int32][]Record)}
}

// Append implements Journal. The append hook, if set, may fail it.
func (j *MemoryJournal) Append(ctx context.Context, partition int32, records []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.appendHook != nil {
		if err := j.appendHook(partition, records); err != nil {
			return err
		}
	}
	for _, r := range records {
		j.logs[partition] = append(j.logs[partition], Record{Key: clone(r.Key), Value: clone(r.Value)})
	}
	return nil
}

// AppendTransactional implements TransactionalJournal. The append hook, if
// set, may fail it.
func (j *MemoryJournal) AppendTransactional(ctx context.Context, partition int32, producerID int64, _ int16, records []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.appendHook != nil {
		if err := j.appendHook(partition, records); err != nil {
			return err
		}
	}
	for _, r := range records {
		j.logs[partition] = append(j.logs[partition], Record{
			Key: clone(r.Key), Value: clone(r.Value), ProducerID: producerID, Transactional: true,
		})
	}
	return nil
}

// AppendMarker writes a transaction marker for the producer to partition p,
// as the broker does when the transaction coordinator sends
// WriteTxnMarkers. It does not tell a coordinator (CompleteTransaction
// does); a replay sees it.
func (j *MemoryJournal) AppendMarker(partition int32, producerID int64, commit bool) {
	m := AbortMarker
	if commit {
		m = CommitMarker
	}
	j.mu.Lock()
	j.logs[partition] = append(j.logs[partition], Record{ProducerID: producerID, Marker: m})
	j.mu.Unlock()
}

// Replay implements Journal. The replay hook, if set, may fail it.
func (j *MemoryJournal) Replay(ctx context.Context, partition int32, fn func(Record) error) error {
	j.mu.Lock()
	hook := j.replayHook
	log := append([]Record(nil), j.logs[partition]...)
	j.mu.Unlock()
	if hook != nil {
		if err := hook(partition); err != nil {
			return err
		}
	}
	for _, r := range log {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Records returns a copy of partition p's log.
func (j *MemoryJournal) Records(partition int32) []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.logs[partition]...)
}

// SetAppendHook installs fn, called (under the journal's lock) before every
// append; a non-nil error fails the append without writing. Nil removes it.
func (j *MemoryJournal) SetAppendHook(fn func(partition int32, records []Record) error) {
	j.mu.Lock()
	j.appendHook = fn
	j.mu.Unlock()
}

// SetReplayHook installs fn, called before every replay; a non-nil error
// fails the replay. Nil removes it.
func (j *MemoryJournal) SetReplayHook(fn func(partition int32) error) {
	j.mu.Lock()
	j.replayHook = fn
	j.mu.Unlock()
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
