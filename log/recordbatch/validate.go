package recordbatch

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Summary describes the batches of one produce request for a partition.
type Summary struct {
	Batches       int
	Records       int
	Transactional bool
	Idempotent    bool
	ProducerID    int64
	ProducerEpoch int16
	// MinTimestamp and MaxTimestamp are the smallest and largest record
	// timestamps (CreateTime), for message.timestamp.before.max.ms and
	// message.timestamp.after.max.ms.
	MinTimestamp int64
	MaxTimestamp int64
	Bytes        int
	// NullKeys: some record has no key, which a compacted topic refuses.
	NullKeys bool
}

// Validate checks the record batch a producer sent for one partition
// before they are appended verbatim: whole batches with consistent lengths
// and no trailing bytes, magic v2, a valid CRC-32C, a known codec, no
// control batches, a size within maxBatchBytes (max.message.bytes applies
// to a batch as a whole), and records that decode (after decompression)
// into exactly the count and offset deltas the header claims.
func Validate(records []byte, maxBatchBytes int32) (Summary, error) {
	s := Summary{ProducerID: -1, MinTimestamp: -1, MaxTimestamp: -1}
	for rest := records; len(rest) > 0; {
		h, err := ParseHeader(rest)
		if err != nil {
			return s, err
		}
		size := h.TotalSize()
		if size > int64(len(rest)) {
			return s, fmt.Errorf("%w: batch %d claims %d bytes, %d are left", ErrCorrupt, s.Batches, size, len(rest))
		}
		if size > int64(maxBatchBytes) {
			return s, fmt.Errorf("%w: batch of %d bytes exceeds max.message.bytes %d", ErrBatchTooLarge, size, maxBatchBytes)
		}
		batch := rest[:size]
		rest = rest[size:]
		if !CRCValid(batch) {
			return s, fmt.Errorf("%w: CRC-32C of batch %d does not match its contents", ErrCorrupt, s.Batches)
		}
		minTs, maxTs, nullKeys, err := checkBatch(h, batch)
		if err != nil {
			return s, err
		}
		if s.Batches == 1 {
			// As Kafka: a v3+ produce request carries exactly one
			// batch per partition.
			return s, fmt.Errorf("%w: a produce request may hold only one record batch per partition", ErrInvalidRecord)
		}
		if s.Batches == 0 {
			s.ProducerID, s.ProducerEpoch = h.ProducerID, h.ProducerEpoch
			s.MinTimestamp, s.MaxTimestamp = minTs, maxTs
		}
		s.Batches++
		s.Records += int(h.RecordCount)
		s.Bytes += int(size)
		s.Transactional = s.Transactional || h.Transactional()
		s.Idempotent = s.Idempotent || h.Idempotent()
		s.NullKeys = s.NullKeys || nullKeys
	}
	if s.Batches == 0 {
		return s, fmt.Errorf("%w: no record batch", ErrCorrupt)
	}
	return s, nil
}

// checkBatch checks one batch's header fields and records, and returns
// the smallest and largest record timestamps.
func checkBatch(h Header, batch []byte) (minTs, maxTs int64, nullKeys bool, err error) {
	if h.Control() {
		return 0, 0, false, fmt.Errorf("%w: producers may not write control batches", ErrInvalidRecord)
	}
	if c := h.Compression(); c > CompressionZstd {
		return 0, 0, false, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, c)
	}
	if h.RecordCount <= 0 {
		return 0, 0, false, fmt.Errorf("%w: batch holds %d records", ErrInvalidRecord, h.RecordCount)
	}
	if h.LastOffsetDelta != h.RecordCount-1 {
		return 0, 0, false, fmt.Errorf("%w: last offset delta %d for %d records", ErrInvalidRecord, h.LastOffsetDelta, h.RecordCount)
	}
	body := batch[HeaderSize:]
	if c := h.Compression(); c != CompressionNone {
		ws := newWorkspace()
		defer ws.done()
		if isRawSnappy(c, body) {
			raw, err := decodeSnappyRaw(body, ws)
			if err != nil {
				return 0, 0, false, err
			}
			defer raw.free()
			body = raw.b
		} else {
			// gzip, lz4 and zstd can expand a thousandfold: check
			// their records as they stream out, never holding them
			// all (xerial snappy too, a block at a time).
			r, release, err := openStream(c, body, ws)
			if err != nil {
				return 0, 0, false, err
			}
			defer release()
			minDelta, maxDelta, nullKeys, err := checkRecordStream(r, h.RecordCount, maxDecompressed(c, len(body)))
			if err != nil {
				return 0, 0, false, fmt.Errorf("%s records: %w", codecName(c), err)
			}
			return h.BaseTimestamp + minDelta, h.BaseTimestamp + maxDelta, nullKeys, nil
		}
	}
	minDelta, maxDelta, nullKeys, err := checkRecords(body, h.RecordCount)
	if err != nil {
		return 0, 0, false, err
	}
	return h.BaseTimestamp + minDelta, h.BaseTimestamp + maxDelta, nullKeys, nil
}

