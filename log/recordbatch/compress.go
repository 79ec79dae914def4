package recordbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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

// wholeBytes is the size under which records are compressed in one call
// rather than streamed: producers' batches (16 KiB by default in the Java
// client, up to 1 MiB in franz-go) take the path they always took.
const wholeBytes = 1 << 20

// Encoder settings, chosen as Kafka's own producer and broker write these
// codecs, and measured (TestEncoderChargeCoversWhatItHolds):
//   - zstd streams with a 2 MiB window, what zstd level 3 (Kafka's and
//     librdkafka's default) uses: an encoder takes 5.7-6.1 MiB, where the
//     library's default 8 MiB window takes 17.7 MiB.
//   - lz4 with 64 KiB blocks, as Kafka's KafkaLZ4BlockOutputStream: an
//     encoder takes 0.4 MiB, where the library's 4 MiB blocks take 8.3.
//   - snappy in xerial framing with 32 KiB blocks, as snappy-java's
//     SnappyOutputStream that Kafka uses: every client reads it, and it
//     streams, where one raw block must be held whole to decode.
//   - gzip at the default level: an encoder takes 1.05 MiB.
const (
	zstdEncoderWindow = 2 << 20
	zstdEncoderBytes  = 7 << 20
	gzipEncoderBytes  = 5 << 18 // 1.25 MiB
	xerialBlockSize   = 32 << 10
)

var (
	// zstdEnc compresses records held whole (under wholeBytes).
	zstdEnc = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdEncoderWindow))
		if err != nil {
			panic(err)
		}
		return e
	})
	zstdWriters = sync.Pool{New: func() any {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdEncoderWindow))
		if err != nil {
			panic(err)
		}
		return e
	}}
	gzipWriters   = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Writers    = sync.Pool{New: func() any { w := lz4.NewWriter(nil); _ = w.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); return w }}
	xerialWriters = sync.Pool{New: func() any { return new(xerialWriter) }}
	chunks        = sync.Pool{New: func() any { b := make([]byte, wholeBytes); return &b }}
)

// errOutputFull: the recompressed batch passed its cap.
var errOutputFull = errors.New("recompressed batch passes its cap")

// Recompress returns batch with its records compressed with codec, as
// Kafka does for a topic whose compression.type names a codec: the header
// keeps every field but the codec bits, the length and the CRC, and the
// records keep their bytes. A batch already in codec is returned as is.
// The batch must be valid.
//
// The records stream from the decoder to the encoder and are never held
// decompressed. As Kafka checks a recompressed batch against
// max.message.bytes again (RecordTooLargeException), the result may not
// exceed maxBatchBytes: past it Recompress stops and returns
// ErrBatchTooLarge (MESSAGE_TOO_LARGE). Its working memory, the batch
// built included, is charged to the decompression budget while it runs;
// the batch returned is the caller's, no larger than maxBatchBytes.
func Recompress(batch []byte, codec int, maxBatchBytes int32) ([]byte, error) {
	h, body, err := batchBody(batch)
	if err != nil {
		return nil, err
	}
	if h.Compression() == codec {
		return batch, nil
	}
	if codec < CompressionNone || codec > CompressionZstd {
		return nil, fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
	}
	ws := newWorkspace()
	defer ws.done()
	src, release, err := openStream(h.Compression(), body, ws)
	if err != nil {
		return nil, err
	}
	defer release()

	out := &output{buf: buffer{ws: ws}, limit: int(maxBatchBytes)}
	// A first guess: the batch as it came.
	out.buf.reserve(min(HeaderSize+len(body), out.limit), out.limit)
	if _, err := out.Write(batch[:HeaderSize]); err != nil {
		return nil, tooLarge(codec, maxBatchBytes)
	}
	limited := &limitedReader{r: src, left: maxDecompressed(h.Compression(), len(body))}
	if err := encode(codec, out, limited, ws); err != nil {
		if errors.Is(err, errOutputFull) {
			return nil, tooLarge(codec, maxBatchBytes)
		}
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupportedCompression) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: recompressing %s records as %s: %v", ErrCorrupt, codecName(h.Compression()), codecName(codec), err)
	}
	b := out.buf.b
	attrs := uint16(h.Attributes)&^compressionMask | uint16(codec)
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[attributesCRCStart:], castagnoli))
	return b, nil
}

func tooLarge(codec int, maxBatchBytes int32) error {
	return fmt.Errorf("%w: compressed with %s the batch exceeds max.message.bytes %d", ErrBatchTooLarge, codecName(codec), maxBatchBytes)
}

// encode compresses what src holds with codec into w. Records that fit
// in one chunk are compressed whole, as they always were; larger ones
// stream through the encoder a chunk at a time.
func encode(codec int, w *output, src io.Reader, ws *workspace) error {
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	n, err := io.ReadFull(src, *chunk)
	whole := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !whole {
		return err
	}
	if whole && codec == CompressionZstd {
		// EncodeAll writes one single-segment frame, whose window is
		// the content size: what franz-go writes too.
		w.buf.reserve(min(n/2+64, w.limit-len(w.buf.b)), w.limit)
		w.buf.b = zstdEnc().EncodeAll((*chunk)[:n], w.buf.b)
		if len(w.buf.b) > w.limit {
			return errOutputFull
		}
		return nil
	}
	enc, release := newEncoder(codec, w, ws)
	defer release()
	if _, err := enc.Write((*chunk)[:n]); err != nil {
		return err
	}
	if !whole {
		// Only Write: lz4's ReadFrom cannot follow a Write, and the
		// chunk is all the buffer the copy needs.
		if _, err := io.CopyBuffer(struct{ io.Writer }{enc}, src, *chunk); err != nil {
			return err
		}
	}
	return enc.Close()
}

