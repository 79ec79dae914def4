package log

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// Idempotent producer state, as Kafka's ProducerStateManager keeps it: for
// each producer ID that wrote to the partition, its epoch and the
// metadata of its last five batches. A retried batch that matches one of
// them is a duplicate and is answered with the offsets it was written at;
// any other batch must continue the sequence. For transactions (txn.go)
// each producer also has the first offset of its open transaction and
// the coordinator epoch of its last marker, and the state keeps the
// unstable transactions that hold the last stable offset back and the
// KIP-890 verification guards.
//
// The state is rebuilt on open from the newest snapshot at or below the
// log end offset plus the batches after it. Snapshots are written when a
// segment rolls (named by the new segment's base offset, so at most one
// segment is replayed after a crash) and at a clean close (named by the
// log end offset, so nothing is replayed).
//
// Owned by the Log; every method runs under the Log's mutex.

// maxBatchesPerProducer is how many batches per producer are kept for
// duplicate detection: a producer has at most five requests in flight.
const maxBatchesPerProducer = 5

type batchMetadata struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	timestamp               int64 // the batch's max timestamp
}

type producerEntry struct {
	epoch   int16
	batches []batchMetadata // oldest first
	// lastTimestamp is the max timestamp of its newest batch (or
	// marker), for producer.id.expiration.ms.
	lastTimestamp int64
	// txnFirstOffset is the first offset of its open transaction, -1
	// when none is open.
	txnFirstOffset int64
	// coordinatorEpoch is the coordinator epoch of its last marker, -1
	// before any.
	coordinatorEpoch int32
}

func newProducerEntry(epoch int16) *producerEntry {
	return &producerEntry{epoch: epoch, txnFirstOffset: -1, coordinatorEpoch: -1}
}

type producerState struct {
	producers map[int64]*producerEntry
	// snapshotAt is the offset of a snapshot on disk that holds this
	// very state, or -1: a close at that log end offset has nothing to
	// write.
	snapshotAt int64
	// unstable holds the transactions that keep the last stable offset
	// from passing their first offset, sorted by first offset: the open
	// ones and the completed ones whose marker is not yet below the
	// high watermark (a new leader without the marker would see them
	// open, and the LSO must not go back). unstableChanged says the Log
	// must publish it again.
	unstable        []unstableTxn
	unstableChanged bool
	// guards are KIP-890 verification guards (VerificationGuard), kept
	// in memory only: after a restart the broker verifies again.
	guards map[int64]verificationGuard
}

// unstableTxn is a transaction that holds the last stable offset back.
type unstableTxn struct {
	producerID   int64
	firstOffset  int64
	markerOffset int64 // -1 while open
}

type verificationGuard struct {
	guard     uint64
	createdMs int64
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*producerEntry), snapshotAt: -1, guards: make(map[int64]verificationGuard)}
}

