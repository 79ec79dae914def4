package recordbatch

import (
	"encoding/binary"
	"fmt"
)

// Record is one record of a batch as Records yields it. Key, Value and
// Headers alias the batch (or its decompressed records) and are valid only
// during the callback.
type Record struct {
	Attributes int8
	// Offset and Timestamp are absolute: the batch's base offset and base
	// timestamp plus the record's deltas. Under LogAppendTime every
	// record's timestamp is the batch's max timestamp, as Kafka reports it.
	Offset    int64
	Timestamp int64
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value (a tombstone)
	// Headers is the raw header section: count then headers.
	Headers []byte
}

// Records calls fn for each record of one whole batch, decompressing it
// when needed, until fn returns false. The batch must have passed
// Validate (or come from the log, which only holds validated batches);
// malformed records still give an error rather than a panic.
func Records(batch []byte, fn func(Record) bool) error {
	h, err := ParseHeader(batch)
	if err != nil {
		return err
	}
	if h.TotalSize() > int64(len(batch)) {
		return fmt.Errorf("%w: batch claims %d bytes, %d given", ErrCorrupt, h.TotalSize(), len(batch))
	}
	body := batch[HeaderSize:h.TotalSize()]
	if h.Compression() != CompressionNone {
		raw, release, err := decompress(h.Compression(), body, maxDecompressed(h.Compression(), len(body)))
		if err != nil {
			return err
		}
		defer release()
		body = raw
	}
	for i := int32(0); i < h.RecordCount; i++ {
		length, n := binary.Varint(body)
		if n <= 0 || length < 0 || length > int64(len(body)-n) {
			return fmt.Errorf("%w: record %d has a bad length", ErrCorrupt, i)
		}
		rec, err := parseRecord(body[n:n+int(length)], h)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		body = body[n+int(length):]
		if !fn(rec) {
			return nil
		}
	}
	return nil
}

func parseRecord(r []byte, h Header) (Record, error) {
	bad := func(what string) (Record, error) { return Record{}, fmt.Errorf("%w: %s", ErrInvalidRecord, what) }
	if len(r) < 1 {
		return bad("empty record")
	}
	rec := Record{Attributes: int8(r[0])}
	r = r[1:]
	tsDelta, r, ok := varint(r)
	if !ok {
		return bad("timestamp delta")
	}
	offDelta, r, ok := varint(r)
	if !ok {
		return bad("offset delta")
	}
	rec.Offset = h.BaseOffset + offDelta
	rec.Timestamp = h.BaseTimestamp + tsDelta
	if h.LogAppendTime() {
		rec.Timestamp = h.MaxTimestamp
	}
	if rec.Key, r, ok = readBytes(r); !ok {
		return bad("key")
	}
	if rec.Value, r, ok = readBytes(r); !ok {
		return bad("value")
	}
	rec.Headers = r
	return rec, nil
}

// readBytes reads a varint-length byte string; -1 is null (nil).
func readBytes(b []byte) ([]byte, []byte, bool) {
	l, b, ok := varint(b)
	if !ok || l < -1 || l > int64(len(b)) {
		return nil, nil, false
	}
	if l < 0 {
		return nil, b, true
	}
	return b[:l:l], b[l:], true
}
