package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// xerialMagic opens snappy data framed the way the Java client writes it
// (xerial snappy-java's stream format); librdkafka and franz-go may write
// raw snappy blocks instead, so both are accepted.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

var errTooBig = errors.New("decompressed batch exceeds the size limit")

// MaxDecompressedBytes bounds what one gzip, lz4 or zstd batch may expand
// to. Kafka sets no such bound; this one only stops decompression bombs
// (a 1 MiB gzip batch of zeros expands to 1 GiB) and is far above what a
// producer's batch holds (batch.size, ProducerBatchMaxBytes).
const MaxDecompressedBytes = 256 << 20

// maxDecompressed bounds what a compressed batch of n bytes may expand to.
// Snappy cannot expand more than about 22:1 by its format, so a larger
// claim is a forged block; the streaming codecs get MaxDecompressedBytes.
func maxDecompressed(codec, n int) int {
	if codec == CompressionSnappy {
		return max(32*n, 64<<10)
	}
	return MaxDecompressedBytes
}

var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
	lz4Pool  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	// zstdStreams decode one stream at a time with bounded memory, for
	// validation; zstdDec decodes whole batches.
	zstdStreams = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			panic(err)
		}
		return d
	}}
	zstdDec = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(512<<20))
		if err != nil {
			panic(err)
		}
		return d
	})
)

// decompress expands a batch's records. The result is valid until release
// is called. limit bounds the output size.
func decompress(codec int, data []byte, limit int) (out []byte, release func(), err error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= 4<<20 {
			bufPool.Put(buf)
		}
	}
	switch codec {
	case CompressionGzip:
		err = gunzip(buf, data, limit)
	case CompressionSnappy:
		err = unsnappy(buf, data, limit)
	case CompressionLZ4:
		r := lz4Pool.Get().(*lz4.Reader)
		r.Reset(bytes.NewReader(data))
		err = readLimited(buf, r, limit)
		lz4Pool.Put(r)
	case CompressionZstd:
		var b []byte
		b, err = zstdDec().DecodeAll(data, buf.AvailableBuffer())
		if err == nil && len(b) > limit {
			err = errTooBig
		}
		buf.Write(b)
	default:
		err = fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	if err != nil {
		release()
		if errors.Is(err, ErrUnsupportedCompression) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %s records do not decompress: %v", ErrCorrupt, codecName(codec), err)
	}
	return buf.Bytes(), release, nil
}

// openStream returns a reader of the records of a gzip, lz4 or zstd
// batch, decompressed as they are read. release returns the decoder to
// its pool once the caller is done reading.
func openStream(codec int, data []byte) (r io.Reader, release func(), err error) {
	switch codec {
	case CompressionGzip:
		var z *gzip.Reader
		if v := gzipPool.Get(); v != nil {
			z = v.(*gzip.Reader)
			err = z.Reset(bytes.NewReader(data))
		} else {
			z, err = gzip.NewReader(bytes.NewReader(data))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: gzip records do not decompress: %v", ErrCorrupt, err)
		}
		return z, func() { gzipPool.Put(z) }, nil
	case CompressionLZ4:
		z := lz4Pool.Get().(*lz4.Reader)
		z.Reset(bytes.NewReader(data))
		return z, func() { lz4Pool.Put(z) }, nil
	case CompressionZstd:
		z := zstdStreams.Get().(*zstd.Decoder)
		if err := z.Reset(bytes.NewReader(data)); err != nil {
			zstdStreams.Put(z)
			return nil, nil, fmt.Errorf("%w: zstd records do not decompress: %v", ErrCorrupt, err)
		}
		return z, func() { z.Reset(nil); zstdStreams.Put(z) }, nil
	}
	return nil, nil, fmt.Errorf("%w: codec %d does not stream", ErrUnsupportedCompression, codec)
}

func codecName(c int) string {
	switch c {
	case CompressionGzip:
		return "gzip"
	case CompressionSnappy:
		return "snappy"
	case CompressionLZ4:
		return "lz4"
	case CompressionZstd:
		return "zstd"
	}
	return "uncompressed"
}

func gunzip(buf *bytes.Buffer, data []byte, limit int) error {
	var r *gzip.Reader
	if v := gzipPool.Get(); v != nil {
		r = v.(*gzip.Reader)
		if err := r.Reset(bytes.NewReader(data)); err != nil {
			return err
		}
	} else {
		var err error
		if r, err = gzip.NewReader(bytes.NewReader(data)); err != nil {
			return err
		}
	}
	defer gzipPool.Put(r)
	return readLimited(buf, r, limit)
}

func readLimited(buf *bytes.Buffer, r io.Reader, limit int) error {
	n, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return err
	}
	if n > int64(limit) {
		return errTooBig
	}
	return nil
}

func unsnappy(buf *bytes.Buffer, data []byte, limit int) error {
	if !bytes.HasPrefix(data, xerialMagic) {
		return snappyBlock(buf, data, limit)
	}
	// Header: magic, version and compatible version (int32 each), then
	// blocks of a big-endian int32 length and a raw snappy block.
	data = data[len(xerialMagic):]
	if len(data) < 8 {
		return errors.New("short xerial header")
	}
	data = data[8:]
	for len(data) > 0 {
		if len(data) < 4 {
			return errors.New("short xerial block length")
		}
		n := binary.BigEndian.Uint32(data)
		data = data[4:]
		if uint64(n) > uint64(len(data)) {
			return fmt.Errorf("xerial block of %d bytes, %d left", n, len(data))
		}
		if err := snappyBlock(buf, data[:n], limit-buf.Len()); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func snappyBlock(buf *bytes.Buffer, block []byte, limit int) error {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return err
	}
	if n > limit {
		return errTooBig
	}
	buf.Grow(n)
	out := buf.AvailableBuffer()[:n]
	if _, err := s2.Decode(out, block); err != nil {
		return err
	}
	buf.Write(out)
	return nil
}