// check validates an idempotent batch against its producer's state. It
// returns the metadata of the original batch when this one is a duplicate.
// Kafka's rules: an older epoch is fenced; a newer epoch must start at
// sequence 0; the same epoch must continue the last sequence; a producer
// the partition does not know (new, or expired) may start anywhere.
func (ps *producerState) check(h recordbatch.Header) (*batchMetadata, error) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		return nil, nil
	}
	if h.ProducerEpoch < e.epoch {
		return nil, fmt.Errorf("%w: producer %d epoch %d is older than the current epoch %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	}
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d starts epoch %d at sequence %d, not 0", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	last := h.LastSequence()
	for i := range e.batches {
		if b := &e.batches[i]; b.firstSeq == h.BaseSequence && b.lastSeq == last {
			dup := *b
			return &dup, nil
		}
	}
	lastSeq := int32(-1)
	if n := len(e.batches); n > 0 {
		lastSeq = e.batches[n-1].lastSeq
	}
	if !inSequence(lastSeq, h.BaseSequence) {
		return nil, fmt.Errorf("%w: producer %d epoch %d sent sequence %d after %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence, lastSeq)
	}
	return nil, nil
}

// inSequence: next follows last, wrapping after MaxInt32.
func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// checkTxn applies the transaction rules to an idempotent data batch
// that passed check, as Kafka does: a non-transactional batch from a
// producer with an open transaction is refused, and a transactional one
// that would open a transaction needs the producer's verification guard
// (KIP-890), unless guard is SkipVerification.
func (ps *producerState) checkTxn(h recordbatch.Header, guard uint64) error {
	e := ps.producers[h.ProducerID]
	open := e != nil && e.txnFirstOffset >= 0
	switch {
	case !h.Transactional():
		if open {
			return fmt.Errorf("%w: producer %d wrote a non-transactional batch inside its transaction open since offset %d", ErrInvalidTxnState, h.ProducerID, e.txnFirstOffset)
		}
	case open || guard == SkipVerification:
	default:
		if g, ok := ps.guards[h.ProducerID]; !ok || g.guard != guard {
			return fmt.Errorf("%w: producer %d would open a transaction without a valid verification guard", ErrInvalidTxnState, h.ProducerID)
		}
	}
	return nil
}

// update records a written idempotent data batch whose base offset is
// set. A transactional batch from a producer without an open transaction
// opens one at its base offset.
func (ps *producerState) update(h recordbatch.Header) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		e = newProducerEntry(h.ProducerEpoch)
		ps.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		if h.ProducerEpoch > e.epoch {
			delete(ps.guards, h.ProducerID)
		}
		e.epoch = h.ProducerEpoch
		e.batches = e.batches[:0]
	}
	if h.Transactional() && e.txnFirstOffset < 0 {
		e.txnFirstOffset = h.BaseOffset
		ps.addUnstable(unstableTxn{producerID: h.ProducerID, firstOffset: h.BaseOffset, markerOffset: -1})
		// Verified once; the open transaction needs no guard.
		delete(ps.guards, h.ProducerID)
	}
	if len(e.batches) == maxBatchesPerProducer {
		copy(e.batches, e.batches[1:])
		e.batches = e.batches[:maxBatchesPerProducer-1]
	}
	e.batches = append(e.batches, batchMetadata{
		firstSeq: h.BaseSequence, lastSeq: h.LastSequence(),
		firstOffset: h.BaseOffset, lastOffset: h.LastOffset(),
		timestamp: h.MaxTimestamp,
	})
	e.lastTimestamp = h.MaxTimestamp
}

// expire forgets producers whose newest batch is older than
// producer.id.expiration.ms.
func (ps *producerState) expire(nowMs int64, expiration int64) int {
	n := 0
	for id, e := range ps.producers {
		// A producer with an open transaction stays, as in Kafka:
		// its transaction still holds the last stable offset.
		if e.txnFirstOffset < 0 && nowMs-e.lastTimestamp >= expiration {
			delete(ps.producers, id)
			n++
		}
	}
	for id, g := range ps.guards {
		if nowMs-g.createdMs >= expiration {
			delete(ps.guards, id)
		}
	}
	return n
}

// completeTxn records a transaction marker at offset h.BaseOffset (a
// written control batch) as Kafka's ProducerStateManager does: the
// marker's epoch becomes the producer's (coordinators bump it to fence),
// its coordinator epoch is kept, the open transaction (if any) is
// closed, and the verification guard is dropped. It returns the
// transaction index entry of the marker; Kafka records one for every
// ABORT, whose first offset is the marker's own when no transaction was
// open.
func (ps *producerState) completeTxn(h recordbatch.Header, coordinatorEpoch int32) abortedEntry {
	e := ps.producers[h.ProducerID]
	if e == nil {
		e = newProducerEntry(h.ProducerEpoch)
		ps.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches = e.batches[:0]
	}
	e.coordinatorEpoch = coordinatorEpoch
	e.lastTimestamp = h.MaxTimestamp
	delete(ps.guards, h.ProducerID)
	marker := h.BaseOffset
	entry := abortedEntry{producerID: h.ProducerID, firstOffset: marker, lastOffset: marker, lastStableOffset: marker + 1}
	for _, t := range ps.unstable {
		// The first transaction of another producer still open, as
		// Kafka's lastStableOffset(completedTxn).
		if t.producerID != h.ProducerID && t.markerOffset < 0 {
			entry.lastStableOffset = t.firstOffset
			break
		}
	}
	if e.txnFirstOffset >= 0 {
		entry.firstOffset = e.txnFirstOffset
		for i := range ps.unstable {
			if t := &ps.unstable[i]; t.producerID == h.ProducerID && t.markerOffset < 0 {
				t.markerOffset = marker
				ps.unstableChanged = true
				break
			}
		}
		e.txnFirstOffset = -1
	}
	return entry
}

