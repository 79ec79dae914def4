package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
)

// The two sparse indexes of a segment, kept in memory and persisted to
// their files when the segment is flushed (at roll, on flush.ms /
// flush.messages, and at close). Only flushed segments are trusted after a
// crash; recovery rebuilds the indexes of the rest from the log itself, so
// an index file never needs a write per entry on the append path.
//
// Offset index entries map the base offset of a batch (relative to the
// segment's base offset, 4 bytes) to the batch's byte position (4 bytes),
// one entry per index.interval.bytes of log. Time index entries map the
// largest timestamp seen so far (8 bytes) to the relative base offset of
// the batch that first reached it (4 bytes), added only when the largest
// timestamp grows.
//
// Readers use the entries without a lock: the writer appends to the slice
// and then publishes the new slice header atomically; a reader only looks
// at the entries of the header it loaded.

type offsetEntry struct {
	rel uint32 // offset - segment base offset
	pos uint32 // byte position in the segment file
}

type timeEntry struct {
	timestamp int64
	rel       uint32
}

// errIndexCorrupt: an index file does not hold well-formed, increasing
// entries; the segment's indexes are rebuilt from its log.
var errIndexCorrupt = errors.New("index file is corrupt")

// errIndexMissing: a segment has no index file, as a segment whose index
// never had an entry.
var errIndexMissing = errors.New("index file is missing")

// index is an index file and its entries.
type index[E any] struct {
	path       string
	entrySize  int
	maxEntries int
	encode     func([]byte, E)
	decode     func([]byte) E

	entries   atomic.Pointer[[]E]
	persisted int // entries already in the file (writer only)
	// sealed: the entries are in the file only. A segment that takes no
	// more appends (rolled, or older than the active one at open) drops
	// them from memory, and lookups read the file (floor), so a broker's
	// memory does not grow with the data it stores, as Kafka's memory-
	// mapped indexes hold only the pages read.
	sealed atomic.Bool
}

func newOffsetIndex(path string, maxBytes int32) *index[offsetEntry] {
	return &index[offsetEntry]{
		path: path, entrySize: 8, maxEntries: max(int(maxBytes)/8, 1),
		encode: func(b []byte, e offsetEntry) {
			binary.BigEndian.PutUint32(b, e.rel)
			binary.BigEndian.PutUint32(b[4:], e.pos)
		},
		decode: func(b []byte) offsetEntry {
			return offsetEntry{rel: binary.BigEndian.Uint32(b), pos: binary.BigEndian.Uint32(b[4:])}
		},
	}
}

func newTimeIndex(path string, maxBytes int32) *index[timeEntry] {
	return &index[timeEntry]{
		path: path, entrySize: 12, maxEntries: max(int(maxBytes)/12, 1),
		encode: func(b []byte, e timeEntry) {
			binary.BigEndian.PutUint64(b, uint64(e.timestamp))
			binary.BigEndian.PutUint32(b[8:], e.rel)
		},
		decode: func(b []byte) timeEntry {
			return timeEntry{timestamp: int64(binary.BigEndian.Uint64(b)), rel: binary.BigEndian.Uint32(b[8:])}
		},
	}
}

// load reads the index file. ordered checks that each entry follows the
// previous one.
func (x *index[E]) load(ordered func(prev, next E) bool) error {
	raw, err := readSmallFile(x.path)
	if errors.Is(err, os.ErrNotExist) {
		// Index files are made when they first have entries to
		// persist: a new segment has none (loadClean trusts a missing
		// file only for an empty segment).
		var empty []E
		x.entries.Store(&empty)
		x.persisted = 0
		return errIndexMissing
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", x.path, err)
	}
	if len(raw)%x.entrySize != 0 {
		return fmt.Errorf("%w: %s has %d bytes, not a multiple of %d", errIndexCorrupt, x.path, len(raw), x.entrySize)
	}
	entries := make([]E, 0, len(raw)/x.entrySize)
	for off := 0; off < len(raw); off += x.entrySize {
		e := x.decode(raw[off:])
		if len(entries) > 0 && !ordered(entries[len(entries)-1], e) {
			return fmt.Errorf("%w: %s entry %d is out of order", errIndexCorrupt, x.path, len(entries))
		}
		entries = append(entries, e)
	}
	x.entries.Store(&entries)
	x.persisted = len(entries)
	return nil
}

