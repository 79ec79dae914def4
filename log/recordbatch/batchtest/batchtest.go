// Package batchtest builds record batches the way producers do, for tests
// of the log and the broker.
package batchtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Record is one record of a batch.
type Record struct {
	Key, Value []byte // nil is null
	Timestamp  int64  // absolute, ms
	Headers    []Header
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Codecs as in the batch attributes.
const (
	None = iota
	Gzip
	Snappy
	LZ4
	Zstd
	// SnappyXerial is snappy in the Java client's xerial framing (codec 2
	// on the wire).
	SnappyXerial = 100
)

// Batch describes a batch to build.
type Batch struct {
	BaseOffset    int64
	Codec         int
	ProducerID    int64 // -1 unless idempotent
	ProducerEpoch int16
	BaseSequence  int32
	Transactional bool
	Records       []Record
}

// Plain returns a non-idempotent batch of records with the given values.
func Plain(ts int64, values ...string) Batch {
	b := Batch{ProducerID: -1, BaseSequence: -1}
	for i, v := range values {
		b.Records = append(b.Records, Record{Value: []byte(v), Timestamp: ts + int64(i)})
	}
	return b
}

// Bytes encodes the batch with a valid CRC.
func (b Batch) Bytes() []byte {
	var recs []byte
	baseTs, maxTs := int64(-1), int64(-1)
	if len(b.Records) > 0 {
		baseTs = b.Records[0].Timestamp
	}
	for _, r := range b.Records {
		if r.Timestamp < baseTs {
			baseTs = r.Timestamp
		}
		maxTs = max(maxTs, r.Timestamp)
	}
	for i, r := range b.Records {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, r.Timestamp-baseTs)
		body = binary.AppendVarint(body, int64(i))
		body = appendBytes(body, r.Key)
		body = appendBytes(body, r.Value)
		body = binary.AppendVarint(body, int64(len(r.Headers)))
		for _, h := range r.Headers {
			body = binary.AppendVarint(body, int64(len(h.Key)))
			body = append(body, h.Key...)
			body = appendBytes(body, h.Value)
		}
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	codec := b.Codec
	switch b.Codec {
	case Gzip:
		var w bytes.Buffer
		z := gzip.NewWriter(&w)
		z.Write(recs)
		z.Close()
		recs = w.Bytes()
	case Snappy:
		recs = s2.EncodeSnappy(nil, recs)
	case SnappyXerial:
		codec = Snappy
		block := s2.EncodeSnappy(nil, recs)
		out := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		recs = append(out, block...)
	case LZ4:
		var w bytes.Buffer
		z := lz4.NewWriter(&w)
		z.Write(recs)
		z.Close()
		recs = w.Bytes()
	case Zstd:
		z, _ := zstd.NewWriter(nil)
		recs = z.EncodeAll(recs, nil)
		z.Close()
	}
	return b.frame(codec, len(b.Records), baseTs, maxTs, recs)
}

// frame puts the batch header before records (already compressed).
func (b Batch) frame(codec, count int, baseTs, maxTs int64, recs []byte) []byte {
	attrs := uint16(codec)
	if b.Transactional {
		attrs |= 0x10
	}
	out := make([]byte, 0, 61+len(recs))
	out = binary.BigEndian.AppendUint64(out, uint64(b.BaseOffset))
	out = binary.BigEndian.AppendUint32(out, uint32(49+len(recs)))
	out = binary.BigEndian.AppendUint32(out, 0) // leader epoch
	out = append(out, 2)
	out = binary.BigEndian.AppendUint32(out, 0) // crc, below
	out = binary.BigEndian.AppendUint16(out, attrs)
	out = binary.BigEndian.AppendUint32(out, uint32(max(count-1, 0)))
	out = binary.BigEndian.AppendUint64(out, uint64(baseTs))
	out = binary.BigEndian.AppendUint64(out, uint64(maxTs))
	out = binary.BigEndian.AppendUint64(out, uint64(b.ProducerID))
	out = binary.BigEndian.AppendUint16(out, uint16(b.ProducerEpoch))
	out = binary.BigEndian.AppendUint32(out, uint32(b.BaseSequence))
	out = binary.BigEndian.AppendUint32(out, uint32(count))
	out = append(out, recs...)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

// Zeros returns a batch of one record whose value is n zero bytes,
// compressed with codec (gzip, lz4 or zstd) as it is generated, so a
// test can build a batch that expands far beyond memory it would want
// to hold.
func Zeros(codec int, n int64) []byte {
	var w bytes.Buffer
	var z io.WriteCloser
	switch codec {
	case Gzip:
		z, _ = gzip.NewWriterLevel(&w, gzip.BestSpeed)
	case LZ4:
		z = lz4.NewWriter(&w)
	case Zstd:
		z, _ = zstd.NewWriter(&w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	default:
		panic("batchtest.Zeros: codec does not stream")
	}
	var head []byte
	head = append(head, 0)               // attributes
	head = binary.AppendVarint(head, 0)  // timestamp delta
	head = binary.AppendVarint(head, 0)  // offset delta
	head = binary.AppendVarint(head, -1) // null key
	head = binary.AppendVarint(head, n)  // value length
	length := int64(len(head)) + n + 1   // and the header count
	z.Write(binary.AppendVarint(nil, length))
	z.Write(head)
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		z.Write(zeros[:min(left, int64(len(zeros)))])
	}
	z.Write([]byte{0}) // no headers
	z.Close()
	return Batch{ProducerID: -1, BaseSequence: -1}.frame(codec, 1, 0, 0, w.Bytes())
}
