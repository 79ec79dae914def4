package recordbatch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Retained re-encodes a batch with only some of its records, as the log
// cleaner writes it: the batch keeps its base offset, last offset delta,
// producer fields, codec and timestamp type, and each kept record keeps
// its offset and timestamp. Kafka does the same, so producer sequences and
// offsets stay what the producer and consumers saw.
type Retained struct {
	orig    Header
	records []byte // uncompressed, encoded records
	count   int32
	minTs   int64
	maxTs   int64
}

// NewRetained starts a copy of the batch with header orig.
func NewRetained(orig Header) *Retained {
	return &Retained{orig: orig, minTs: math.MaxInt64, maxTs: math.MinInt64}
}

// Count is the number of records added.
func (b *Retained) Count() int32 { return b.count }

// Add keeps a record (from Records on the original batch). Records must be
// added in offset order.
func (b *Retained) Add(r Record) {
	// Record timestamps are encoded relative to the base timestamp, which
	// Bytes picks; keep the absolute values for now.
	b.minTs, b.maxTs = min(b.minTs, r.Timestamp), max(b.maxTs, r.Timestamp)
	b.records = appendRecord(b.records, r, 0, 0, true)
	b.count++
}

// appendRecord encodes r with deltas against baseOffset and baseTs. With
// raw set, the timestamp and offset are written absolute (the staging
// form Add uses before the base timestamp is known).
func appendRecord(dst []byte, r Record, baseOffset, baseTs int64, raw bool) []byte {
	tsDelta, offDelta := r.Timestamp-baseTs, r.Offset-baseOffset
	if raw {
		tsDelta, offDelta = r.Timestamp, r.Offset
	}
	var body [3 * binary.MaxVarintLen64]byte
	n := 0
	body[n] = byte(r.Attributes)
	n++
	n += binary.PutVarint(body[n:], tsDelta)
	n += binary.PutVarint(body[n:], offDelta)
	size := n + bytesSize(r.Key) + bytesSize(r.Value) + len(r.Headers)
	dst = binary.AppendVarint(dst, int64(size))
	dst = append(dst, body[:n]...)
	dst = appendVarBytes(dst, r.Key)
	dst = appendVarBytes(dst, r.Value)
	return append(dst, r.Headers...)
}

func bytesSize(b []byte) int {
	if b == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(b))) + len(b)
}

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// Bytes encodes the batch. deleteHorizon, when non-negative, is stored as
// the base timestamp with the delete-horizon attribute set (KIP-534): the
// time after which the cleaner may drop the batch's tombstones.
func (b *Retained) Bytes(deleteHorizon int64) ([]byte, error) {
	if b.count == 0 {
		return nil, fmt.Errorf("%w: a batch needs at least one record", ErrInvalidRecord)
	}
	h := b.orig
	baseTs, maxTs := b.minTs, b.maxTs
	if h.LogAppendTime() {
		baseTs, maxTs = h.BaseTimestamp, h.MaxTimestamp
	}
	attrs := uint16(h.Attributes) &^ deleteHorizonSetBit
	if deleteHorizon >= 0 {
		baseTs = deleteHorizon
		attrs |= deleteHorizonSetBit
	} else if h.Attributes&deleteHorizonSetBit != 0 {
		// Keep a horizon the original already carried.
		baseTs = h.BaseTimestamp
		attrs |= deleteHorizonSetBit
	}
	// Re-encode the staged records with deltas against the new bases.
	records := make([]byte, 0, len(b.records))
	for rest := b.records; len(rest) > 0; {
		r, next, err := parseStaged(rest)
		if err != nil {
			return nil, err
		}
		records = appendRecord(records, r, h.BaseOffset, baseTs, false)
		rest = next
	}
	out := make([]byte, HeaderSize, HeaderSize+len(records))
	if err := compressInto(&out, h.Compression(), records); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint64(out[offBaseOffset:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-LogOverhead))
	binary.BigEndian.PutUint32(out[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	out[offMagic] = 2
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	binary.BigEndian.PutUint32(out[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(out[offBaseTimestamp:], uint64(baseTs))
	binary.BigEndian.PutUint64(out[offMaxTimestamp:], uint64(maxTs))
	binary.BigEndian.PutUint64(out[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(out[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(out[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(out[offRecordCount:], uint32(b.count))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[attributesCRCStart:], castagnoli))
	return out, nil
}

// parseStaged reads one record written by Add (absolute timestamp and
// offset).
func parseStaged(b []byte) (Record, []byte, error) {
	length, n := binary.Varint(b)
	if n <= 0 || length < 0 || length > int64(len(b)-n) {
		return Record{}, nil, fmt.Errorf("%w: staged record", ErrCorrupt)
	}
	rec, err := parseRecord(b[n:n+int(length)], Header{})
	return rec, b[n+int(length):], err
}

// HasDeleteHorizon reports whether the batch carries a delete horizon
// (KIP-534); DeleteHorizon is then its base timestamp.
func (h Header) HasDeleteHorizon() bool { return h.Attributes&deleteHorizonSetBit != 0 }

// DeleteHorizon is the time after which the batch's tombstones may be
// dropped, or -1 when none is set.
func (h Header) DeleteHorizon() int64 {
	if !h.HasDeleteHorizon() {
		return -1
	}
	return h.BaseTimestamp
}

// KeyValue is one record to build a batch from; a nil Value is a
// tombstone.
type KeyValue struct {
	Key, Value []byte
}

// Build encodes records as one uncompressed batch with base offset 0, no
// producer and CreateTime timestamp, as a broker writes its own records
// (__consumer_offsets); the log assigns the offsets.
func Build(records []KeyValue, timestamp int64) ([]byte, error) {
	h := Header{
		Magic: 2, LastOffsetDelta: int32(len(records) - 1),
		BaseTimestamp: timestamp, MaxTimestamp: timestamp,
		ProducerID: noProducerID, ProducerEpoch: -1, BaseSequence: noSequence,
		PartitionLeaderEpoch: -1, RecordCount: int32(len(records)),
	}
	b := NewRetained(h)
	for i, kv := range records {
		b.Add(Record{Offset: int64(i), Timestamp: timestamp, Key: kv.Key, Value: kv.Value, Headers: []byte{0}})
	}
	return b.Bytes(-1)
}
