package log

import (
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

	"github.com/samsa-io/samsa/log/recordbatch"
)

// Idempotent producer state, as Kafka's ProducerStateManager keeps it: for
// each producer ID that wrote to the partition, its epoch and the
// metadata of its last five batches. A retried batch that matches one of
// them is a duplicate and is answered with the offsets it was written at;
// any other batch must continue the sequence.
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
	// lastTimestamp is the max timestamp of its newest batch, for
	// producer.id.expiration.ms.
	lastTimestamp int64
}

type producerState struct {
	producers map[int64]*producerEntry
	// snapshotAt is the offset of a snapshot on disk that holds this
	// very state, or -1: a close at that log end offset has nothing to
	// write.
	snapshotAt int64
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*producerEntry), snapshotAt: -1}
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

// update records a written idempotent batch whose base offset is set.
func (ps *producerState) update(h recordbatch.Header) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		e = &producerEntry{epoch: h.ProducerEpoch}
		ps.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches = e.batches[:0]
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
		if nowMs-e.lastTimestamp >= expiration {
			delete(ps.producers, id)
			n++
		}
	}
	return n
}

// Snapshot files: "<offset>.snapshot", holding the state of every producer
// after the records below offset. Layout: magic, CRC-32C of the rest,
// entry count, then per producer: id, epoch, last timestamp, batch count
// and per batch first/last sequence, first/last offset and timestamp.

const snapshotSuffix = ".snapshot"

var snapshotMagic = [4]byte{'S', 'P', 'S', '1'}

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
	if len(raw) < 12 || [4]byte(raw[:4]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad header", errSnapshotCorrupt)
	}
	if crc32.Checksum(raw[8:], castagnoli) != binary.BigEndian.Uint32(raw[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errSnapshotCorrupt)
	}
	ps := newProducerState()
	count := binary.BigEndian.Uint32(raw[8:])
	b := raw[12:]
	for i := uint32(0); i < count; i++ {
		if len(b) < 19 {
			return nil, fmt.Errorf("%w: entry %d is cut short", errSnapshotCorrupt, i)
		}
		id := int64(binary.BigEndian.Uint64(b))
		e := &producerEntry{
			epoch:         int16(binary.BigEndian.Uint16(b[8:])),
			lastTimestamp: int64(binary.BigEndian.Uint64(b[10:])),
		}
		n := int(b[18])
		b = b[19:]
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
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var offsets []int64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, snapshotSuffix) {
			continue
		}
		off, err := strconv.ParseInt(strings.TrimSuffix(name, snapshotSuffix), 10, 64)
		if err == nil && off >= 0 {
			offsets = append(offsets, off)
		}
	}
	slices.Sort(offsets)
	return offsets, nil
}
