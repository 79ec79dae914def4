package recordbatch

import (
	"bufio"
	"encoding/binary"
	"fmt"
)

// Record is one record of a batch as Records yields it. Key, Value and
// Headers alias the batch (or a buffer reused for the next record) and
// are valid only during the callback.
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

// RecordInfo is a record as ScanRecords yields it: what it says of itself,
// without its bytes.
type RecordInfo struct {
	Attributes int8
	Offset     int64 // absolute, as in Record
	Timestamp  int64 // absolute, as in Record
	// KeySize and ValueSize are the lengths of the key and value, -1
	// when null (Kafka's Record.keySize and valueSize).
	KeySize   int
	ValueSize int
}

// Records calls fn for each record of one whole batch, decompressing it
// when needed, until fn returns false. The batch must have passed
// Validate (or come from the log, which only holds validated batches);
// malformed records still give an error rather than a panic.
//
// Compressed records are read one at a time as they stream out of the
// decoder, into a buffer as large as the largest record (charged to the
// decompression budget past 1 MiB): the batch is never held decompressed
// whole, except a raw snappy block, which cannot be decoded in parts.
func Records(batch []byte, fn func(Record) bool) error {
	src, err := openRecords(batch)
	if err != nil {
		return err
	}
	defer src.close()
	h, s := src.h, src.stream
	if s == nil {
		return walkRecords(src.plain, h, fn)
	}
	rec := pooledBuffer(src.ws)
	defer rec.free()
	for i := int32(0); i < h.RecordCount; i++ {
		length := s.varint()
		if s.err == nil && (length < 1 || length > s.limit-s.read) {
			return fmt.Errorf("%w: %s records: record %d has a bad length", ErrCorrupt, codecName(src.codec), i)
		}
		if s.err != nil {
			return fmt.Errorf("%s records: %w", codecName(src.codec), s.err)
		}
		rec.resize(int(length))
		if s.readFull(rec.b); s.err != nil {
			return fmt.Errorf("%s records: %w", codecName(src.codec), s.err)
		}
		r, err := parseRecord(rec.b, h)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// ScanRecords calls fn for each record of one whole batch, as Records
// does, but reads past keys, values and headers without holding them: a
// lookup by offset or timestamp takes no more memory for a batch of
// 200 MiB records than for one of 100-byte records.
func ScanRecords(batch []byte, fn func(RecordInfo) bool) error {
	src, err := openRecords(batch)
	if err != nil {
		return err
	}
	defer src.close()
	h, s, codec := src.h, src.stream, src.codec
	if s == nil {
		return walkRecords(src.plain, h, func(r Record) bool {
			return fn(RecordInfo{Attributes: r.Attributes, Offset: r.Offset, Timestamp: r.Timestamp, KeySize: bytesLen(r.Key), ValueSize: bytesLen(r.Value)})
		})
	}
	for i := int32(0); i < h.RecordCount; i++ {
		malformed := func() error {
			return fmt.Errorf("%w: %s records: record %d is malformed", ErrInvalidRecord, codecName(codec), i)
		}
		length := s.varint()
		if s.err == nil && length < 1 {
			return malformed()
		}
		start := s.read
		left := func() int64 { return length - (s.read - start) }
		ri := RecordInfo{Attributes: int8(s.byte())}
		tsDelta, offDelta := s.varint(), s.varint()
		keySize := s.varint()
		if s.err == nil && (keySize < -1 || keySize > left()) {
			return malformed()
		}
		s.skip(max(keySize, 0))
		valueSize := s.varint()
		if s.err == nil && (valueSize < -1 || valueSize > left()) {
			return malformed()
		}
		s.skip(max(valueSize, 0))
		if s.err == nil && left() < 1 { // the headers take at least their count
			return malformed()
		}
		if s.skip(left()); s.err != nil {
			return fmt.Errorf("%s records: %w", codecName(codec), s.err)
		}
		ri.KeySize, ri.ValueSize = int(keySize), int(valueSize)
		ri.Offset, ri.Timestamp = h.BaseOffset+offDelta, h.BaseTimestamp+tsDelta
		if h.LogAppendTime() {
			ri.Timestamp = h.MaxTimestamp
		}
		if !fn(ri) {
			return nil
		}
	}
	return nil
}

// recordSource is a batch's records opened for reading: plain bytes (an
// uncompressed batch, or a raw snappy block, which only decodes whole) or
// a stream out of a decoder. close gives back what opening took.
type recordSource struct {
	h      Header
	codec  int
	plain  []byte        // the records, when not streaming
	stream *recordStream // the records as they decompress, or nil
	ws     *workspace    // the budgeted memory, nil for an uncompressed batch
	frees  []func()
}

func openRecords(batch []byte) (src recordSource, err error) {
	h, body, err := batchBody(batch)
	if err != nil {
		return src, err
	}
	src = recordSource{h: h, codec: h.Compression(), plain: body}
	if src.codec == CompressionNone {
		return src, nil
	}
	src.ws = newWorkspace()
	defer func() {
		if err != nil {
			src.close()
		}
	}()
	if isRawSnappy(src.codec, body) {
		raw, err := decodeSnappyRaw(body, src.ws)
		if err != nil {
			return src, err
		}
		src.plain = raw.b
		src.frees = append(src.frees, raw.free)
		return src, nil
	}
	r, release, err := openStream(src.codec, body, src.ws)
	if err != nil {
		return src, err
	}
	src.frees = append(src.frees, release)
	br := streamBufs.Get().(*bufio.Reader)
	br.Reset(r)
	src.frees = append(src.frees, func() { br.Reset(nil); streamBufs.Put(br) })
	src.stream = &recordStream{r: br, limit: maxDecompressed(src.codec, len(body))}
	return src, nil
}

func (src *recordSource) close() {
	for i := len(src.frees) - 1; i >= 0; i-- {
		src.frees[i]()
	}
	src.frees = nil
	if src.ws != nil {
		src.ws.done()
		src.ws = nil
	}
}

// batchBody parses the header of one whole batch and returns its records.
func batchBody(batch []byte) (Header, []byte, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return h, nil, err
	}
	if h.TotalSize() > int64(len(batch)) {
		return h, nil, fmt.Errorf("%w: batch claims %d bytes, %d given", ErrCorrupt, h.TotalSize(), len(batch))
	}
	return h, batch[HeaderSize:h.TotalSize()], nil
}

// walkRecords calls fn for each of the header's records in body
// (uncompressed, in memory), which Key and Value then alias.
func walkRecords(body []byte, h Header, fn func(Record) bool) error {
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

func bytesLen(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
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
