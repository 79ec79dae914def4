package log

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/samsa-io/samsa/log/atomicfile"
)

// epochCache is the leader-epoch checkpoint of a partition (KIP-101): for
// each leader epoch that wrote to the log, the offset of its first record.
// Followers and consumers use it, through OffsetForLeaderEpoch, to find
// where their log and the leader's diverge. It is kept in memory and
// rewritten atomically on every change; the file has Kafka's layout
// ("leader-epoch-checkpoint": version, count, then "epoch offset" lines).
//
// Owned by the Log; every method runs under the Log's mutex.
type epochCache struct {
	path    string
	entries []EpochEntry // increasing epochs and start offsets
	// syncLater, when set, takes the checkpoint's fsync off the caller's
	// path (syncqueue.go); nil fsyncs at once.
	syncLater func(path string)
	// fresh: a new partition's cache whose file was never written, so
	// the first persist writes it in place (a torn first file reads as
	// corrupt and is rebuilt from the log).
	fresh bool
	// written is what the file holds (loaded or last persisted): a
	// persist of the same entries writes nothing.
	written []EpochEntry
}

const epochCheckpointFile = "leader-epoch-checkpoint"

func loadEpochCache(path string, syncLater func(string)) (*epochCache, error) {
	c := &epochCache{path: path, syncLater: syncLater}
	raw, err := readSmallFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	bad := func(why string) (*epochCache, error) {
		return nil, fmt.Errorf("%s is corrupt: %s", path, why)
	}
	if v, ok := line(); !ok || v != "0" {
		return bad("unknown version " + strconv.Quote(v))
	}
	n, ok := line()
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return bad("bad entry count " + strconv.Quote(n))
	}
	for i := 0; i < count; i++ {
		l, ok := line()
		fields := strings.Fields(l)
		if !ok || len(fields) != 2 {
			return bad(fmt.Sprintf("entry %d is %q", i, l))
		}
		epoch, err1 := strconv.ParseInt(fields[0], 10, 32)
		start, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			return bad(fmt.Sprintf("entry %d is %q", i, l))
		}
		e := EpochEntry{Epoch: int32(epoch), StartOffset: start}
		if k := len(c.entries); k > 0 && (e.Epoch <= c.entries[k-1].Epoch || e.StartOffset < c.entries[k-1].StartOffset) {
			return bad(fmt.Sprintf("entry %d (%d %d) does not follow the one before", i, e.Epoch, e.StartOffset))
		}
		c.entries = append(c.entries, e)
	}
	c.written = slices.Clone(c.entries)
	return c, nil
}

func (c *epochCache) persist() error {
	if c.written != nil && slices.Equal(c.written, c.entries) {
		return nil
	}
	if err := c.write(); err != nil {
		return err
	}
	c.written = slices.Clone(c.entries)
	if c.written == nil {
		c.written = []EpochEntry{}
	}
	return nil
}

func (c *epochCache) write() error {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	if c.syncLater == nil {
		return atomicfile.Write(c.path, []byte(b.String()))
	}
	if c.fresh {
		f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.WriteString(b.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", c.path, err)
			}
			c.fresh = false
			c.syncLater(c.path)
			return nil
		}
		c.fresh = false // there already: replace it
	}
	if err := atomicfile.Replace(c.path, []byte(b.String())); err != nil {
		return err
	}
	c.syncLater(c.path)
	return nil
}

// latest returns the newest entry.
func (c *epochCache) latest() (EpochEntry, bool) {
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// assign records that epoch wrote from start on, as Kafka's
// LeaderEpochFileCache does: nothing changes when the newest entry is the
// same epoch starting at or before start; otherwise entries that conflict
// with the new one (an epoch at or above it, or a start at or after it)
// are dropped and the new entry becomes the newest.
func (c *epochCache) assign(epoch int32, start int64) (changed bool) {
	if epoch < 0 {
		return false
	}
	if last, ok := c.latest(); ok && last.Epoch == epoch && last.StartOffset <= start {
		return false
	}
	n := len(c.entries)
	for n > 0 && (c.entries[n-1].Epoch >= epoch || c.entries[n-1].StartOffset >= start) {
		n--
	}
	c.entries = append(c.entries[:n], EpochEntry{Epoch: epoch, StartOffset: start})
	return true
}

// assignDurably is assign followed by persist, undone in memory when the
// checkpoint cannot be written, so the cache never holds what the disk
// does not.
func (c *epochCache) assignDurably(epoch int32, start int64) error {
	if last, ok := c.latest(); epoch < 0 || ok && last.Epoch == epoch && last.StartOffset <= start {
		return nil // the common case: nothing changes
	}
	saved := slices.Clone(c.entries)
	if !c.assign(epoch, start) {
		return nil
	}
	if err := c.persist(); err != nil {
		c.entries = saved
		return err
	}
	return nil
}

// truncateFromEnd drops the epochs that start at or after end (the log
// was truncated to end).
func (c *epochCache) truncateFromEnd(end int64) (changed bool) {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= end {
		n--
	}
	changed = n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart forgets what lies before start (the log start offset
// moved): the epoch covering start now starts there.
func (c *epochCache) truncateFromStart(start int64) (changed bool) {
	i := 0
	for i+1 < len(c.entries) && c.entries[i+1].StartOffset <= start {
		i++
	}
	if i > 0 {
		c.entries = append([]EpochEntry(nil), c.entries[i:]...)
		changed = true
	}
	if len(c.entries) > 0 && c.entries[0].StartOffset < start {
		c.entries[0].StartOffset = start
		changed = true
	}
	return changed
}

// endOffsetFor answers OffsetForLeaderEpoch as Kafka's LeaderEpochFileCache
// does: for the latest epoch, the log end offset; for an older one, the
// largest known epoch at or below it and the start offset of the epoch
// after it; for an epoch below every known one, the requested epoch and
// the start offset of the first known epoch; for an unknown newer epoch
// or an empty cache, (-1, -1).
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	if epoch < 0 || len(c.entries) == 0 {
		return -1, -1
	}
	last := c.entries[len(c.entries)-1]
	if epoch == last.Epoch {
		return epoch, logEnd
	}
	if epoch > last.Epoch {
		return -1, -1
	}
	// The first entry with an epoch above the requested one.
	higher := 0
	for higher < len(c.entries) && c.entries[higher].Epoch <= epoch {
		higher++
	}
	if higher == 0 {
		return epoch, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}
