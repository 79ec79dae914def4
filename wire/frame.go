package wire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire/membudget"
)

// minRequestHeader is the smallest request header: api key, api version,
// correlation id and a client id length.
const minRequestHeader = 2 + 2 + 4 + 2

// ErrFrameTooLarge: a frame claims more than socket.request.max.bytes.
var ErrFrameTooLarge = errors.New("request frame larger than socket.request.max.bytes")

// ErrBadFrame: a frame size that cannot hold a request header.
var ErrBadFrame = errors.New("malformed request frame")

// Frame buffers are recycled in size classes (16 KiB, 32 KiB, ... 16 MiB)
// once their request was served: producers batching up to 1 MiB per
// partition send frames of several MiB, and allocating (and faulting in)
// each afresh costs more than the rest of the request. A pooled buffer
// was allocated for bytes that once arrived, so taking one never
// allocates a size a frame merely claims.
const (
	minFrameClass  = 14 // 16 KiB
	maxFrameClass  = 24 // 16 MiB
	maxPooledFrame = 1 << maxFrameClass
)

// frameBufs[c] holds buffers of capacity at least 1<<c. Only the smallest
// class makes new buffers; larger ones hold only buffers given back.
var frameBufs [maxFrameClass + 1]sync.Pool

func init() {
	frameBufs[minFrameClass].New = func() any { b := make([]byte, 0, 1<<minFrameClass); return &b }
}

// frameClass is the smallest class whose buffers hold size bytes.
func frameClass(size int) int {
	c := minFrameClass
	for c < maxFrameClass && 1<<c < size {
		c++
	}
	return c
}

// pooledFrame returns a recycled buffer that holds size bytes, or nil.
func pooledFrame(size int) *[]byte {
	if size > maxPooledFrame {
		return nil
	}
	b, _ := frameBufs[frameClass(size)].Get().(*[]byte)
	return b
}

// putFrame recycles a frame buffer into the largest class it fills;
// outsized ones are dropped.
func putFrame(b *[]byte) {
	if b == nil || cap(*b) < 1<<minFrameClass || cap(*b) > 2*maxPooledFrame {
		return
	}
	c := maxFrameClass
	for c > minFrameClass && cap(*b) < 1<<c {
		c--
	}
	*b = (*b)[:0]
	frameBufs[c].Put(b)
}

// How a frame's bytes are held while it arrives. A frame that a recycled
// buffer holds is read straight into it. Otherwise its first chunkSize
// bytes go to a buffer that grows as they arrive and the rest to fixed
// chunks, copied into one buffer only once the frame is complete: a frame
// that never completes (a client that claims 100 MiB and sends half) costs
// the bytes it sent and no more, and growing never leaves copies behind
// for the garbage collector.
const (
	chunkSize = 1 << 20
	// readStep is how far ahead of the bytes that arrived a frame takes
	// from the request budget.
	readStep = 256 << 10
	// smallFrame: a connection with nothing else in flight may read a
	// frame this small without waiting for the budget, so Metadata,
	// heartbeats and commits go on while large requests wait.
	smallFrame = 64 << 10
)

var frameChunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// frameReader reads size-prefixed frames. It keeps a partly read frame
// across read errors, so a read deadline (the idle check) can interrupt
// it and the next call resumes where it stopped.
//
// With a budget, the bytes of each frame are taken from it as they arrive
// (readStep ahead) and held until the request was served
// (releaseFrame); a frame that does not fit waits, which stops reading
// from that connection.
type frameReader struct {
	r   io.Reader
	max int32

	budget *membudget.Budget // nil: unbounded
	// waitCtx ends a wait for the budget (the connection closing).
	waitCtx context.Context
	// idle reports whether the connection has no other request in
	// flight (small frames then skip the budget's wait).
	idle func() bool

	sizeBuf [4]byte
	sizeN   int       // bytes of sizeBuf filled
	size    int       // claimed frame size, once sizeN == 4
	head    *[]byte   // the frame, or its first chunkSize bytes
	chunks  []*[]byte // the rest, chunkSize each
	filled  int       // bytes of the frame arrived
	held    *membudget.Holder
}

