package log

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/samsa-io/samsa/log/atomicfile"
	"github.com/samsa-io/samsa/log/throttle"
	"github.com/samsa-io/samsa/log/workers"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Dirs are the log directories (log.dirs). New partitions go to the
	// directory holding the fewest.
	Dirs []string
	// RetentionCheckInterval is log.retention.check.interval.ms.
	RetentionCheckInterval time.Duration
	// FlushCheckInterval is how often logs are checked for flush.ms and
	// checkpoints are written.
	FlushCheckInterval time.Duration
	// CheckpointInterval is how often the partitions' checkpoints (high
	// watermark, recovery point, log start offset) that moved are
	// written: replica.high.watermark.checkpoint.interval.ms. Zero
	// writes them at every flush check.
	CheckpointInterval time.Duration
	Logger             zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CleanerBackoff is log.cleaner.backoff.ms: how long the cleaner
	// sleeps when no compacted log needs cleaning. Zero disables the
	// cleaner (log.cleaner.enable=false).
	CleanerBackoff time.Duration
	// CleanerMaxKeys bounds the keys one cleaning pass maps
	// (log.cleaner.dedupe.buffer.size); zero means 1<<20.
	CleanerMaxKeys int
}

// Files the Manager keeps at the top of each log directory.
const (
	// cleanShutdownFile marks a directory whose logs were all closed
	// cleanly: the next start trusts their index files and skips
	// recovery. It is removed as soon as the directory is opened, so a
	// crash after that is always followed by a recovery.
	cleanShutdownFile = ".samsa_clean_shutdown"
	// lockFile is held with flock while a broker uses the directory.
	lockFile = ".lock"
	// deleteDirSuffix ends the name of a partition directory that is
	// being deleted (dirnames.go).
	deleteDirSuffix = "-delete"
)

// Manager owns every partition log of the broker: it finds them in the
// log directories, opens and deletes them, and runs retention, time-based
// flushes and checkpoints in the background.
//
// Invariant: a partition directory the Manager did not find at startup,
// and did not make itself, is never opened as a log; nor is one whose
// deletion failed. So a deleted topic's records never come back as those
// of a new topic of the same name, however its deletion went.
type Manager struct {
	cfg    ManagerConfig
	env    *logEnv
	errors *throttle.Throttle // failures of the background work, per log

	mu   sync.Mutex
	logs map[TopicPartition]*Log
	// opening are the logs being opened outside mu (Open); opens counts
	// them for Close.
	opening map[TopicPartition]openingLog
	opens   sync.WaitGroup
	found   map[TopicPartition]string // on disk, not opened yet: partition directory
	// pending holds the partition directories whose deletion failed
	// (neither renamed nor removed), by path. Open and Delete of the same
	// partition and the periodic flush try again.
	pending   map[string]pendingDeletion
	clean     map[string]bool // log directory -> last shutdown was clean
	locks     []*os.File
	closed    bool
	stop      chan struct{}
	loops     sync.WaitGroup // background loops
	tasks     sync.WaitGroup // background tasks (segment flushes, directory deletions)
	timers    map[*time.Timer]struct{}
	timerMu   sync.Mutex
	stopTimer bool

	// The cleaner's settings, which SetCleaner changes at runtime
	// (dynamic log.cleaner.backoff.ms and log.cleaner.dedupe.buffer.size).
	cleanerBackoff atomic.Int64 // nanoseconds
	cleanerMaxKeys atomic.Int64
	cleanerWake    chan struct{}

	syncs *syncQueue // files whose fsync was put off (syncqueue.go)

	lastCheckpoints time.Time // of the periodic checkpoints (flush loop only)
}

