package replica

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/workers"
)

// SyncFailure is a partition a Sync could not bring in line with the
// store: a log the store wants on this broker could not be opened or
// created.
type SyncFailure struct {
	Topic     string
	Partition int32
	// leftover: deleting a log nothing needs any more failed (a topic
	// that is gone, a partition taken back, a directory of no topic).
	// The log manager keeps trying and never opens it again, so Sync
	// logs it and sets it aside; it is never returned.
	leftover bool
	Err      error
}

// Error is the log manager's message, which names the partition.
func (f SyncFailure) Error() string { return f.Err.Error() }

// SyncFailures are the wanted logs one Sync could not open.
type SyncFailures []SyncFailure

func (fs SyncFailures) Error() string {
	msgs := make([]string, len(fs))
	for i, f := range fs {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// OfTopic keeps the failures of one topic's partitions.
func (fs SyncFailures) OfTopic(name string) SyncFailures {
	return slices.DeleteFunc(slices.Clone(fs), func(f SyncFailure) bool { return f.Topic != name })
}

// Sync brings the partition table in line with the store: it opens logs
// for the partitions this broker is a replica of, applies config changes
// and partition states (becoming leader or follower), and deletes the
// logs of topics and partitions that are gone (including directories
// left from before a restart). It runs on the store's subscription
// goroutine, at startup and after admin changes, never concurrently with
// itself.
//
// A partition whose log could not be opened stays out of the table and
// is tried again by the next run; the error (a SyncFailures) names each.
// A leftover that cannot be deleted is logged and set aside, never an
// error: the log manager keeps trying and never opens it again, so
// neither a start nor a request fails because of it.
func (m *Manager) Sync() error { return m.SyncContext(context.Background()) }

// ErrSyncCut: a SyncContext stopped when its context ended (the client of
// an admin request left, or the broker is stopping). The logs it did not
// reach are opened by a Sync the Manager runs in the background.
var ErrSyncCut = errors.New("partition table update cut short; it goes on in the background")

// SyncContext is Sync, stopped between two logs when ctx ends (creating
// the logs of 10,000 partitions takes minutes on a slow disk): it then
// returns ErrSyncCut and finishes in the background, unless the Manager
// is closing.
func (m *Manager) SyncContext(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	cut := false
	stopped := func() bool {
		if !cut && (ctx.Err() != nil || m.isClosed()) {
			cut = true
		}
		return cut
	}
	cfg := m.effectiveConfig()
	m.logs.SetCleaner(cfg.CleanerBackoff(), cfg.CleanerMaxKeys())
	m.fetchers.setCount(cfg.NumReplicaFetchers)
	want := make(map[string]controller.Topic)
	for _, t := range m.store.Topics() {
		want[t.Name] = t
	}
	var failures SyncFailures
	drop := func(p *Partition) {
		m.stopReplica(p)
		if err := m.logs.Delete(p.topic, p.index); err != nil {
			failures = append(failures, SyncFailure{Topic: p.topic, Partition: p.index, leftover: true, Err: err})
		}
	}

	m.mu.Lock()
	for name, ts := range m.topics {
		t, ok := want[name]
		if ok && t.ID == ts.meta.ID {
			// Partitions a rolled-back CreatePartitions took back.
			for _, p := range ts.partitions[min(len(t.Partitions), len(ts.partitions)):] {
				if p != nil {
					drop(p)
				}
			}
			continue
		}
		for _, p := range ts.partitions {
			if p != nil {
				drop(p)
			}
		}
		delete(m.topics, name)
		delete(m.byID, ts.meta.ID)
	}
	m.mu.Unlock()

	// The logs this broker lacks are opened side by side first (creating
	// a 10,000-partition topic opens 10,000).
	var toOpen []logToOpen
	for name, t := range want {
		lc := logConfig(cfg.ResolveTopic(t.Configs), cfg.ProducerIDExpiration)
		m.mu.RLock()
		ts := m.topics[name]
		m.mu.RUnlock()
		for i, st := range t.Partitions {
			held := ts != nil && i < len(ts.partitions) && ts.partitions[i] != nil
			if !held && slices.Contains(st.Replicas, m.cfg.BrokerID) {
				toOpen = append(toOpen, logToOpen{tp: plog.TopicPartition{Topic: name, Partition: int32(i)}, topicID: t.ID, cfg: lc})
			}
		}
	}
	opened := m.openLogs(toOpen, stopped)

	var transitions []func()
	var states []partitionState
	for name, t := range want {
		tc := cfg.ResolveTopic(t.Configs)
		lc := logConfig(tc, cfg.ProducerIDExpiration)
		m.mu.RLock()
		ts := m.topics[name]
		var have []*Partition
		if ts != nil {
			have = ts.partitions
		}
		m.mu.RUnlock()
		parts := make([]*Partition, len(t.Partitions))
		copy(parts, have)
		for i, st := range t.Partitions {
			p := parts[i]
			if p == nil && slices.Contains(st.Replicas, m.cfg.BrokerID) {
				res, tried := opened[plog.TopicPartition{Topic: name, Partition: int32(i)}]
				if !tried {
					continue // left for the background Sync
				}
				if res.err != nil {
					failures = append(failures, SyncFailure{Topic: name, Partition: int32(i), Err: res.err})
					continue
				}
				p = newPartition(name, t.ID, int32(i), res.log, m.cfg.BrokerID)
				parts[i] = p
			}
			if p == nil {
				continue
			}
			p.log.UpdateConfig(lc)
			p.topicConfig.Store(&tc)
			states = append(states, partitionState{p, st})
		}
		// Leaderships write each log's leader-epoch checkpoint: side by
		// side too.
		transitions = append(transitions, m.applyPartitionStates(states)...)
		states = states[:0]
		m.mu.Lock()
		m.topics[name] = &topicState{meta: t, partitions: parts}
		m.byID[t.ID] = name
		m.mu.Unlock()
	}

	m.mu.RLock()
	hosted := func(tp plog.TopicPartition) bool {
		ts, ok := m.topics[tp.Topic]
		return ok && int(tp.Partition) < len(ts.partitions) && ts.partitions[tp.Partition] != nil
	}
	var orphans []plog.TopicPartition
	for _, tp := range m.logs.Existing() {
		if _, known := want[tp.Topic]; !known && !hosted(tp) {
			orphans = append(orphans, tp)
		}
	}
	m.mu.RUnlock()
	for _, tp := range orphans {
		// Data goes: say so (a directory copied in by hand, a topic
		// deleted while this broker was down).
		m.logger.Warn().Str("partition", tp.String()).Msg("deleting the log of a partition the cluster metadata does not know")
		if err := m.logs.Delete(tp.Topic, tp.Partition); err != nil {
			failures = append(failures, SyncFailure{Topic: tp.Topic, Partition: tp.Partition, leftover: true, Err: err})
		}
	}
	// Followers start fetching (and coordinators load) once the table
	// holds every partition.
	for _, fn := range transitions {
		fn()
	}
	if cut {
		m.resyncInBackground()
	}
	var opening SyncFailures
	for _, f := range failures {
		if f.leftover {
			m.logger.Warn().Err(f.Err).Str("topic", f.Topic).Int32("partition", f.Partition).
				Msg("cannot delete the log of a partition that no longer exists; leaving it aside and trying again later")
			continue
		}
		opening = append(opening, f)
	}
	if len(opening) > 0 {
		return opening
	}
	if cut {
		return ErrSyncCut
	}
	return nil
}

// logToOpen is a partition log a Sync opens or creates.
type logToOpen struct {
	tp      plog.TopicPartition
	topicID [16]byte
	cfg     plog.Config
}

type openedLog struct {
	log *plog.Log
	err error
}

// openWorkers is how many logs a Sync opens at once: opening is file
// system calls, which wait on the disk more than they use the CPU.
const openWorkers = 16

// openLogs opens the logs, openWorkers at a time, until stopped; the
// ones it did not try are missing from the result.
func (m *Manager) openLogs(logs []logToOpen, stopped func() bool) map[plog.TopicPartition]openedLog {
	out := make(map[plog.TopicPartition]openedLog, len(logs))
	var mu sync.Mutex
	workers.Each(logs, openWorkers, stopped, func(o logToOpen) {
		l, err := m.logs.Open(o.tp.Topic, o.tp.Partition, o.topicID, o.cfg)
		mu.Lock()
		out[o.tp] = openedLog{log: l, err: err}
		mu.Unlock()
	})
	return out
}

type partitionState struct {
	p  *Partition
	st controller.Partition
}

// applyPartitionStates applies the states, openWorkers at a time, and
// returns what must follow outside the table's lock.
func (m *Manager) applyPartitionStates(states []partitionState) []func() {
	var out []func()
	var mu sync.Mutex
	workers.Each(states, openWorkers, nil, func(s partitionState) {
		if fn := m.applyPartitionState(s.p, s.st); fn != nil {
			mu.Lock()
			out = append(out, fn)
			mu.Unlock()
		}
	})
	return out
}

// resyncInBackground runs one Sync on a goroutine Close waits for, unless
// one is already waiting to run; Close cuts it short.
func (m *Manager) resyncInBackground() {
	if m.isClosed() || !m.resyncQueued.CompareAndSwap(false, true) {
		return
	}
	m.background(func() {
		m.resyncQueued.Store(false)
		if err := m.SyncContext(m.closedCtx); err != nil && !errors.Is(err, ErrSyncCut) {
			m.logger.Error().Err(err).Msg("apply metadata change")
		}
	})
}
