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

// errTooBig: a batch's records expand past the decompression bound. It is
// a batch too large (MESSAGE_TOO_LARGE, which producers do not retry),
// not a corrupt one (CORRUPT_MESSAGE, which they retry for ever).
var errTooBig = fmt.Errorf("%w: its records expand past the decompression limit", ErrBatchTooLarge)

// MaxDecompressedBytes bounds what one batch may expand to. Kafka sets no
// such bound; this one only stops decompression bombs (a 1 MiB gzip batch
// of zeros expands to 1 GiB) and is far above what a producer's batch
// holds (batch.size, ProducerBatchMaxBytes).
const MaxDecompressedBytes = 256 << 20

// maxDecompressed bounds what a compressed batch of n bytes may expand to.
// Snappy cannot expand more than about 22:1 by its format, so a larger
// claim is a forged block; the other codecs get MaxDecompressedBytes.
func maxDecompressed(codec, n int) int64 {
	if codec == CompressionSnappy {
		return min(max(32*int64(n), 64<<10), MaxDecompressedBytes)
	}
	return MaxDecompressedBytes
}

var (
	gzipPool sync.Pool // *gzip.Reader
	lz4Pool  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	// zstdStreams decode one stream at a time; see window.go for the
	// memory a frame makes them take.
	zstdStreams = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			panic(err)
		}
		return d
	}}
)

// isRawSnappy reports whether snappy records are one raw block rather
// than xerial-framed blocks.
func isRawSnappy(codec int, data []byte) bool {
	return codec == CompressionSnappy && !bytes.HasPrefix(data, xerialMagic)
}

// openStream returns a reader of a batch's records (data, compressed with
// codec), decompressed as they are read: a raw snappy block is decoded
// whole, xerial snappy one block at a time. The memory the decoder will
// take is charged to ws first. release gives the decoder back once the
// caller is done reading.
func openStream(codec int, data []byte, ws *workspace) (r io.Reader, release func(), err error) {
	switch codec {
	case CompressionNone:
		return bytes.NewReader(data), func() {}, nil
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
	case CompressionSnappy:
		s, err := newSnappyReader(data, ws)
		if err != nil {
			return nil, nil, err
		}
		return s, s.block.free, nil
	case CompressionLZ4:
		took := ws.charge(lz4DecoderBytes(data))
		z := lz4Pool.Get().(*lz4.Reader)
		z.Reset(bytes.NewReader(data))
		return z, func() {
			z.Reset(nil) // gives its blocks back to lz4's pools
			lz4Pool.Put(z)
			ws.uncharge(took)
		}, nil
	case CompressionZstd:
		need := zstdDecoderBytes(data)
		took := ws.charge(need)
		z := zstdStreams.Get().(*zstd.Decoder)
		release := func() {
			z.Reset(nil)
			if need <= zstdPooledWindow+2*(zstdBlockMax+32) {
				zstdStreams.Put(z)
			} else {
				// Its ring is as large as the frame's window: let
				// it go rather than keep it unaccounted in the pool.
				z.Close()
			}
			ws.uncharge(took)
		}
		if err := z.Reset(bytes.NewReader(data)); err != nil {
			release()
			return nil, nil, fmt.Errorf("%w: zstd records do not decompress: %v", ErrCorrupt, err)
		}
		return z, release, nil
	}
	return nil, nil, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
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

// snappyReader decodes snappy records a block at a time into a buffer
// charged to the budget: xerial-framed blocks one by one (the Java client
// writes 32 KiB blocks), or a raw block whole, since a raw block cannot
// be decoded in parts.
type snappyReader struct {
	data   []byte // blocks not decoded yet
	xerial bool
	block  buffer // the block decoded last
	unread []byte // what is left of it
	total  int64  // bytes decoded so far
	limit  int64
}

func newSnappyReader(data []byte, ws *workspace) (*snappyReader, error) {
	r := &snappyReader{data: data, block: pooledBuffer(ws), limit: maxDecompressed(CompressionSnappy, len(data))}
	if bytes.HasPrefix(data, xerialMagic) {
		// Header: magic, version and compatible version (int32
		// each), then blocks of a big-endian int32 length and a raw
		// snappy block.
		if len(data) < len(xerialMagic)+8 {
			r.block.free()
			return nil, fmt.Errorf("%w: snappy records do not decompress: short xerial header", ErrCorrupt)
		}
		r.data, r.xerial = data[len(xerialMagic)+8:], true
	}
	return r, nil
}

func (r *snappyReader) Read(p []byte) (int, error) {
	for len(r.unread) == 0 {
		if len(r.data) == 0 {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.data = nil
			return 0, err // the reader's caller says what was read
		}
	}
	n := copy(p, r.unread)
	r.unread = r.unread[n:]
	return n, nil
}

// next decodes the next block.
func (r *snappyReader) next() error {
	block := r.data
	r.data = nil
	if r.xerial {
		if len(block) < 4 {
			return errors.New("short xerial block length")
		}
		n := binary.BigEndian.Uint32(block)
		block = block[4:]
		if uint64(n) > uint64(len(block)) {
			return fmt.Errorf("xerial block of %d bytes, %d left", n, len(block))
		}
		block, r.data = block[:n], block[n:]
	}
	n, err := s2.DecodedLen(block)
	if err != nil {
		return err
	}
	if r.total+int64(n) > r.limit {
		return fmt.Errorf("%w (%d bytes)", errTooBig, r.limit)
	}
	r.block.resize(n)
	if _, err := s2.Decode(r.block.b, block); err != nil {
		return err
	}
	r.total += int64(n)
	r.unread = r.block.b
	return nil
}

// decodeSnappyRaw decodes a raw snappy block whole into a buffer charged
// to ws; the caller frees it.
func decodeSnappyRaw(data []byte, ws *workspace) (buffer, error) {
	r := snappyReader{data: data, block: pooledBuffer(ws), limit: maxDecompressed(CompressionSnappy, len(data))}
	if err := r.next(); err != nil {
		r.block.free()
		if errors.Is(err, errTooBig) {
			return buffer{}, err
		}
		return buffer{}, fmt.Errorf("%w: snappy records do not decompress: %v", ErrCorrupt, err)
	}
	return r.block, nil
}