// OpenManager locks the log directories and scans them for partition
// logs. Logs are opened (and recovered) by Open.
func OpenManager(cfg ManagerConfig) (*Manager, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("no log directories")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{
		errors:  throttle.New(errorInterval),
		cfg:     cfg,
		logs:    make(map[TopicPartition]*Log),
		opening: make(map[TopicPartition]openingLog),
		found:   make(map[TopicPartition]string),
		pending: make(map[string]pendingDeletion),
		clean:   make(map[string]bool),
		stop:    make(chan struct{}),
		timers:  make(map[*time.Timer]struct{}),
		syncs:   newSyncQueue(),
	}
	m.env = &logEnv{now: cfg.Now, background: m.background, removeLater: m.removeLater, syncLater: m.syncs.add}
	for _, dir := range cfg.Dirs {
		if err := m.openDir(dir); err != nil {
			m.releaseLocks()
			return nil, err
		}
	}
	m.loops.Add(1)
	go m.runSyncQueue()
	if cfg.RetentionCheckInterval > 0 {
		m.loops.Add(1)
		go m.every(cfg.RetentionCheckInterval, m.enforceRetention)
	}
	if cfg.FlushCheckInterval > 0 {
		m.loops.Add(1)
		go m.every(cfg.FlushCheckInterval, m.flushAndCheckpoint)
	}
	m.cleanerWake = make(chan struct{}, 1)
	m.SetCleaner(cfg.CleanerBackoff, cfg.CleanerMaxKeys)
	if cfg.CleanerBackoff > 0 {
		m.loops.Add(1)
		go m.runCleaner()
	}
	return m, nil
}

// SetCleaner changes how long the cleaner sleeps when nothing needs
// cleaning and how many keys one pass maps (zero: 1<<20), taking effect
// at once. A cleaner disabled at open (CleanerBackoff zero) stays off.
func (m *Manager) SetCleaner(backoff time.Duration, maxKeys int) {
	if maxKeys <= 0 {
		maxKeys = 1 << 20
	}
	m.cleanerMaxKeys.Store(int64(maxKeys))
	if backoff > 0 && m.cleanerBackoff.Swap(int64(backoff)) != int64(backoff) {
		select {
		case m.cleanerWake <- struct{}{}:
		default:
		}
	}
}

// Cleaner returns the cleaner's current backoff and key bound.
func (m *Manager) Cleaner() (backoff time.Duration, maxKeys int) {
	return time.Duration(m.cleanerBackoff.Load()), int(m.cleanerMaxKeys.Load())
}

// runCleaner cleans whatever is due, then sleeps for the current backoff
// (or until the backoff changes).
func (m *Manager) runCleaner() {
	defer m.loops.Done()
	for {
		t := time.NewTimer(time.Duration(m.cleanerBackoff.Load()))
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-m.cleanerWake:
			t.Stop()
			continue
		case <-t.C:
		}
		m.cleanUntilNothingIsDue()
	}
}

func (m *Manager) openDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return fmt.Errorf("log directory %s is in use by another process (%w)", dir, err)
	}
	m.locks = append(m.locks, lock)

	marker := filepath.Join(dir, cleanShutdownFile)
	if _, err := os.Stat(marker); err == nil {
		m.clean[dir] = true
		if err := os.Remove(marker); err != nil {
			return fmt.Errorf("remove %s: %w", marker, err)
		}
		if err := atomicfile.SyncDir(dir); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		path := filepath.Join(dir, name)
		if name == DevSecurityDir {
			continue
		}
		if isDeleteDir(name) {
			m.cfg.Logger.Info().Str("dir", path).Msg("finishing the deletion of a partition directory that a restart cut short")
			m.background(func() {
				if err := os.RemoveAll(path); err != nil {
					m.cfg.Logger.Warn().Err(err).Str("dir", path).Msg("cannot remove a deleted partition's directory; leaving it aside until the next start")
				}
			})
			continue
		}
		tp, ok := parsePartitionDir(name)
		if !ok {
			// Kafka refuses to start on a directory it cannot parse;
			// a file system's lost+found is reason enough not to.
			m.cfg.Logger.Warn().Str("dir", path).Msg("not a partition directory; leaving it alone")
			continue
		}
		if other, dup := m.found[tp]; dup {
			return fmt.Errorf("partition %s is in two log directories: %s and %s", tp, other, path)
		}
		m.found[tp] = path
	}
	return nil
}