// checkRecords walks count records in b (uncompressed) and checks their
// framing: length, attributes, timestamp delta, offset delta (which must
// count up from 0), key, value and headers. It returns the smallest and
// largest timestamp deltas and does not allocate.
//
// It is on every produce request's path (Kafka too decodes each record
// of an uncompressed batch), so it is one tight pass: records are
// walked in place, small varints (one byte: every length and delta of a
// batch of small records) take an inlined path, and the error is only
// worded once a record fails.
func checkRecords(b []byte, count int32) (minDelta, maxDelta int64, nullKeys bool, err error) {
	minDelta, maxDelta = math.MaxInt64, math.MinInt64
	for i := int32(0); i < count; i++ {
		length, rest, ok := varint(b)
		if !ok || length < 0 || length > int64(len(rest)) {
			return 0, 0, false, fmt.Errorf("%w: record %d has a bad length", ErrCorrupt, i)
		}
		rec := rest[:length]
		b = rest[length:]
		delta, nullKey, ok := scanRecord(rec, i)
		if !ok {
			return 0, 0, false, recordError(rec, i)
		}
		minDelta, maxDelta = min(minDelta, delta), max(maxDelta, delta)
		nullKeys = nullKeys || nullKey
	}
	if len(b) != 0 {
		return 0, 0, false, fmt.Errorf("%w: %d bytes after the %d records the header counts", ErrCorrupt, len(b), count)
	}
	return minDelta, maxDelta, nullKeys, nil
}

// scanRecord checks one record's framing (after its length) and returns
// its timestamp delta and whether its key is null; ok is false when the
// record is malformed, which recordError then explains.
func scanRecord(r []byte, index int32) (tsDelta int64, nullKey, ok bool) {
	if len(r) < 1 {
		return 0, false, false
	}
	r = r[1:] // attributes
	if tsDelta, r, ok = varint(r); !ok {
		return 0, false, false
	}
	var delta int64
	if delta, r, ok = varint(r); !ok || delta != int64(index) {
		return 0, false, false
	}
	// The key and the value: varint lengths, -1 for null (skipBytes,
	// written out so that varint inlines).
	var l int64
	if l, r, ok = varint(r); !ok || l < -1 || l > int64(len(r)) {
		return 0, false, false
	}
	nullKey = l == -1
	r = r[max(l, 0):]
	if l, r, ok = varint(r); !ok || l < -1 || l > int64(len(r)) {
		return 0, false, false
	}
	r = r[max(l, 0):]
	var headers int64
	if headers, r, ok = varint(r); !ok || headers < 0 {
		return 0, false, false
	}
	for ; headers > 0; headers-- {
		if l, r, ok = varint(r); !ok || l < 0 || l > int64(len(r)) {
			return 0, false, false
		}
		r = r[l:]
		if l, r, ok = varint(r); !ok || l < -1 || l > int64(len(r)) {
			return 0, false, false
		}
		r = r[max(l, 0):]
	}
	return tsDelta, nullKey, len(r) == 0
}

// recordError says what is wrong with a record scanRecord refused.
func recordError(r []byte, index int32) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: record %d: %s", ErrInvalidRecord, index, what)
	}
	if len(r) < 1 {
		return bad("empty")
	}
	r = r[1:] // attributes
	_, r, ok := varint(r)
	if !ok {
		return bad("timestamp delta")
	}
	var delta int64
	if delta, r, ok = varint(r); !ok {
		return bad("offset delta")
	}
	if delta != int64(index) {
		return bad(fmt.Sprintf("offset delta %d, expected %d", delta, index))
	}
	if r, ok = skipBytes(r); !ok {
		return bad("key")
	}
	if r, ok = skipBytes(r); !ok {
		return bad("value")
	}
	var headers int64
	if headers, r, ok = varint(r); !ok || headers < 0 {
		return bad("header count")
	}
	for j := int64(0); j < headers; j++ {
		var klen int64
		if klen, r, ok = varint(r); !ok || klen < 0 || klen > int64(len(r)) {
			return bad("header key")
		}
		r = r[klen:]
		if r, ok = skipBytes(r); !ok {
			return bad("header value")
		}
	}
	return bad(fmt.Sprintf("%d bytes after the headers", len(r)))
}

// varint reads a zigzag varint as binary.Varint does (at most ten
// bytes, no overflow), written out so that it inlines into the record
// walks: a batch's records are mostly one- and two-byte varints.
func varint(b []byte) (int64, []byte, bool) {
	var x uint64
	for i, c := range b {
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			x |= uint64(c) << (7 * i)
			return int64(x>>1) ^ -int64(x&1), b[i+1:], true
		}
		if i == binary.MaxVarintLen64-1 {
			break
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, nil, false
}

// skipBytes skips a varint-length byte string; -1 is null.
func skipBytes(b []byte) ([]byte, bool) {
	l, b, ok := varint(b)
	if !ok || l < -1 || l > int64(len(b)) {
		return nil, false
	}
	if l > 0 {
		b = b[l:]
	}
	return b, true
}