// next returns the next whole frame and the budget it holds (nil without
// a budget). Both belong to the caller, who gives them back with
// releaseFrame once done.
func (f *frameReader) next() (*[]byte, *membudget.Holder, error) {
	for f.sizeN < 4 {
		n, err := f.r.Read(f.sizeBuf[f.sizeN:])
		f.sizeN += n
		if f.sizeN == 4 {
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) && f.sizeN > 0 {
				return nil, nil, io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
	if f.head == nil {
		size := int32(binary.BigEndian.Uint32(f.sizeBuf[:]))
		switch {
		case size > f.max:
			return nil, nil, fmt.Errorf("%w: %d bytes > %d", ErrFrameTooLarge, size, f.max)
		case size < minRequestHeader:
			return nil, nil, fmt.Errorf("%w: size %d", ErrBadFrame, size)
		}
		f.size, f.filled = int(size), 0
		if f.head = pooledFrame(f.size); f.head == nil {
			f.head = frameBufs[minFrameClass].Get().(*[]byte)
		}
		*f.head = (*f.head)[:0]
		if f.budget != nil {
			f.held = f.budget.Holder()
			if f.size <= smallFrame && f.idle != nil && f.idle() {
				f.held.Force(int64(f.size))
			}
		}
	}
	for f.filled < f.size {
		want := min(f.size, f.filled+readStep)
		if f.held != nil && f.held.Held() < int64(want) {
			if err := f.held.Acquire(f.waitCtx, int64(want)-f.held.Held()); err != nil {
				return nil, nil, err
			}
		}
		buf, dst := f.space(want)
		n, err := f.r.Read(dst)
		*buf = (*buf)[:len(*buf)+n]
		f.filled += n
		if err != nil && f.filled < f.size {
			if errors.Is(err, io.EOF) {
				return nil, nil, io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
	frame, held := f.assemble(), f.held
	f.head, f.chunks, f.held = nil, nil, nil
	f.sizeN = 0
	return frame, held, nil
}

// headLimit is how many of the frame's bytes go to head.
func (f *frameReader) headLimit() int {
	if cap(*f.head) >= f.size {
		return f.size
	}
	return min(f.size, chunkSize)
}

// space returns the buffer the next bytes go to and the free room in it
// (up to frame offset want); after a read of n bytes into the room, the
// caller extends the buffer by n.
func (f *frameReader) space(want int) (buf *[]byte, room []byte) {
	if limit := f.headLimit(); f.filled < limit {
		want = min(want, limit)
		if b := *f.head; cap(b) < want {
			grown := make([]byte, len(b), min(limit, max(2*cap(b), want)))
			copy(grown, b)
			putFrame(f.head)
			f.head = &grown
		}
		b := *f.head
		return f.head, b[len(b):want]
	}
	off := (f.filled - f.headLimit()) % chunkSize
	if off == 0 {
		c := frameChunks.Get().(*[]byte)
		*c = (*c)[:0]
		f.chunks = append(f.chunks, c)
	}
	c := f.chunks[len(f.chunks)-1]
	return c, (*c)[off:min(chunkSize, off+want-f.filled)]
}

// assemble returns the whole frame in one buffer, copying the chunks of a
// frame that outgrew its head.
func (f *frameReader) assemble() *[]byte {
	if len(f.chunks) == 0 {
		return f.head
	}
	out := pooledFrame(f.size)
	if out == nil {
		b := make([]byte, 0, f.size)
		out = &b
	}
	b := append((*out)[:0], *f.head...)
	for _, c := range f.chunks {
		b = append(b, *c...)
		*c = (*c)[:0]
		frameChunks.Put(c)
	}
	*out = b
	putFrame(f.head)
	return out
}

// discard gives back a partly read frame (the connection is closing).
func (f *frameReader) discard() {
	if f.head != nil {
		putFrame(f.head)
	}
	for _, c := range f.chunks {
		*c = (*c)[:0]
		frameChunks.Put(c)
	}
	if f.held != nil {
		f.held.ReleaseAll()
	}
	f.head, f.chunks, f.held = nil, nil, nil
}

// releaseFrame gives back a frame's buffer and budget once its request
// was served.
func releaseFrame(b *[]byte, held *membudget.Holder) {
	putFrame(b)
	if held != nil {
		held.ReleaseAll()
	}
}

// ParseRequest decodes the request header at the start of frame (the bytes
// after the size prefix). Body aliases frame.
//
// The header version follows from the API key and version: v2 (with tagged
// fields) for flexible versions, else v1, as kmsg's tables say. A key or
// version kmsg does not know is decoded as header v1 with KnownKey false.
func ParseRequest(frame []byte) (*Request, error) {
	if len(frame) < minRequestHeader {
		return nil, fmt.Errorf("%w: %d bytes cannot hold a request header", ErrBadFrame, len(frame))
	}
	req := &Request{
		APIKey:        int16(binary.BigEndian.Uint16(frame[0:])),
		APIVersion:    int16(binary.BigEndian.Uint16(frame[2:])),
		CorrelationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	if req.APIVersion < 0 {
		return nil, fmt.Errorf("%w: negative api version %d", ErrBadFrame, req.APIVersion)
	}
	flexible := false
	if kr := kmsg.RequestForKey(req.APIKey); kr != nil && req.APIVersion <= kr.MaxVersion() {
		req.KnownKey = true
		kr.SetVersion(req.APIVersion)
		flexible = kr.IsFlexible()
	}
	rest := frame[8:]
	idLen := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	switch {
	case idLen == -1:
	case idLen < -1 || int(idLen) > len(rest):
		return nil, fmt.Errorf("%w: client id length %d with %d bytes left", ErrBadFrame, idLen, len(rest))
	default:
		req.ClientID = string(rest[:idLen])
		req.HasClientID = true
		rest = rest[idLen:]
	}
	if flexible {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return nil, fmt.Errorf("%w: request header tags: %v", ErrBadFrame, err)
		}
	}
	req.Body = rest
	return req, nil
}

// skipTags skips a tagged-field section.
func skipTags(b []byte) ([]byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		if _, b, err = uvarint(b); err != nil { // tag
			return nil, err
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("tag of %d bytes with %d left", size, len(b))
		}
		b = b[size:]
	}
	return b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errors.New("bad uvarint")
	}
	return v, b[n:], nil
}
