package wire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

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
// buffer holds is read straight into it. Otherwise its bytes go to chunks
// of one size (recycled 64 KiB buffers), copied into one buffer only once
// the frame is complete and longer than one chunk. So a frame that never
// completes (a client that claims 100 MiB and sends half) holds about what
// it sent; growing never copies; and any frame can take the chunks any
// other gave back, so a second flood reuses the memory of the first.
const (
	chunkClass = 16 // 64 KiB
	chunkSize  = 1 << chunkClass
	// readStep is how far ahead of the bytes that arrived a frame takes
	// from the request budget.
	readStep = 256 << 10
	// smallFrame: a connection with nothing else in flight may read a
	// frame this small without waiting for the budget, so Metadata,
	// heartbeats and commits go on while large requests wait.
	smallFrame = 64 << 10
)

// frameReader reads size-prefixed frames. It keeps a partly read frame
// across read errors, so a read deadline (the idle check) can interrupt
// it and the next call resumes where it stopped.
//
// With a budget, each frame takes from it the memory it stores its bytes
// in before reading them, and holds it until the request was served
// (releaseFrame); a frame that does not fit waits, which stops reading
// from that connection.
type frameReader struct {
	r   io.Reader
	max int32
	// rawSASL is set while the next frame is a raw SASL token, which may
	// be shorter than a request header.
	rawSASL bool

	budget *membudget.Budget // nil: unbounded
	// waitCtx ends a wait for the budget (the connection closing).
	waitCtx context.Context
	// idle reports whether the connection has no other request in
	// flight (small frames then skip the budget's wait).
	idle func() bool
	// peerGone reports whether the client has closed the connection
	// (nil: cannot tell without reading).
	peerGone func() bool

	sizeBuf [4]byte
	sizeN   int       // bytes of sizeBuf filled
	size    int       // claimed frame size, once sizeN == 4
	whole   *[]byte   // a recycled buffer that holds the whole frame, or nil
	chunks  []*[]byte // otherwise, the frame's bytes so far, chunkSize each
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
	if f.whole == nil && f.chunks == nil {
		size := int32(binary.BigEndian.Uint32(f.sizeBuf[:]))
		switch {
		case size > f.max:
			return nil, nil, fmt.Errorf("%w: %d bytes > %d", ErrFrameTooLarge, size, f.max)
		case size < minRequestHeader && !f.rawSASL, size < 1:
			return nil, nil, fmt.Errorf("%w: size %d", ErrBadFrame, size)
		}
		f.size, f.filled = int(size), 0
		if f.size <= 1<<minFrameClass {
			f.whole = frameBufs[minFrameClass].Get().(*[]byte) // the smallest class always has one
		} else {
			f.whole = pooledFrame(f.size)
		}
		if f.whole != nil {
			*f.whole = (*f.whole)[:0]
		} else {
			f.chunks = make([]*[]byte, 0, 8)
		}
		if f.budget != nil {
			f.held = f.budget.Holder()
			if f.size <= smallFrame && f.idle != nil && f.idle() {
				f.held.Force(f.storage(f.size))
			}
		}
	}
	for f.filled < f.size {
		want := min(f.size, f.filled+readStep)
		if f.held != nil {
			if need := f.storage(want); f.held.Held() < need {
				if err := f.acquire(need - f.held.Held()); err != nil {
					return nil, nil, err
				}
			}
		}
		buf, room := f.space(want)
		n, err := f.r.Read(room)
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
	f.whole, f.chunks, f.held = nil, nil, nil
	f.sizeN = 0
	return frame, held, nil
}

// errPeerGone: the client closed the connection while its frame waited
// for the budget.
var errPeerGone = errors.New("client closed the connection while its request waited for the request budget")

// peerCheckInterval is how often a frame waiting for the budget checks
// whether its client is still there.
const peerCheckInterval = 200 * time.Millisecond

// acquire takes n bytes of the budget for the frame, waiting if need be.
// A waiting connection reads nothing, so it would not see its client
// leave, and would hold its partial frame for ever: while it waits, it
// looks at the socket's state instead.
func (f *frameReader) acquire(n int64) error {
	if f.held.TryAcquire(n) {
		return nil
	}
	ctx, cancel := context.WithCancelCause(f.waitCtx)
	defer cancel(nil)
	if f.peerGone != nil {
		go func() {
			t := time.NewTicker(peerCheckInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if f.peerGone() {
						cancel(errPeerGone)
						return
					}
				}
			}
		}()
	}
	if err := f.held.Acquire(ctx, n); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

// storage is what the frame holds of the budget once it can store its
// bytes up to offset want. A recycled buffer that holds the whole frame
// is memory the broker has already, so there it counts the bytes that
// arrived; chunks count whole, as they are allocated (a recycled chunk
// larger than chunkSize is counted when taken: space).
func (f *frameReader) storage(want int) int64 {
	if f.whole != nil {
		return int64(want)
	}
	n := 0
	for _, c := range f.chunks {
		n += cap(*c)
	}
	if missing := want - len(f.chunks)*chunkSize; missing > 0 {
		n += (missing + chunkSize - 1) / chunkSize * chunkSize
	}
	return int64(n)
}

// space returns the buffer the next bytes go to and the free room in it
// (up to frame offset want); after a read of n bytes into the room, the
// caller extends the buffer by n.
func (f *frameReader) space(want int) (buf *[]byte, room []byte) {
	if f.whole != nil {
		b := *f.whole
		return f.whole, b[len(b):want]
	}
	if len(f.chunks) == 0 || len(*f.chunks[len(f.chunks)-1]) == chunkSize {
		chunk, _ := frameBufs[chunkClass].Get().(*[]byte)
		if chunk == nil {
			b := make([]byte, 0, chunkSize)
			chunk = &b
		} else if f.held != nil && cap(*chunk) > chunkSize {
			// A recycled buffer larger than a chunk: count all of it.
			f.held.Force(int64(cap(*chunk) - chunkSize))
		}
		*chunk = (*chunk)[:0]
		f.chunks = append(f.chunks, chunk)
	}
	last := f.chunks[len(f.chunks)-1]
	b := *last
	return last, b[len(b):min(chunkSize, len(b)+want-f.filled)]
}

// assemble returns the whole frame in one buffer, copying the chunks of a
// frame that no recycled buffer held.
func (f *frameReader) assemble() *[]byte {
	if f.whole != nil {
		return f.whole
	}
	if len(f.chunks) == 1 {
		return f.chunks[0]
	}
	out := pooledFrame(f.size)
	if out == nil {
		b := make([]byte, 0, f.size)
		out = &b
	}
	b := (*out)[:0]
	for _, c := range f.chunks {
		b = append(b, *c...)
		putFrame(c)
	}
	*out = b
	return out
}

// discard gives back a partly read frame (the connection is closing).
func (f *frameReader) discard() {
	putFrame(f.whole)
	for _, c := range f.chunks {
		putFrame(c)
	}
	if f.held != nil {
		f.held.ReleaseAll()
	}
	f.whole, f.chunks, f.held = nil, nil, nil
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