// Open returns the log of a partition, opening it from disk or creating it.
// An open log gets cfg as its new configuration.
//
// Directories of the partition's name that are not this topic's are
// deleted first: one found at startup that belongs to another topic ID (a
// topic deleted and created again while the broker was away), one that
// appeared since startup, and one whose earlier deletion failed. When one
// cannot be deleted, Open fails: the log is never made on top of it. A log
// that cannot be created leaves no directory behind.
func (m *Manager) Open(topic string, partition int32, topicID [16]byte, cfg Config) (*Log, error) {
	tp := TopicPartition{Topic: topic, Partition: partition}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.awaitOpenLocked(tp); err != nil {
		return nil, err
	}
	if l, ok := m.logs[tp]; ok {
		l.UpdateConfig(cfg)
		return l, nil
	}
	if err := m.finishDeletionsLocked(tp); err != nil {
		return nil, fmt.Errorf("open log %s: a deleted partition of the same name is still on disk: %w", tp, err)
	}
	dir, onDisk := m.found[tp]
	clean, knownTopicID := false, false
	if onDisk {
		id, ok := readTopicID(dir)
		knownTopicID = ok && id == topicID
		if ok && id != topicID {
			m.cfg.Logger.Info().Str("partition", tp.String()).Msg("deleting the log of an older topic with the same name")
			delete(m.found, tp)
			if err := m.deleteDir(dir, tp); err != nil {
				return nil, fmt.Errorf("open log %s: %w", tp, err)
			}
			onDisk = false
		} else {
			clean = m.clean[filepath.Dir(dir)]
		}
	} else if len(m.cfg.Dirs) > 1 {
		// No other log directory may hold one either. In the one it is
		// made in, making its directory finds one (below): with one log
		// directory, creating 10,000 partitions makes no extra call
		// under the lock.
		if err := m.removeStrayLocked(tp); err != nil {
			return nil, fmt.Errorf("open log %s: %w", tp, err)
		}
	}
	if !onDisk {
		dir = filepath.Join(m.leastLoadedDir(), tp.String())
	}

	// The partition is reserved while its log opens without the lock, so
	// that a Sync opens many logs side by side: a second Open or a Delete
	// of it waits, Close waits for it.
	busy := make(chan struct{})
	m.opening[tp] = openingLog{dir: dir, done: busy}
	m.opens.Add(1)
	m.mu.Unlock()
	start := m.cfg.Now()
	var l *Log
	var err error
	if onDisk {
		l, err = openLog(dir, tp, topicID, knownTopicID, cfg, clean, m.env, m.cfg.Logger)
	} else {
		l, err = m.createLog(dir, tp, topicID, cfg)
	}
	m.mu.Lock()
	delete(m.opening, tp)
	close(busy)
	m.opens.Done()

	if errors.Is(err, errLogDirExists) {
		// A directory of its name appeared since startup: nothing of
		// this broker made it, so it goes (a file stays, and fails the
		// open), and the log is made anew, under the lock (this is rare).
		if err = m.removeStrayLocked(tp); err == nil {
			l, err = m.createLog(dir, tp, topicID, cfg)
		}
		if err != nil {
			return nil, fmt.Errorf("open log %s: %w", tp, err)
		}
	}
	if err != nil {
		// A directory found at startup stays known (a later Open tries
		// again); one made here goes, so nothing half-made is left.
		if !onDisk {
			if rerr := os.RemoveAll(dir); rerr != nil {
				m.cfg.Logger.Warn().Err(rerr).Str("dir", dir).Msg("cannot remove the directory of a log that failed to open")
			}
		}
		return nil, fmt.Errorf("open log %s: %w", tp, err)
	}
	if onDisk {
		delete(m.found, tp)
		if !clean {
			m.cfg.Logger.Info().Str("partition", tp.String()).Int64("log_end_offset", l.logEnd.Load()).
				Dur("took", m.cfg.Now().Sub(start)).Msg("recovered log after an unclean shutdown")
		}
	}
	if m.closed {
		// Closed while opening: close it as Close closes the others.
		if cerr := l.close(); cerr != nil {
			m.cfg.Logger.Warn().Err(cerr).Str("partition", tp.String()).Msg("close a log opened while the broker stopped")
		}
		return nil, ErrClosed
	}
	m.logs[tp] = l
	return l, nil
}