// closeTxnsBefore closes the open transactions that started below
// offset, without a marker.
func (ps *producerState) closeTxnsBefore(offset int64) {
	for id, e := range ps.producers {
		if e.txnFirstOffset >= 0 && e.txnFirstOffset < offset {
			e.txnFirstOffset = -1
			ps.unstable = slices.DeleteFunc(ps.unstable, func(t unstableTxn) bool { return t.producerID == id && t.markerOffset < 0 })
			ps.unstableChanged = true
		}
	}
}

// addUnstable inserts t in first offset order.
func (ps *producerState) addUnstable(t unstableTxn) {
	i, _ := slices.BinarySearchFunc(ps.unstable, t.firstOffset, func(u unstableTxn, off int64) int {
		return cmp.Compare(u.firstOffset, off+1) // after equal first offsets
	})
	ps.unstable = slices.Insert(ps.unstable, i, t)
	ps.unstableChanged = true
}

// pruneUnstable forgets completed transactions whose marker is below the
// high watermark.
func (ps *producerState) pruneUnstable(hw int64) {
	n := len(ps.unstable)
	ps.unstable = slices.DeleteFunc(ps.unstable, func(t unstableTxn) bool { return t.markerOffset >= 0 && t.markerOffset < hw })
	if len(ps.unstable) != n {
		ps.unstableChanged = true
	}
}

// openTxnsFromEntries rebuilds the open transactions from the producers
// (after loading a snapshot).
func (ps *producerState) openTxnsFromEntries() {
	ps.unstable = ps.unstable[:0]
	for id, e := range ps.producers {
		if e.txnFirstOffset >= 0 {
			ps.unstable = append(ps.unstable, unstableTxn{producerID: id, firstOffset: e.txnFirstOffset, markerOffset: -1})
		}
	}
	slices.SortFunc(ps.unstable, func(a, b unstableTxn) int { return cmp.Compare(a.firstOffset, b.firstOffset) })
	ps.unstableChanged = true
}

// guardFor returns the producer's verification guard, taking a new one
// when it has none; needed is false when the producer has a transaction
// open here already.
func (ps *producerState) guardFor(producerID int64, nowMs int64) (uint64, bool) {
	if e := ps.producers[producerID]; e != nil && e.txnFirstOffset >= 0 {
		return 0, false
	}
	if g, ok := ps.guards[producerID]; ok {
		return g.guard, true
	}
	g := nextGuard.Add(1)
	ps.guards[producerID] = verificationGuard{guard: g, createdMs: nowMs}
	return g, true
}

// nextGuard numbers verification guards, process-wide, so a guard taken
// on one log (or before a log was reopened) never matches another's.
var nextGuard atomic.Uint64

// info describes the producer for DescribeProducers.
func (e *producerEntry) info(id int64) ProducerInfo {
	pi := ProducerInfo{
		ProducerID: id, ProducerEpoch: e.epoch, LastSequence: -1, LastTimestamp: e.lastTimestamp,
		CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnStartOffset: e.txnFirstOffset,
	}
	if n := len(e.batches); n > 0 {
		pi.LastSequence = e.batches[n-1].lastSeq
	}
	return pi
}

// Snapshot files: "<offset>.snapshot", holding the state of every producer
// after the records below offset. Layout: magic, CRC-32C of the rest,
// entry count, then per producer: id, epoch, last timestamp, (v2 only:
// first offset of its open transaction or -1, coordinator epoch of its
// last marker or -1), batch count and per batch first/last sequence,
// first/last offset and timestamp. Version 2 ("SPS2") is written;
// version 1 ("SPS1", before transactions) still loads, with no
// transaction open.

const snapshotSuffix = ".snapshot"

var (
	snapshotMagic   = [4]byte{'S', 'P', 'S', '2'}
	snapshotMagicV1 = [4]byte{'S', 'P', 'S', '1'}
)

var errSnapshotCorrupt = errors.New("producer state snapshot is corrupt")

func snapshotPath(dir string, offset int64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", offset, snapshotSuffix))
}

