package log

// Opening a partition log: leftovers of an interrupted write or swap are
// removed, segments are loaded (and recovered when the last shutdown was not
// clean), and the leader-epoch cache and idempotent producer state are
// rebuilt to match them.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// openLog opens the partition log in dir, recovering it when the last
// shutdown was not clean (or its index files are unusable).
// knownTopicID says the directory's partition.metadata already holds
// topicID (the Manager read it).
func openLog(dir string, tp TopicPartition, topicID [16]byte, knownTopicID bool, cfg Config, clean bool, env *logEnv, logger zerolog.Logger) (*Log, error) {
	l := &Log{dir: dir, tp: tp, topicID: topicID, cfg: cfg, env: env, logger: logger.With().Str("log", tp.String()).Logger()}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	// The directory is listed once for every step below (10,000
	// partitions open at a start), and again only after a step that
	// changed it.
	names, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	if names, err = l.removeLeftovers(names); err != nil {
		return nil, err
	}
	if changed, err := l.completeSwaps(names); err != nil {
		return nil, err
	} else if changed {
		if names, err = listDir(dir); err != nil {
			return nil, err
		}
	}
	cp, err := readCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if l.epochs, err = loadEpochCache(filepath.Join(dir, epochCheckpointFile), env.syncLater); err != nil {
		// The cache can be rebuilt from the batches' leader epochs.
		l.logger.Warn().Err(err).Msg("leader epoch checkpoint unreadable; rebuilding it from the log")
		l.epochs = &epochCache{path: filepath.Join(dir, epochCheckpointFile), syncLater: env.syncLater}
		clean = false
		cp.recoveryPoint = 0
	}
	loadedEpochs := slices.Clone(l.epochs.entries)
	replayFrom, err := l.loadSegments(names, clean, cp.recoveryPoint)
	if err != nil {
		return nil, err
	}
	recoveredEpochs := !slices.Equal(loadedEpochs, l.epochs.entries)
	// From here a failure must close the segment files it opened.
	opened := false
	defer func() {
		if !opened {
			l.abandon()
		}
	}()
	segs := *l.segs.Load()
	leo := segs[len(segs)-1].tail.Load().nextOffset
	l.logEnd.Store(leo)
	l.logStart.Store(min(max(cp.logStartOffset, segs[0].baseOffset), leo))
	l.highWatermark.Store(min(max(cp.highWatermark, l.logStart.Load()), leo))
	l.recoveryPoint = min(cp.recoveryPoint, leo)
	l.cleanerOffset = min(cp.cleanerOffset, leo)
	l.lastCheckpoint = cp

	// Recovery may have rebuilt epochs from the batches, which are
	// written back. The log's ends cut the entries past them, in memory
	// only: every open cuts them again, and the next change of the
	// cache writes it whole (so a clean start of 10,000 partitions
	// writes none, while an empty log's epoch is cut here and assigned
	// again when it leads).
	l.epochs.truncateFromEnd(leo)
	l.epochs.truncateFromStart(l.logStart.Load())
	if recoveredEpochs {
		if err := l.epochs.persist(); err != nil {
			return nil, err
		}
	}
	if err := l.rebuildProducerStateFrom(snapshotsIn(names), leo, replayFrom); err != nil {
		return nil, err
	}
	if !knownTopicID {
		if err := writeTopicID(dir, topicID, env.syncLater); err != nil {
			return nil, err
		}
	}
	opened = true
	return l, nil
}

// createLog makes the log of a new partition in dir, which must not
// exist yet: one empty segment at offset 0 and the topic ID. Nothing is
// read back, and the index files come with their first entries, so a new
// partition costs a directory and two files (creating a 10,000-partition
// topic makes 10,000).
func createLog(dir string, tp TopicPartition, topicID [16]byte, cfg Config, env *logEnv, logger zerolog.Logger) (*Log, error) {
	l := &Log{dir: dir, tp: tp, topicID: topicID, cfg: cfg, env: env, logger: logger.With().Str("log", tp.String()).Logger()}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			err = errors.Join(errLogDirExists, err)
		}
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	l.epochs = &epochCache{path: filepath.Join(dir, epochCheckpointFile), syncLater: env.syncLater, fresh: true}
	seg, err := makeSegment(dir, 0, &l.cfg, env.now(), true)
	if err != nil {
		return nil, err
	}
	segs := []*segment{seg}
	l.segs.Store(&segs)
	l.producers = newProducerState()
	l.producers.unstableChanged = true
	l.publishTxns()
	if err := writeTopicID(dir, topicID, env.syncLater); err != nil {
		l.abandon()
		return nil, err
	}
	return l, nil
}