// createLog makes a new log in dir and queues the fsync of the new
// directory's entry in its parent.
func (m *Manager) createLog(dir string, tp TopicPartition, topicID [16]byte, cfg Config) (*Log, error) {
	l, err := createLog(dir, tp, topicID, cfg, m.env, m.cfg.Logger)
	if err == nil {
		m.syncs.add(dir)
	}
	return l, err
}

// openingLog is a log being opened outside mu: its directory, and a
// channel closed when the open ends.
type openingLog struct {
	dir  string
	done chan struct{}
}

// awaitOpenLocked waits (mu released meanwhile) until no open of tp is in
// progress; ErrClosed once the Manager is closed.
func (m *Manager) awaitOpenLocked(tp TopicPartition) error {
	for {
		if m.closed {
			return ErrClosed
		}
		o, ok := m.opening[tp]
		if !ok {
			return nil
		}
		m.mu.Unlock()
		<-o.done
		m.mu.Lock()
	}
}

// removeStrayLocked deletes a directory of tp's name that appeared in a
// log directory since startup: nothing of this broker made it, so it is
// never taken for the partition's log. Something there that is not a
// directory is left alone and fails the open.
func (m *Manager) removeStrayLocked(tp TopicPartition) error {
	for _, d := range m.cfg.Dirs {
		path := filepath.Join(d, tp.String())
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", path, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", path)
		}
		m.cfg.Logger.Warn().Str("dir", path).Msg("deleting a directory of this partition's name that no log of this broker owns")
		if err := m.deleteDir(path, tp); err != nil {
			return err
		}
	}
	return nil
}

// leastLoadedDir is the log directory with the fewest partitions.
func (m *Manager) leastLoadedDir() string {
	if len(m.cfg.Dirs) == 1 {
		return m.cfg.Dirs[0]
	}
	count := make(map[string]int)
	for _, o := range m.opening {
		count[filepath.Dir(o.dir)]++
	}
	for _, l := range m.logs {
		count[filepath.Dir(l.dir)]++
	}
	for _, dir := range m.found {
		count[filepath.Dir(dir)]++
	}
	best := m.cfg.Dirs[0]
	for _, d := range m.cfg.Dirs[1:] {
		if count[d] < count[best] {
			best = d
		}
	}
	return best
}

// Delete closes a partition's log and deletes its directory: it is renamed
// at once and removed in the background. When the directory can be
// neither renamed nor removed, Delete fails and the Manager keeps trying
// (pendingDeletion); the log is closed either way.
func (m *Manager) Delete(topic string, partition int32) error {
	tp := TopicPartition{Topic: topic, Partition: partition}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.awaitOpenLocked(tp); err != nil {
		return err
	}
	earlier := m.finishDeletionsLocked(tp)
	dir := ""
	if l, ok := m.logs[tp]; ok {
		l.abandon()
		delete(m.logs, tp)
		dir = l.dir
	} else if d, ok := m.found[tp]; ok {
		delete(m.found, tp)
		dir = d
	}
	if dir == "" {
		return earlier
	}
	return errors.Join(earlier, m.deleteDir(dir, tp))
}

// pendingDeletion is a partition directory that could be neither renamed
// nor removed (a read-only or immutable directory, a failing disk).
type pendingDeletion struct {
	tp  TopicPartition
	err error
}

