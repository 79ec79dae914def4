package log

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/samsa-io/samsa/log/atomicfile"
	"github.com/samsa-io/samsa/log/workers"
)

// syncQueue holds the small files written with atomicfile.Replace whose
// fsync was put off: a partition's topic ID (partition.metadata) and its
// leader-epoch checkpoint. Creating 10,000 partitions would otherwise
// wait for 20,000 fsyncs, one after the other, and a leader change for
// one on the request path. Kafka likewise writes both files without
// waiting for the disk and flushes them later (KAFKA-15046).
//
// A process crash (kill -9) loses nothing of them: the rename is in the
// kernel. A power failure before the fsync can leave an older or empty
// file, which the log copes with: an unreadable epoch checkpoint is
// rebuilt from the batches, a missing topic ID is written again when the
// log opens. The Manager fsyncs the queue in the background as soon as
// files wait, several at once, and before a clean shutdown.
type syncQueue struct {
	mu    sync.Mutex
	paths map[string]struct{}
	wake  chan struct{}
}

func newSyncQueue() *syncQueue {
	return &syncQueue{paths: make(map[string]struct{}), wake: make(chan struct{}, 1)}
}

// add queues path for an fsync (of the file and its directory).
func (q *syncQueue) add(path string) {
	q.mu.Lock()
	q.paths[path] = struct{}{}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (q *syncQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.paths) == 0 {
		return nil
	}
	out := make([]string, 0, len(q.paths))
	for p := range q.paths {
		out = append(out, p)
	}
	clear(q.paths)
	return out
}

// syncBatchDelay is how long the queue waits after a file arrives before
// it syncs what has come.
const syncBatchDelay = 100 * time.Millisecond

// syncWorkers is how many fsyncs of queued files run at once: a journaled
// file system commits concurrent fsyncs together.
const syncWorkers = 16

// syncfsAbove is how many queued files of one file system make drain
// sync the whole file system (syncfs(2)), one journal commit, rather than
// fsync each file and its directory: what creating or restarting
// thousands of partitions queues.
const syncfsAbove = 64

// drain fsyncs every queued file, syncWorkers at a time, and returns the
// failures by path. A failed file is queued again.
func (q *syncQueue) drain() map[string]error {
	paths := q.take()
	if len(paths) == 0 {
		return nil
	}
	var failed map[string]error
	if len(paths) > syncfsAbove {
		paths, failed = syncWholeFileSystems(paths)
	}
	var mu sync.Mutex
	workers.Each(paths, syncWorkers, nil, func(p string) {
		if err := atomicfile.Sync(p); err != nil {
			mu.Lock()
			if failed == nil {
				failed = make(map[string]error)
			}
			failed[p] = err
			mu.Unlock()
		}
	})
	for p := range failed {
		q.mu.Lock()
		q.paths[p] = struct{}{}
		q.mu.Unlock()
	}
	return failed
}

// syncWholeFileSystems syncs each file system holding more than
// syncfsAbove of paths with syncfs(2) and returns the paths left to fsync
// one by one, and the failures.
func syncWholeFileSystems(paths []string) (rest []string, failed map[string]error) {
	type fileSystem struct {
		dir   string // a directory on it
		paths []string
	}
	byDevice := make(map[uint64]*fileSystem)
	for _, p := range paths {
		dir := filepath.Dir(p)
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			rest = append(rest, p) // gone, or fsync says why
			continue
		}
		fs := byDevice[st.Dev]
		if fs == nil {
			fs = &fileSystem{dir: dir}
			byDevice[st.Dev] = fs
		}
		fs.paths = append(fs.paths, p)
	}
	for _, fs := range byDevice {
		if len(fs.paths) <= syncfsAbove {
			rest = append(rest, fs.paths...)
			continue
		}
		if err := syncfs(fs.dir); err != nil {
			if failed == nil {
				failed = make(map[string]error)
			}
			for _, p := range fs.paths {
				failed[p] = err
			}
		}
	}
	return rest, failed
}

func syncfs(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

// runSyncQueue fsyncs what waits in the queue until the Manager stops.
func (m *Manager) runSyncQueue() {
	defer m.loops.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.syncs.wake:
		}
		// Files come in bursts (a topic's partitions, a broker's
		// leaderships): wait for the burst, so it goes in one syncfs.
		select {
		case <-m.stop:
			return
		case <-time.After(syncBatchDelay):
		}
		m.drainSyncQueue()
	}
}

func (m *Manager) drainSyncQueue() {
	for path, err := range m.syncs.drain() {
		m.errors.Error(m.cfg.Logger, path, "fsync", withErr(err))
	}
}
