package recordbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// CodecByName maps a compression.type value to its codec number: ok is
// false for "producer", which keeps whatever the producer sent.
func CodecByName(name string) (codec int, ok bool) {
	switch name {
	case "uncompressed", "none":
		return CompressionNone, true
	case "gzip":
		return CompressionGzip, true
	case "snappy":
		return CompressionSnappy, true
	case "lz4":
		return CompressionLZ4, true
	case "zstd":
		return CompressionZstd, true
	}
	return 0, false
}

var zstdEnc = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	return e
})

// Recompress returns batch with its records compressed with codec, as
// Kafka does for a topic whose compression.type names a codec: the header
// keeps every field but the codec bits, the length and the CRC. A batch
// already in codec is returned as is. The batch must be valid.
func Recompress(batch []byte, codec int) ([]byte, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Compression() == codec {
		return batch, nil
	}
	records := batch[HeaderSize:h.TotalSize()]
	if h.Compression() != CompressionNone {
		raw, release, err := decompress(h.Compression(), records, int(maxDecompressed(h.Compression(), len(records))))
		if err != nil {
			return nil, err
		}
		defer release()
		records = raw
	}
	out := make([]byte, HeaderSize, HeaderSize+len(records)/2+64)
	copy(out, batch[:HeaderSize])
	if err := compressInto(&out, codec, records); err != nil {
		return nil, err
	}
	attrs := uint16(h.Attributes)&^compressionMask | uint16(codec)
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-LogOverhead))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[attributesCRCStart:], castagnoli))
	return out, nil
}

// compressInto appends records compressed with codec to *out.
func compressInto(out *[]byte, codec int, records []byte) error {
	switch codec {
	case CompressionNone:
		*out = append(*out, records...)
	case CompressionGzip:
		buf := bytes.NewBuffer(*out)
		w := gzip.NewWriter(buf)
		w.Write(records)
		if err := w.Close(); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		*out = buf.Bytes()
	case CompressionSnappy:
		*out = append(*out, s2.EncodeSnappy(nil, records)...)
	case CompressionLZ4:
		buf := bytes.NewBuffer(*out)
		w := lz4.NewWriter(buf)
		w.Write(records)
		if err := w.Close(); err != nil {
			return fmt.Errorf("lz4: %w", err)
		}
		*out = buf.Bytes()
	case CompressionZstd:
		*out = zstdEnc().EncodeAll(records, *out)
	default:
		return fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	return nil
}