// deleteDir deletes the partition directory dir (mu held). It is renamed
// to a deletion name (dirnames.go), which no start takes for a partition,
// and removed in the background. When the rename fails it is removed in
// place, its topic ID file last, so a crash halfway leaves a directory
// the next start still tells apart from a new topic's. When that fails
// too, it is remembered in pending until a retry succeeds.
func (m *Manager) deleteDir(dir string, tp TopicPartition) error {
	parent := filepath.Dir(dir)
	doomed := filepath.Join(parent, deleteDirName(tp))
	err := os.Rename(dir, doomed)
	if errors.Is(err, os.ErrNotExist) {
		delete(m.pending, dir)
		return nil // gone already (removed by hand)
	}
	if err == nil {
		delete(m.pending, dir)
		if err := atomicfile.SyncDir(parent); err != nil {
			// After a crash the directory may be back under its old
			// name: the next start deletes it as an orphan or as an
			// older topic's.
			m.cfg.Logger.Warn().Err(err).Str("dir", dir).Msg("rename of a deleted partition may not be durable")
		}
		m.background(func() {
			if err := os.RemoveAll(doomed); err != nil {
				m.cfg.Logger.Error().Err(err).Str("dir", doomed).Msg("remove deleted partition; the next start tries again")
			}
		})
		return nil
	}
	if rerr := removePartitionDir(dir); rerr != nil {
		err = fmt.Errorf("delete %s: %w; removing it in place: %v", dir, err, rerr)
		m.pending[dir] = pendingDeletion{tp: tp, err: err}
		return err
	}
	delete(m.pending, dir)
	m.cfg.Logger.Warn().Err(err).Str("dir", dir).Msg("could not rename a deleted partition's directory; removed it in place")
	return nil
}

