package log

// The small files of a partition directory: partition.checkpoint (recovery
// point, log start offset, high watermark, cleaner offset) and
// partition.metadata (topic ID).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/samsa-io/samsa/log/atomicfile"
)

// Files of a partition directory besides segments and snapshots.
const (
	checkpointFile = "partition.checkpoint" // recovery point, log start offset, high watermark
	metadataFile   = "partition.metadata"   // topic ID, as Kafka's partition.metadata
)

// checkpoint is what partition.checkpoint holds.
type checkpoint struct {
	recoveryPoint  int64
	logStartOffset int64
	highWatermark  int64
	cleanerOffset  int64
}

func readCheckpoint(dir string) (checkpoint, error) {
	var c checkpoint
	raw, err := readSmallFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read checkpoint: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return checkpoint{}, fmt.Errorf("%s in %s: bad value %q", key, filepath.Join(dir, checkpointFile), value)
		}
		switch key {
		case "recovery-point":
			c.recoveryPoint = n
		case "log-start-offset":
			c.logStartOffset = n
		case "high-watermark":
			c.highWatermark = n
		case "cleaner-offset":
			c.cleanerOffset = n
		}
	}
	return c, nil
}

// writeCheckpoint persists the recovery point, log start offset, high
// watermark and cleaner offset. Called without mu: it reads the current
// values itself.
func (l *Log) writeCheckpoint() error { return l.checkpointIf(true) }

// writeCheckpointIfChanged writes the checkpoint when it moved since the
// last write (the periodic checkpoint).
func (l *Log) writeCheckpointIfChanged() error { return l.checkpointIf(false) }

func (l *Log) checkpointIf(always bool) error {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	l.mu.Lock()
	c := l.currentCheckpoint()
	closed := l.closed
	l.mu.Unlock()
	if closed || (!always && c == l.lastCheckpoint) {
		return nil
	}
	return l.storeCheckpoint(c)
}

func (l *Log) currentCheckpoint() checkpoint {
	return checkpoint{recoveryPoint: l.recoveryPoint, logStartOffset: l.logStart.Load(), highWatermark: l.highWatermark.Load(), cleanerOffset: l.cleanerOffset}
}

// storeCheckpoint writes c; the caller holds checkpointMu.
func (l *Log) storeCheckpoint(c checkpoint) error {
	data := fmt.Sprintf("recovery-point %d\nlog-start-offset %d\nhigh-watermark %d\ncleaner-offset %d\n",
		c.recoveryPoint, c.logStartOffset, c.highWatermark, c.cleanerOffset)
	if err := atomicfile.Write(filepath.Join(l.dir, checkpointFile), []byte(data)); err != nil {
		return err
	}
	l.lastCheckpoint = c
	return nil
}

// writeTopicID records the topic ID in partition.metadata, so a topic
// deleted and created again under the same name is told apart.
func writeTopicID(dir string, id [16]byte, syncLater func(string)) error {
	path := filepath.Join(dir, metadataFile)
	want := fmt.Sprintf("version: 0\ntopic_id: %s\n", encodeTopicID(id))
	raw, err := readSmallFile(path)
	if err == nil && string(raw) == want {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) && syncLater != nil {
		// A new partition: written in place, as a torn file (a crash
		// in the middle) reads as no topic ID, which the next open
		// writes again.
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		syncLater(path)
		return nil
	}
	if syncLater == nil {
		return atomicfile.Write(path, []byte(want))
	}
	if err := atomicfile.Replace(path, []byte(want)); err != nil {
		return err
	}
	syncLater(path)
	return nil
}

// readTopicID returns the topic ID a partition directory belongs to.
func readTopicID(dir string) ([16]byte, bool) {
	raw, err := readSmallFile(filepath.Join(dir, metadataFile))
	if err != nil {
		return [16]byte{}, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "topic_id: "); ok {
			return decodeTopicID(strings.TrimSpace(v))
		}
	}
	return [16]byte{}, false
}
