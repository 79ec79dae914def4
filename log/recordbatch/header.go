// Package recordbatch reads and checks Kafka record batches (magic v2).
//
// A record batch is a fixed 61-byte header followed by its records, which
// may be compressed as a whole. The broker stores batches verbatim; this
// package only parses headers, checks CRC, lengths and record counts,
// patches the fields a broker may set (base offset, partition leader epoch,
// LogAppendTime), and recompresses a batch for a topic whose
// compression.type names a codec.
//
// It owns the process's decompression budget (budget.go). Compressed
// records are read as they stream out of their decoder, never held
// decompressed whole (but for a raw snappy block, which cannot be decoded
// in parts), and every decoder window, decoded block, record held for a
// callback and recompressed batch is charged to the budget before it is
// allocated: whatever clients send, reading inside batches holds no more
// than the budget at once, plus what one operation needs.
package recordbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte positions of the fields of a v2 batch header.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// HeaderSize is the size of a v2 batch header.
	HeaderSize = 61
	// LogOverhead is the part of the header not counted in batchLength
	// (base offset and the length itself).
	LogOverhead = 12
)

// Attribute bits.
const (
	compressionMask      = 0x07
	timestampTypeBit     = 0x08
	transactionalBit     = 0x10
	controlBit           = 0x20
	deleteHorizonSetBit  = 0x40
	attributesCRCStart   = offAttributes
	noProducerID         = -1
	noSequence           = -1
	maxCompressionCodecs = 4
)

// Compression codecs as numbered in the attributes.
const (
	CompressionNone   = 0
	CompressionGzip   = 1
	CompressionSnappy = 2
	CompressionLZ4    = 3
	CompressionZstd   = 4
)

var (
	// ErrCorrupt: the batch's framing, length or CRC is wrong
	// (CORRUPT_MESSAGE).
	ErrCorrupt = errors.New("corrupt record batch")
	// ErrUnsupportedCompression: unknown codec bits
	// (UNSUPPORTED_COMPRESSION_TYPE).
	ErrUnsupportedCompression = errors.New("unsupported compression type")
	// ErrBatchTooLarge: a batch exceeds max.message.bytes
	// (MESSAGE_TOO_LARGE).
	ErrBatchTooLarge = errors.New("record batch too large")
	// ErrInvalidRecord: records inside the batch are malformed or their
	// count does not match the header (INVALID_RECORD, or CORRUPT_MESSAGE
	// for a count mismatch as Kafka reports it).
	ErrInvalidRecord = errors.New("invalid record")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is a decoded v2 batch header.
type Header struct {
	BaseOffset           int64
	BatchLength          int32 // bytes after the length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// ParseHeader decodes the header at the start of b. It checks only that b
// holds a header and that the magic is 2; it does not check the CRC.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrCorrupt, len(b), HeaderSize)
	}
	h := Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(binary.BigEndian.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: magic %d, only v2 batches are supported", ErrCorrupt, h.Magic)
	}
	if h.BatchLength < HeaderSize-LogOverhead {
		return h, fmt.Errorf("%w: batch length %d shorter than a header", ErrCorrupt, h.BatchLength)
	}
	return h, nil
}

// TotalSize is the batch's size on the wire and on disk.
func (h Header) TotalSize() int64 { return int64(h.BatchLength) + LogOverhead }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression is the codec number of the batch.
func (h Header) Compression() int { return int(h.Attributes & compressionMask) }

// LogAppendTime reports whether the batch's timestamps are broker times.
func (h Header) LogAppendTime() bool { return h.Attributes&timestampTypeBit != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (h Header) Transactional() bool { return h.Attributes&transactionalBit != 0 }

// Control reports whether the batch is a control batch (commit/abort marker).
func (h Header) Control() bool { return h.Attributes&controlBit != 0 }

// Idempotent reports whether the batch carries a producer ID and sequence.
func (h Header) Idempotent() bool { return h.ProducerID >= 0 }

// LastSequence is the sequence number of the batch's last record, wrapping
// at MaxInt32 as Kafka's sequences do.
func (h Header) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return noSequence
	}
	s := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if s > int64(^uint32(0)>>1) {
		s -= int64(^uint32(0)>>1) + 1
	}
	return int32(s)
}

// CRCValid reports whether the CRC-32C over attributes..end matches.
// batch must be exactly one whole batch.
func CRCValid(batch []byte) bool {
	if len(batch) < HeaderSize {
		return false
	}
	return crc32.Checksum(batch[attributesCRCStart:], castagnoli) == binary.BigEndian.Uint32(batch[offCRC:])
}

// SetBaseOffset writes the base offset into the batch header in place.
// The CRC does not cover it.
func SetBaseOffset(batch []byte, base int64) {
	binary.BigEndian.PutUint64(batch[offBaseOffset:], uint64(base))
}

// SetLeaderEpoch writes the partition leader epoch in place (not CRC-covered).
func SetLeaderEpoch(batch []byte, epoch int32) {
	binary.BigEndian.PutUint32(batch[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch's timestamps as broker time ts and
// recomputes the CRC, as Kafka does for message.timestamp.type=LogAppendTime.
func SetLogAppendTime(batch []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(batch[offAttributes:]) | timestampTypeBit
	binary.BigEndian.PutUint16(batch[offAttributes:], attrs)
	binary.BigEndian.PutUint64(batch[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(batch[offCRC:], crc32.Checksum(batch[attributesCRCStart:], castagnoli))
}