// removePartitionDir removes a partition directory where it is: every
// entry but the topic ID file, then that file, then the directory.
func removePartitionDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != metadataFile {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(filepath.Join(dir, metadataFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// finishDeletionsLocked retries the failed deletions of tp's directories
// (mu held).
func (m *Manager) finishDeletionsLocked(tp TopicPartition) error {
	var errs []error
	for dir, pd := range m.pending {
		if pd.tp == tp {
			if err := m.deleteDir(dir, tp); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PendingDeletion returns why directories of topic's partitions that were
// deleted are still on disk, or nil when none is.
func (m *Manager) PendingDeletion(topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, dir := range slices.Sorted(maps.Keys(m.pending)) {
		if pd := m.pending[dir]; pd.tp.Topic == topic {
			errs = append(errs, pd.err)
		}
	}
	return errors.Join(errs...)
}

// retryDeletions tries the failed deletions again (the periodic flush),
// so space comes back once the cause is gone.
func (m *Manager) retryDeletions() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for dir, pd := range m.pending {
		if m.deleteDir(dir, pd.tp) == nil {
			m.cfg.Logger.Info().Str("dir", dir).Msg("deleted a partition directory whose deletion had failed")
		}
	}
}

// Existing lists every partition with a log, open or only on disk (not
// those whose deletion is pending: they are no partition's log).
func (m *Manager) Existing() []TopicPartition {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TopicPartition, 0, len(m.logs)+len(m.found))
	for tp := range m.logs {
		out = append(out, tp)
	}
	for tp := range m.found {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

// Usage describes each log directory and its open partitions.
func (m *Manager) Usage() []DirUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]DirUsage, 0, len(m.cfg.Dirs))
	for _, dir := range m.cfg.Dirs {
		u := DirUsage{Dir: dir, TotalBytes: -1, UsableBytes: -1}
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			u.Err = err
		} else {
			u.TotalBytes = int64(st.Blocks) * st.Bsize
			u.UsableBytes = int64(st.Bavail) * st.Bsize
		}
		for tp, l := range m.logs {
			if filepath.Dir(l.dir) == dir {
				u.Partitions = append(u.Partitions, PartitionUsage{Topic: tp.Topic, Partition: tp.Partition, Size: l.Size()})
			}
		}
		slices.SortFunc(u.Partitions, func(a, b PartitionUsage) int {
			if c := strings.Compare(a.Topic, b.Topic); c != 0 {
				return c
			}
			return int(a.Partition - b.Partition)
		})
		out = append(out, u)
	}
	return out
}

// openLogs snapshots the open logs.
func (m *Manager) openLogs() []*Log {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		out = append(out, l)
	}
	return out
}

func (m *Manager) every(interval time.Duration, fn func()) {
	defer m.loops.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

func (m *Manager) enforceRetention() {
	now := m.cfg.Now()
	for _, l := range m.openLogs() {
		if _, err := l.enforceRetention(now); err != nil && !errors.Is(err, ErrClosed) {
			m.errors.Error(l.logger, l.tp.String(), "retention", withErr(err))
		}
	}
}

// cleanUntilNothingIsDue compacts the dirtiest log due a pass, again and
// again, until no compacted log is due; one log at a time, as Kafka's
// single cleaner thread does.
func (m *Manager) cleanUntilNothingIsDue() {
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		now := m.cfg.Now()
		var dirtiest *Log
		best := -1.0
		for _, l := range m.openLogs() {
			if ratio, due := l.needsCleaning(now); due && ratio > best {
				dirtiest, best = l, ratio
			}
		}
		if dirtiest == nil {
			return
		}
		stats, err := dirtiest.Clean(now, int(m.cleanerMaxKeys.Load()))
		switch {
		case errors.Is(err, ErrClosed), errors.Is(err, errCleaningAborted):
			return // try again after the backoff
		case err != nil:
			m.errors.Error(dirtiest.logger, dirtiest.tp.String(), "log cleaner", withErr(err))
			return
		default:
			dirtiest.logger.Info().Int("segments", stats.Segments).Int64("bytes_before", stats.BytesBefore).
				Int64("bytes_after", stats.BytesAfter).Int64("records_removed", stats.RecordsRemoved).Msg("compacted")
			if stats.Segments == 0 {
				return
			}
		}
	}
}

func (m *Manager) flushAndCheckpoint() {
	m.retryDeletions()
	m.drainSyncQueue() // what failed before
	now := m.cfg.Now()
	checkpoint := now.Sub(m.lastCheckpoints) >= m.cfg.CheckpointInterval
	if checkpoint {
		m.lastCheckpoints = now
	}
	for _, l := range m.openLogs() {
		if err := l.flushIfDue(now); err != nil && !errors.Is(err, ErrClosed) {
			m.errors.Error(l.logger, l.tp.String(), "flush", withErr(err))
		}
		if !checkpoint {
			continue
		}
		if err := l.writeCheckpointIfChanged(); err != nil {
			m.errors.Error(l.logger, l.tp.String(), "write checkpoint", withErr(err))
		}
	}
}

// withErr adds err to a throttled log line.
func withErr(err error) func(*zerolog.Event) *zerolog.Event {
	return func(e *zerolog.Event) *zerolog.Event { return e.Err(err) }
}

// errorInterval is how often the same failure of the background work on
// the same log is logged (a full disk fails every flush check): the ones
// in between are counted.
const errorInterval = 10 * time.Second

// background runs fn on a goroutine Close waits for.
func (m *Manager) background(fn func()) {
	m.tasks.Add(1)
	go func() {
		defer m.tasks.Done()
		fn()
	}()
}

// removeLater deletes paths after delay; files still waiting when the
// broker stops are removed by the next start.
func (m *Manager) removeLater(delay time.Duration, paths []string) {
	remove := func() {
		for _, p := range paths {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				m.cfg.Logger.Warn().Err(err).Str("file", p).Msg("remove deleted segment file")
			}
		}
	}
	if delay <= 0 {
		remove()
		return
	}
	m.timerMu.Lock()
	defer m.timerMu.Unlock()
	if m.stopTimer {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		m.timerMu.Lock()
		_, live := m.timers[t]
		delete(m.timers, t)
		m.timerMu.Unlock()
		if live {
			remove()
		}
	})
	m.timers[t] = struct{}{}
}

