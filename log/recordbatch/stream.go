package recordbatch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

var streamBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// recordStream reads record fields from decompressed records as they
// stream out of a decoder, counting what it has read against a limit.
type recordStream struct {
	r     *bufio.Reader
	read  int64 // bytes read so far
	limit int64
	err   error // the first error; every later read fails with it
}

func (s *recordStream) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *recordStream) byte() byte {
	if s.err != nil {
		return 0
	}
	b, err := s.r.ReadByte()
	if err != nil {
		s.fail(s.short(err))
		return 0
	}
	s.count(1)
	return b
}

func (s *recordStream) varint() int64 {
	var ux uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b := s.byte()
		if s.err != nil {
			return 0
		}
		ux |= uint64(b&0x7f) << shift
		if b < 0x80 {
			x := int64(ux >> 1)
			if ux&1 != 0 {
				x = ^x
			}
			return x
		}
	}
	s.fail(fmt.Errorf("%w: varint overflows", ErrCorrupt))
	return 0
}

// skip reads past n bytes.
func (s *recordStream) skip(n int64) {
	if s.err != nil {
		return
	}
	if s.read+n > s.limit {
		s.fail(fmt.Errorf("%w (%d bytes)", errTooBig, s.limit))
		return
	}
	for n > 0 {
		step := int(min(n, math.MaxInt32))
		done, err := s.r.Discard(step)
		s.read += int64(done)
		n -= int64(done)
		if err != nil {
			s.fail(s.short(err))
			return
		}
	}
}

// readFull reads len(p) bytes into p.
func (s *recordStream) readFull(p []byte) {
	if s.err != nil {
		return
	}
	if s.read+int64(len(p)) > s.limit {
		s.fail(fmt.Errorf("%w (%d bytes)", errTooBig, s.limit))
		return
	}
	n, err := io.ReadFull(s.r, p)
	s.read += int64(n)
	if err != nil {
		s.fail(s.short(err))
	}
}

func (s *recordStream) count(n int64) {
	s.read += n
	if s.read > s.limit {
		s.fail(fmt.Errorf("%w (%d bytes)", errTooBig, s.limit))
	}
}

// short turns the end of the stream into a corrupt batch: the header
// promised more records than the stream holds.
func (s *recordStream) short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: records end early", ErrCorrupt)
	}
	return fmt.Errorf("%w: records do not decompress: %v", ErrCorrupt, err)
}

// checkRecordStream is checkRecords for records read from a decompressing
// reader: it holds no more than a small buffer however far the records
// expand, and fails once they pass limit bytes. The stream must end right
// after the count records (reading to its end also checks the codec's own
// checksum).
func checkRecordStream(r io.Reader, count int32, limit int64) (minDelta, maxDelta int64, nullKeys bool, err error) {
	br := streamBufs.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); streamBufs.Put(br) }()
	s := &recordStream{r: br, limit: limit}

	minDelta, maxDelta = math.MaxInt64, math.MinInt64
	for i := int32(0); i < count; i++ {
		length := s.varint()
		if s.err == nil && length < 1 {
			return 0, 0, false, fmt.Errorf("%w: record %d has a bad length", ErrCorrupt, i)
		}
		start := s.read
		delta, nullKey, err := s.record(i)
		if err != nil {
			return 0, 0, false, err
		}
		if took := s.read - start; took != length {
			return 0, 0, false, fmt.Errorf("%w: record %d: its fields take %d bytes, its length says %d", ErrInvalidRecord, i, took, length)
		}
		minDelta, maxDelta = min(minDelta, delta), max(maxDelta, delta)
		nullKeys = nullKeys || nullKey
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err == nil {
			return 0, 0, false, fmt.Errorf("%w: bytes after the %d records the header counts", ErrCorrupt, count)
		}
		return 0, 0, false, s.short(err)
	}
	return minDelta, maxDelta, nullKeys, nil
}

// record reads one record's fields after its length, as checkRecord
// checks them.
func (s *recordStream) record(index int32) (tsDelta int64, nullKey bool, err error) {
	bad := func(what string) (int64, bool, error) {
		if s.err != nil {
			return 0, false, s.err
		}
		return 0, false, fmt.Errorf("%w: record %d: %s", ErrInvalidRecord, index, what)
	}
	s.byte() // attributes
	tsDelta = s.varint()
	if delta := s.varint(); s.err != nil || delta != int64(index) {
		return bad(fmt.Sprintf("offset delta %d, expected %d", delta, index))
	}
	keyLen := s.varint()
	if s.err != nil || keyLen < -1 {
		return bad("key")
	}
	s.skip(max(keyLen, 0))
	valueLen := s.varint()
	if s.err != nil || valueLen < -1 {
		return bad("value")
	}
	s.skip(max(valueLen, 0))
	headers := s.varint()
	if s.err != nil || headers < 0 {
		return bad("header count")
	}
	for j := int64(0); j < headers; j++ {
		klen := s.varint()
		if s.err != nil || klen < 0 {
			return bad("header key")
		}
		s.skip(klen)
		vlen := s.varint()
		if s.err != nil || vlen < -1 {
			return bad("header value")
		}
		s.skip(max(vlen, 0))
	}
	if s.err != nil {
		return 0, false, s.err
	}
	return tsDelta, keyLen == -1, nil
}