// newEncoder returns a pooled encoder for codec writing to w, its memory
// charged to ws; release gives both back.
func newEncoder(codec int, w io.Writer, ws *workspace) (enc io.WriteCloser, release func()) {
	switch codec {
	case CompressionGzip:
		took := ws.charge(gzipEncoderBytes)
		z := gzipWriters.Get().(*gzip.Writer)
		z.Reset(w)
		return z, func() { z.Reset(nil); gzipWriters.Put(z); ws.uncharge(took) }
	case CompressionSnappy:
		z := xerialWriters.Get().(*xerialWriter)
		z.reset(w)
		return z, func() { z.reset(nil); xerialWriters.Put(z) }
	case CompressionLZ4:
		z := lz4Writers.Get().(*lz4.Writer)
		z.Reset(w)
		return z, func() { z.Reset(nil); lz4Writers.Put(z) }
	case CompressionZstd:
		took := ws.charge(zstdEncoderBytes)
		z := zstdWriters.Get().(*zstd.Encoder)
		z.Reset(w)
		return z, func() { z.Reset(nil); zstdWriters.Put(z); ws.uncharge(took) }
	}
	return nopCloser{w}, func() {}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// output collects a recompressed batch in a buffer charged to the budget
// as it grows, and refuses to grow past limit.
type output struct {
	buf   buffer
	limit int
}

func (o *output) Write(p []byte) (int, error) {
	if len(o.buf.b)+len(p) > o.limit {
		return 0, errOutputFull
	}
	o.buf.reserve(len(p), o.limit)
	o.buf.b = append(o.buf.b, p...)
	return len(p), nil
}

// limitedReader fails once more than left bytes are read: a batch past
// MaxDecompressedBytes is refused when recompressed as when validated.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return n, errTooBig
	}
	return n, err
}

// xerialWriter writes snappy in xerial framing (snappy-java's
// SnappyOutputStream, what Kafka's producer and broker write): a header
// of magic, version 1 and compatible version 1, then raw snappy blocks of
// up to xerialBlockSize input bytes, each after its big-endian length.
type xerialWriter struct {
	w       io.Writer
	started bool
	block   []byte // input waiting for the next block
	encoded []byte // the next block's length and bytes
}

func (x *xerialWriter) reset(w io.Writer) {
	x.w, x.started, x.block = w, false, x.block[:0]
}

func (x *xerialWriter) Write(p []byte) (int, error) {
	if err := x.header(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if x.block == nil {
			x.block = make([]byte, 0, xerialBlockSize)
		}
		take := min(len(p), xerialBlockSize-len(x.block))
		x.block = append(x.block, p[:take]...)
		p = p[take:]
		if len(x.block) == xerialBlockSize {
			if err := x.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (x *xerialWriter) Close() error {
	if err := x.header(); err != nil {
		return err
	}
	if len(x.block) > 0 {
		return x.flush()
	}
	return nil
}

func (x *xerialWriter) header() error {
	if x.started {
		return nil
	}
	x.started = true
	var h [16]byte
	copy(h[:], xerialMagic)
	binary.BigEndian.PutUint32(h[8:], 1)
	binary.BigEndian.PutUint32(h[12:], 1)
	_, err := x.w.Write(h[:])
	return err
}

func (x *xerialWriter) flush() error {
	if need := 4 + s2.MaxEncodedLen(xerialBlockSize); cap(x.encoded) < need {
		x.encoded = make([]byte, need)
	}
	enc := s2.EncodeSnappy(x.encoded[4:cap(x.encoded)], x.block)
	binary.BigEndian.PutUint32(x.encoded, uint32(len(enc)))
	x.block = x.block[:0]
	_, err := x.w.Write(x.encoded[:4+len(enc)])
	return err
}

// compressInto appends records compressed with codec to *out, for
// batches built in memory (the cleaner's retained records).
func compressInto(out *[]byte, codec int, records []byte) error {
	switch codec {
	case CompressionNone:
		*out = append(*out, records...)
		return nil
	case CompressionZstd:
		*out = zstdEnc().EncodeAll(records, *out)
		return nil
	case CompressionGzip, CompressionSnappy, CompressionLZ4:
		ws := newWorkspace()
		defer ws.done()
		w := &appendWriter{out}
		enc, release := newEncoder(codec, w, ws)
		defer release()
		if _, err := enc.Write(records); err != nil {
			return fmt.Errorf("%s: %w", codecName(codec), err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("%s: %w", codecName(codec), err)
		}
		return nil
	}
	return fmt.Errorf("%w: codec %d", ErrUnsupportedCompression, codec)
}

// appendWriter appends what is written to a slice.
type appendWriter struct{ b *[]byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	*a.b = append(*a.b, p...)
	return len(p), nil
}