// Close stops the background work and closes every log cleanly, then
// marks each directory whose logs all closed cleanly, so the next start
// skips recovery there.
func (m *Manager) Close() error {
	logs, ok := m.stopBackground()
	if !ok {
		return nil
	}
	// Logs close side by side (each waits on its own fsyncs), as Kafka
	// shuts its logs down with several threads per directory.
	failed := make(map[string]bool)
	var errs []error
	var mu sync.Mutex
	workers.Each(logs, closeWorkers, nil, func(l *Log) {
		if err := l.close(); err != nil {
			mu.Lock()
			failed[filepath.Dir(l.dir)] = true
			errs = append(errs, fmt.Errorf("close %s: %w", l.tp, err))
			mu.Unlock()
		}
	})
	m.tasks.Wait()
	for path, err := range m.syncs.drain() {
		failed[filepath.Dir(filepath.Dir(path))] = true
		errs = append(errs, err)
	}
	for _, dir := range m.cfg.Dirs {
		if failed[dir] {
			continue
		}
		marker := filepath.Join(dir, cleanShutdownFile)
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := atomicfile.SyncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	m.releaseLocks()
	return errors.Join(errs...)
}

// closeWorkers is how many logs Close closes at once.
const closeWorkers = 16

// Abandon stops the Manager as a crash (kill -9) would leave it: every
// log's files are closed with nothing more written (no flush, index,
// producer snapshot or checkpoint), and no directory gets the
// clean-shutdown marker, so the next start recovers every log as after a
// crash. What was written before stays, as it would in the page cache
// of a killed process. The background work stops and the directory
// locks are released, so another Manager in this process can open the
// directories.
//
// It is the crash path for tests and embedded clusters (broker/node's
// Kill); a broker that stops closes its Manager with Close. After
// Abandon, Close does nothing.
func (m *Manager) Abandon() {
	logs, ok := m.stopBackground()
	if !ok {
		return
	}
	for _, l := range logs {
		l.abandon()
	}
	m.tasks.Wait()
	m.releaseLocks()
}

// stopBackground marks the Manager closed, stops its loops and pending
// file removals, and returns the logs that were open; ok is false when it
// was closed already.
func (m *Manager) stopBackground() (logs []*Log, ok bool) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, false
	}
	m.closed = true
	close(m.stop)
	logs = make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	m.opens.Wait() // each closes its own log on seeing closed

	m.loops.Wait()
	m.timerMu.Lock()
	m.stopTimer = true
	for t := range m.timers {
		t.Stop()
	}
	m.timers = nil
	m.timerMu.Unlock()
	return logs, true
}

func (m *Manager) releaseLocks() {
	for _, f := range m.locks {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}
	m.locks = nil
}

// Topic IDs are written as Kafka writes them: base64url without padding.

func encodeTopicID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func decodeTopicID(s string) ([16]byte, bool) {
	var id [16]byte
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) != 16 {
		return id, false
	}
	copy(id[:], raw)
	return id, true
}

// metaPropertiesFile names the log directory's owner, as Kafka's
// meta.properties does: broker.id and cluster.id.
const metaPropertiesFile = "meta.properties"

// ErrForeignLogDir: a log directory belongs to another broker or cluster.
var ErrForeignLogDir = errors.New("log directory belongs to another broker or cluster")

// ClaimDirs checks that every log directory belongs to this broker of
// this cluster, as Kafka does at startup, and records it in directories
// that name no owner yet. A directory of another broker.id or cluster.id
// is refused (Kafka's InconsistentClusterIdException): the broker would
// otherwise take its partitions for another's and delete them as
// unknown.
func (m *Manager) ClaimDirs(brokerID int32, clusterID string) error {
	for _, dir := range m.cfg.Dirs {
		path := filepath.Join(dir, metaPropertiesFile)
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			data := fmt.Sprintf("#\n#written by samsa\ncluster.id=%s\nversion=0\nbroker.id=%d\n", clusterID, brokerID)
			if err := atomicfile.Write(path, []byte(data)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		props := map[string]string{}
		for _, line := range strings.Split(string(raw), "\n") {
			line = strings.TrimSpace(line)
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				props[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if id, ok := props["broker.id"]; ok && id != strconv.Itoa(int(brokerID)) {
			return fmt.Errorf("%w: %s says broker.id %s, this broker is %d", ErrForeignLogDir, path, id, brokerID)
		}
		if id, ok := props["cluster.id"]; ok && id != clusterID {
			return fmt.Errorf("%w: %s says cluster.id %s, the cluster is %s (a new ZooKeeper, or the wrong one?)", ErrForeignLogDir, path, id, clusterID)
		}
	}
	return nil
}
