package log

// The transaction index of a segment (".txnindex"), in Kafka's layout: one
// 34-byte entry per ABORT marker in the segment, in marker order: int16
// version (0), int64 producer ID, int64 first offset of the transaction,
// int64 last offset (the marker's), int64 last stable offset (the first
// unstable offset once the transaction completed). A segment without
// aborts has no file.
//
// Entries are few (one per aborted transaction), so each segment keeps
// them all in memory, published as an immutable slice that readers
// (AbortedTransactions) load without a lock. The writer (the Log, under
// its mutex) appends to the file as markers are written; recovery and
// truncation rewrite it whole from the replay of the batches.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/samsa-io/samsa/log/atomicfile"
)

const (
	txnIndexSuffix    = ".txnindex"
	txnIndexEntrySize = 34
)

// abortedEntry is one entry of a transaction index.
type abortedEntry struct {
	producerID       int64
	firstOffset      int64
	lastOffset       int64 // the ABORT marker's offset
	lastStableOffset int64
}

var errTxnIndexCorrupt = errors.New("transaction index is corrupt")

func (e abortedEntry) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(e.producerID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.firstOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(e.lastOffset))
	return binary.BigEndian.AppendUint64(b, uint64(e.lastStableOffset))
}

func encodeTxnIndex(entries []abortedEntry) []byte {
	b := make([]byte, 0, len(entries)*txnIndexEntrySize)
	for _, e := range entries {
		b = e.appendTo(b)
	}
	return b
}

// decodeTxnIndex parses a transaction index file. It returns the entries
// before the first bad one along with an error.
func decodeTxnIndex(raw []byte) ([]abortedEntry, error) {
	var entries []abortedEntry
	for len(raw) >= txnIndexEntrySize {
		if v := binary.BigEndian.Uint16(raw); v != 0 {
			return entries, fmt.Errorf("%w: entry %d has version %d", errTxnIndexCorrupt, len(entries), v)
		}
		e := abortedEntry{
			producerID:       int64(binary.BigEndian.Uint64(raw[2:])),
			firstOffset:      int64(binary.BigEndian.Uint64(raw[10:])),
			lastOffset:       int64(binary.BigEndian.Uint64(raw[18:])),
			lastStableOffset: int64(binary.BigEndian.Uint64(raw[26:])),
		}
		if e.firstOffset > e.lastOffset || (len(entries) > 0 && e.lastOffset <= entries[len(entries)-1].lastOffset) {
			return entries, fmt.Errorf("%w: entry %d has offsets %d-%d out of order", errTxnIndexCorrupt, len(entries), e.firstOffset, e.lastOffset)
		}
		entries = append(entries, e)
		raw = raw[txnIndexEntrySize:]
	}
	if len(raw) != 0 {
		return entries, fmt.Errorf("%w: %d trailing bytes", errTxnIndexCorrupt, len(raw))
	}
	return entries, nil
}

// abortedTxns is the segment's transaction index entries.
func (s *segment) abortedTxns() []abortedEntry {
	if p := s.aborted.Load(); p != nil {
		return *p
	}
	return nil
}

// loadTxnIndex reads the segment's transaction index file, if any. On a
// corrupt file it keeps the good entries before the damage and returns
// the error: the caller replays the segment to rebuild it.
func (s *segment) loadTxnIndex() error {
	raw, err := readSmallFile(s.txnIndexPath)
	if errors.Is(err, os.ErrNotExist) {
		s.aborted.Store(nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", s.txnIndexPath, err)
	}
	entries, err := decodeTxnIndex(raw)
	s.aborted.Store(&entries)
	if err != nil {
		s.txnIndexStale = true
		return fmt.Errorf("%s: %w", s.txnIndexPath, err)
	}
	return nil
}

// addAborted records an ABORT marker written to the segment: readers see
// the entry at once, and it is appended to the file (fsynced with the
// segment).
func (s *segment) addAborted(e abortedEntry) error {
	old := s.abortedTxns()
	next := append(old[:len(old):len(old)], e)
	s.aborted.Store(&next)
	f, err := os.OpenFile(s.txnIndexPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.txnIndexPath, err)
	}
	if _, err := f.Write(e.appendTo(nil)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", s.txnIndexPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", s.txnIndexPath, err)
	}
	return nil
}

// setAborted replaces the segment's entries and rewrites its file (no
// file when there are none).
func (s *segment) setAborted(entries []abortedEntry) error {
	s.aborted.Store(&entries)
	s.txnIndexStale = false
	if len(entries) == 0 {
		if err := os.Remove(s.txnIndexPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", s.txnIndexPath, err)
		}
		return nil
	}
	tmp := s.txnIndexPath + ".tmp"
	if err := os.WriteFile(tmp, encodeTxnIndex(entries), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", s.txnIndexPath, err)
	}
	if err := os.Rename(tmp, s.txnIndexPath); err != nil {
		return fmt.Errorf("write %s: %w", s.txnIndexPath, err)
	}
	return nil
}

// writeTxnIndexDurably is for a cleaned segment written beside its
// originals: its entries go to its (".cleaned") file, fsynced.
func (s *segment) writeTxnIndexDurably(entries []abortedEntry) error {
	s.aborted.Store(&entries)
	if len(entries) == 0 {
		return nil
	}
	return atomicfile.Write(s.txnIndexPath, encodeTxnIndex(entries))
}