// all returns the published entries.
func (x *index[E]) all() []E {
	if p := x.entries.Load(); p != nil {
		return *p
	}
	return nil
}

func (x *index[E]) len() int   { return len(x.all()) }
func (x *index[E]) full() bool { return x.len() >= x.maxEntries }

// seal drops the entries from memory once they are all in the file; the
// file answers lookups from then on.
func (x *index[E]) seal() {
	if x.persisted != x.len() {
		return // not all in the file: kept (the next persist writes them)
	}
	x.sealed.Store(true)
	x.entries.Store(nil)
}

// floor returns the last entry for which below holds, below being true
// for a prefix of the entries; ok is false when it holds for none (or a
// sealed index's file cannot be read, which makes the caller scan the
// segment from its start).
func (x *index[E]) floor(below func(E) bool) (e E, ok bool) {
	if !x.sealed.Load() {
		s := x.all()
		i := sort.Search(len(s), func(i int) bool { return !below(s[i]) })
		if i == 0 {
			return e, false
		}
		return s[i-1], true
	}
	f, err := os.Open(x.path)
	if err != nil {
		return e, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return e, false
	}
	var buf [16]byte
	entry := buf[:x.entrySize]
	failed := false
	at := func(i int) E {
		if _, err := f.ReadAt(entry, int64(i*x.entrySize)); err != nil {
			failed = true // cut under us (a truncation): no entry
		}
		return x.decode(entry)
	}
	n := int(st.Size()) / x.entrySize
	i := sort.Search(n, func(i int) bool { return failed || !below(at(i)) })
	if i == 0 || failed {
		return e, false
	}
	if e = at(i - 1); failed {
		return e, false
	}
	return e, true
}

// add appends an entry in memory.
func (x *index[E]) add(e E) {
	s := append(x.all(), e)
	x.entries.Store(&s)
}

// last returns the newest entry.
func (x *index[E]) last() (E, bool) {
	s := x.all()
	if len(s) == 0 {
		var zero E
		return zero, false
	}
	return s[len(s)-1], true
}

// reset empties the index and its file, if there is one, before a
// rebuild; a missing file stays missing until persist has entries for it
// (a new partition makes no index files).
func (x *index[E]) reset() error {
	var empty []E
	x.entries.Store(&empty)
	x.sealed.Store(false)
	x.persisted = 0
	if err := os.Truncate(x.path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reset %s: %w", x.path, err)
	}
	return nil
}

// persist writes the entries not yet in the file and, with sync, fsyncs
// it.
func (x *index[E]) persist(sync bool) error {
	if x.sealed.Load() && !sync {
		return nil // all in the file
	}
	s := x.all()
	if x.persisted == len(s) && !sync {
		return nil
	}
	flags := os.O_WRONLY | os.O_CREATE
	if len(s) == 0 {
		flags = os.O_WRONLY // nothing to write: sync a file that is there
	}
	f, err := os.OpenFile(x.path, flags, 0o644)
	if errors.Is(err, os.ErrNotExist) && len(s) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", x.path, err)
	}
	defer f.Close()
	if x.persisted < len(s) {
		buf := make([]byte, (len(s)-x.persisted)*x.entrySize)
		for i, e := range s[x.persisted:] {
			x.encode(buf[i*x.entrySize:], e)
		}
		if _, err := f.WriteAt(buf, int64(x.persisted*x.entrySize)); err != nil {
			return fmt.Errorf("write %s: %w", x.path, err)
		}
		x.persisted = len(s)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", x.path, err)
		}
	}
	return nil
}

// lookupOffset returns the position of the last indexed batch whose base
// offset is at most target (relative), or position 0.
func lookupOffset(x *index[offsetEntry], target uint32) int64 {
	e, ok := x.floor(func(e offsetEntry) bool { return e.rel <= target })
	if !ok {
		return 0
	}
	return int64(e.pos)
}

// lookupTime returns the relative offset of the last time index entry
// whose timestamp is below target: every record up to that entry's batch
// is older than target, so a search may start there. ok is false when
// the search must start at the segment's beginning.
func lookupTime(x *index[timeEntry], target int64) (rel uint32, ok bool) {
	e, ok := x.floor(func(e timeEntry) bool { return e.timestamp < target })
	if !ok {
		return 0, false
	}
	return e.rel, true
}
