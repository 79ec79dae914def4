package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// minRequestHeader is the smallest request header: api key, api version,
// correlation id and a client id length.
const minRequestHeader = 2 + 2 + 4 + 2

// growStep is how much of a frame is allocated ahead of the bytes that
// arrived: a frame claiming a huge size costs memory only as fast as the
// client actually sends it.
const growStep = 256 * 1024

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

// getFrame returns a buffer for a frame of size bytes: a pooled one that
// holds it when there is one, else a small one grown as bytes arrive.
func getFrame(size int) *[]byte {
	if size <= maxPooledFrame {
		c := minFrameClass
		for c < maxFrameClass && 1<<c < size {
			c++
		}
		if b, ok := frameBufs[c].Get().(*[]byte); ok {
			return b
		}
	}
	return frameBufs[minFrameClass].Get().(*[]byte)
}

// frameReader reads size-prefixed frames. It keeps a partly read frame
// across read errors, so a read deadline (the idle check) can interrupt
// it and the next call resumes where it stopped.
type frameReader struct {
	r   io.Reader
	max int32

	sizeBuf [4]byte
	sizeN   int     // bytes of sizeBuf filled
	size    int     // claimed frame size, once sizeN == 4
	buf     *[]byte // the frame being filled
}

// next returns the next whole frame. The frame's buffer belongs to the
// caller, who gives it back with putFrame once done with it.
func (f *frameReader) next() (*[]byte, error) {
	for f.sizeN < 4 {
		n, err := f.r.Read(f.sizeBuf[f.sizeN:])
		f.sizeN += n
		if f.sizeN == 4 {
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) && f.sizeN > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if f.buf == nil {
		size := int32(binary.BigEndian.Uint32(f.sizeBuf[:]))
		switch {
		case size > f.max:
			return nil, fmt.Errorf("%w: %d bytes > %d", ErrFrameTooLarge, size, f.max)
		case size < minRequestHeader:
			return nil, fmt.Errorf("%w: size %d", ErrBadFrame, size)
		}
		f.size = int(size)
		f.buf = getFrame(f.size)
		*f.buf = (*f.buf)[:0]
	}
	b := *f.buf
	for len(b) < f.size {
		if len(b) == cap(b) {
			grow := min(f.size-len(b), max(growStep, len(b)))
			b = append(b[:cap(b)], make([]byte, grow)...)[:len(b)]
		}
		n, err := f.r.Read(b[len(b):min(cap(b), f.size)])
		b = b[:len(b)+n]
		if err != nil && len(b) < f.size {
			*f.buf = b
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	*f.buf = b
	frame := f.buf
	f.buf = nil
	f.sizeN = 0
	return frame, nil
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