func (ps *producerState) encode() []byte {
	buf := make([]byte, 12, 12+len(ps.producers)*64)
	copy(buf, snapshotMagic[:])
	ids := make([]int64, 0, len(ps.producers))
	for id := range ps.producers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	binary.BigEndian.PutUint32(buf[8:], uint32(len(ids)))
	for _, id := range ids {
		e := ps.producers[id]
		buf = binary.BigEndian.AppendUint64(buf, uint64(id))
		buf = binary.BigEndian.AppendUint16(buf, uint16(e.epoch))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.lastTimestamp))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.txnFirstOffset))
		buf = binary.BigEndian.AppendUint32(buf, uint32(e.coordinatorEpoch))
		buf = append(buf, byte(len(e.batches)))
		for _, b := range e.batches {
			buf = binary.BigEndian.AppendUint32(buf, uint32(b.firstSeq))
			buf = binary.BigEndian.AppendUint32(buf, uint32(b.lastSeq))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.firstOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.lastOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(b.timestamp))
		}
	}
	binary.BigEndian.PutUint32(buf[4:], crc32.Checksum(buf[8:], castagnoli))
	return buf
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func decodeProducerState(raw []byte) (*producerState, error) {
	if len(raw) < 12 || ([4]byte(raw[:4]) != snapshotMagic && [4]byte(raw[:4]) != snapshotMagicV1) {
		return nil, fmt.Errorf("%w: bad header", errSnapshotCorrupt)
	}
	v2 := [4]byte(raw[:4]) == snapshotMagic
	fixed := 19 // id, epoch, last timestamp, batch count
	if v2 {
		fixed += 12
	}
	if crc32.Checksum(raw[8:], castagnoli) != binary.BigEndian.Uint32(raw[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errSnapshotCorrupt)
	}
	ps := newProducerState()
	count := binary.BigEndian.Uint32(raw[8:])
	b := raw[12:]
	for i := uint32(0); i < count; i++ {
		if len(b) < fixed {
			return nil, fmt.Errorf("%w: entry %d is cut short", errSnapshotCorrupt, i)
		}
		id := int64(binary.BigEndian.Uint64(b))
		e := newProducerEntry(int16(binary.BigEndian.Uint16(b[8:])))
		e.lastTimestamp = int64(binary.BigEndian.Uint64(b[10:]))
		if v2 {
			e.txnFirstOffset = int64(binary.BigEndian.Uint64(b[18:]))
			e.coordinatorEpoch = int32(binary.BigEndian.Uint32(b[26:]))
			if e.txnFirstOffset < -1 {
				return nil, fmt.Errorf("%w: entry %d has a bad transaction offset", errSnapshotCorrupt, i)
			}
		}
		n := int(b[fixed-1])
		b = b[fixed:]
		if n > maxBatchesPerProducer || len(b) < n*32 {
			return nil, fmt.Errorf("%w: entry %d has a bad batch count", errSnapshotCorrupt, i)
		}
		for j := 0; j < n; j++ {
			e.batches = append(e.batches, batchMetadata{
				firstSeq:    int32(binary.BigEndian.Uint32(b)),
				lastSeq:     int32(binary.BigEndian.Uint32(b[4:])),
				firstOffset: int64(binary.BigEndian.Uint64(b[8:])),
				lastOffset:  int64(binary.BigEndian.Uint64(b[16:])),
				timestamp:   int64(binary.BigEndian.Uint64(b[24:])),
			})
			b = b[32:]
		}
		ps.producers[id] = e
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errSnapshotCorrupt, len(b))
	}
	ps.openTxnsFromEntries()
	return ps, nil
}

// writeSnapshot writes the state as of offset. It is not fsynced: a
// snapshot lost in a power failure only means a longer replay, and a torn
// one fails its checksum and is skipped.
func (ps *producerState) writeSnapshot(dir string, offset int64) error {
	path := snapshotPath(dir, offset)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, ps.encode(), 0o644); err != nil {
		return fmt.Errorf("write producer snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write producer snapshot: %w", err)
	}
	ps.snapshotAt = offset
	return nil
}

// listSnapshots returns the offsets of the snapshots in dir, ascending.
func listSnapshots(dir string) ([]int64, error) {
	names, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	return snapshotsIn(names), nil
}

// snapshotsIn returns the offsets of the producer state snapshots among a
// directory's names, in increasing order.
func snapshotsIn(names []string) []int64 {
	var offsets []int64
	for _, name := range names {
		if !strings.HasSuffix(name, snapshotSuffix) {
			continue
		}
		off, err := strconv.ParseInt(strings.TrimSuffix(name, snapshotSuffix), 10, 64)
		if err == nil && off >= 0 {
			offsets = append(offsets, off)
		}
	}
	slices.Sort(offsets)
	return offsets
}