// errLogDirExists: createLog found its directory already there; it made
// nothing, and removed nothing.
var errLogDirExists = errors.New("the log's directory exists")

// listDir returns the names in dir.
func listDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return names, nil
}

// removeLeftovers deletes temporary files and files whose delayed
// deletion was cut short by a restart, and returns the names left.
func (l *Log) removeLeftovers(names []string) ([]string, error) {
	kept := names[:0]
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, deletedSuffix) {
			if err := os.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("remove leftover %s: %w", name, err)
			}
			continue
		}
		kept = append(kept, name)
	}
	return kept, nil
}

// loadSegments opens every segment. A segment is trusted (indexes from
// disk, no scan) when the broker shut down cleanly or it lies wholly below
// the recovery point; any other segment is recovered by reading every
// batch. The first torn or corrupt batch ends the log: the file is cut
// there and later segments are deleted, as Kafka does.
//
// It returns the base offset of the first segment whose transaction
// index cannot be trusted (recovered, or its file corrupt), or MaxInt64:
// the producer state replay must start at or below it, and rebuilds the
// transaction indexes from there.
func (l *Log) loadSegments(names []string, clean bool, recoveryPoint int64) (int64, error) {
	replayFrom := int64(math.MaxInt64)
	var bases []int64
	for _, name := range names {
		if base, ok := parseSegmentName(name); ok {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	var segs []*segment
	next := int64(-1) // offset after the previous segment
	for i, base := range bases {
		if base < next {
			l.logger.Warn().Int64("segment", base).Int64("expected_from", next).Msg("segment overlaps the one before it; deleting it and every later segment")
			l.deleteSegmentFiles(bases[i:])
			break
		}
		seg, err := openSegment(l.dir, base, &l.cfg)
		if err != nil {
			closeSegments(segs)
			return 0, err
		}
		if err := seg.loadTxnIndex(); err != nil {
			l.logger.Warn().Err(err).Int64("segment", base).Msg("transaction index unusable; rebuilding it from the log")
			replayFrom = min(replayFrom, base)
		}
		trusted := clean || (i+1 < len(bases) && bases[i+1] <= recoveryPoint)
		loaded := false
		if trusted {
			if loaded, err = seg.loadClean(&l.cfg); err != nil {
				seg.release()
				closeSegments(segs)
				return 0, err
			}
		}
		if !loaded {
			replayFrom = min(replayFrom, base)
			res, err := seg.recover(&l.cfg, func(h recordbatch.Header) {
				l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
			})
			if err != nil {
				seg.release()
				closeSegments(segs)
				return 0, err
			}
			l.logger.Debug().Int64("segment", base).Int64("next_offset", seg.tail.Load().nextOffset).Msg("recovered segment")
			if res.truncated > 0 {
				l.logger.Warn().Int64("segment", base).Int64("bytes_cut", res.truncated).AnErr("reason", res.reason).
					Msg("cut a torn or corrupt tail off the log")
				segs = append(segs, seg)
				l.deleteSegmentFiles(bases[i+1:])
				break
			}
		}
		segs = append(segs, seg)
		next = seg.tail.Load().nextOffset
	}
	if len(segs) == 0 {
		cp, _ := readCheckpoint(l.dir)
		seg, err := createSegment(l.dir, cp.logStartOffset, &l.cfg, l.env.now())
		if err != nil {
			return 0, err
		}
		segs = append(segs, seg)
	}
	// Every segment but the active one keeps its index entries in its
	// files only (a recovered one's are written first).
	for _, seg := range segs[:len(segs)-1] {
		if err := seg.persistIndexes(false); err != nil {
			l.logger.Warn().Err(err).Int64("segment", seg.baseOffset).Msg("write rebuilt indexes; keeping them in memory")
			continue
		}
		seg.seal()
	}
	l.segs.Store(&segs)
	return replayFrom, nil
}

func closeSegments(segs []*segment) {
	for _, s := range segs {
		s.release()
	}
}

// deleteSegmentFiles removes the files of segments that recovery dropped.
func (l *Log) deleteSegmentFiles(bases []int64) {
	for _, base := range bases {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			if err := os.Remove(segmentName(l.dir, base, suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.logger.Error().Err(err).Int64("segment", base).Msg("remove segment file")
			}
		}
	}
}

// rebuildProducerState loads the newest usable snapshot at or below
// min(upTo, replayFrom) and replays the batches after it up to upTo: the
// idempotent producers, their open transactions and the transaction
// markers. Every transaction index entry at or after the snapshot is
// rebuilt from the replay (and the files that change rewritten), so none
// is doubled or lost; entries at or after upTo go. Snapshots above upTo
// (from before a truncation) are deleted.
func (l *Log) rebuildProducerState(upTo, replayFrom int64) error {
	offsets, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	return l.rebuildProducerStateFrom(offsets, upTo, replayFrom)
}

// rebuildProducerStateFrom is rebuildProducerState given the offsets of
// the snapshots in the directory, in increasing order.
func (l *Log) rebuildProducerStateFrom(offsets []int64, upTo, replayFrom int64) error {
	var ps *producerState
	snapshotAt := int64(-1)
	segs := *l.segs.Load()
	from := segs[0].baseOffset
	for i := len(offsets) - 1; i >= 0; i-- {
		off := offsets[i]
		path := snapshotPath(l.dir, off)
		if off > upTo {
			os.Remove(path)
			continue
		}
		if ps != nil || off > replayFrom {
			continue
		}
		raw, err := readSmallFile(path)
		if err == nil {
			ps, err = decodeProducerState(raw)
		}
		if err != nil {
			l.logger.Warn().Err(err).Str("snapshot", path).Msg("skipping unusable producer state snapshot")
			os.Remove(path)
			ps = nil
			continue
		}
		from = max(from, off)
		snapshotAt = off
	}
	if ps == nil {
		ps = newProducerState()
	}
	if snapshotAt == upTo {
		ps.snapshotAt = upTo // nothing after it to replay: the state is the snapshot's
	} else {
		ps.snapshotAt = -1
	}
	// The transaction index entries before the replay stay; the replay
	// makes the rest.
	rebuilt := make([][]abortedEntry, len(segs))
	for i, seg := range segs {
		for _, e := range seg.abortedTxns() {
			if e.lastOffset < from {
				rebuilt[i] = append(rebuilt[i], e)
			}
		}
	}
	hw := l.highWatermark.Load()
	for i, seg := range segs {
		t := seg.tail.Load()
		if t.nextOffset <= from || seg.baseOffset >= upTo {
			continue
		}
		sc := seg.scanner(seg.positionOf(from), t.size)
		for {
			h, pos, err := sc.next()
			if errors.Is(err, io.EOF) {
				sc.close()
				break
			}
			if err != nil {
				sc.close()
				return fmt.Errorf("replay producer state: %w", err)
			}
			if h.BaseOffset >= upTo {
				sc.close()
				break
			}
			if h.BaseOffset < from {
				continue
			}
			switch {
			case h.Control():
				batch, err := seg.readBatch(pos, h)
				var cr recordbatch.ControlRecord
				if err == nil {
					cr, err = recordbatch.ParseControl(batch)
				}
				if err != nil {
					l.logger.Warn().Err(err).Int64("offset", h.BaseOffset).Msg("replay skips an unreadable control batch")
					continue
				}
				if !cr.Marker() {
					continue
				}
				entry := ps.completeTxn(h, cr.CoordinatorEpoch)
				if cr.Type == recordbatch.ControlAbort {
					rebuilt[i] = append(rebuilt[i], entry)
				}
				ps.pruneUnstable(hw)
			case h.Idempotent():
				ps.update(h)
			}
		}
	}
	// Cleaning happens only below the last stable offset, so every
	// transaction with data below the cleaner offset had ended; one the
	// replay leaves open there lost its marker to the cleaner (the
	// snapshot predates the cleaning).
	ps.closeTxnsBefore(l.cleanerOffset)
	for i, seg := range segs {
		if seg.txnIndexStale || !slices.Equal(rebuilt[i], seg.abortedTxns()) {
			if err := seg.setAborted(rebuilt[i]); err != nil {
				return err
			}
		}
	}
	l.producers = ps
	ps.unstableChanged = true
	l.publishTxns()
	return nil
}
