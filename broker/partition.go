package broker

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// partition is one partition this broker hosts as leader or follower: its
// log, its replication state (replica.go) and the waiters that delayed
// Fetch and acks=all Produce requests park.
type partition struct {
	topic   string
	topicID controller.TopicID
	index   int32
	log     *plog.Log
	self    int32 // this broker's ID

	// topicConfig is the topic's resolved configuration, replaced when
	// configs change.
	topicConfig atomic.Pointer[config.Topic]

	// roleMu orders leadership changes against appends: a leader's
	// produce and a follower's replica fetch append holding it for
	// reading; applying a new partition state holds it for writing.
	roleMu sync.RWMutex
	role   replicaRole
	state  controller.Partition // the state last applied (roleMu)
	// leaderEpoch and leaderID mirror state for lock-free fencing checks.
	leaderEpoch atomic.Int32
	leaderID    atomic.Int32
	// epochStartOffset is the log end offset when this broker became
	// leader (-1 when it is not): until the high watermark reaches it,
	// the latest offset is not known (ListOffsets OFFSET_NOT_AVAILABLE).
	epochStartOffset atomic.Int64

	// Leader only (replica.go), guarded by isrMu, taken under roleMu.
	isrMu      sync.Mutex
	followers  map[int32]*followerState
	pendingISR []int32 // an ISR change in flight; nil when none

	// changed is closed and replaced whenever the high watermark moves
	// or the role changes: acks=all produces wait on it.
	changedMu sync.Mutex
	changed   chan struct{}

	waitMu  sync.Mutex
	waiters map[chan struct{}]struct{}
}

// replicaRole is this broker's part in a partition.
type replicaRole int8

const (
	roleNone     replicaRole = iota // not a replica (or not yet told)
	roleLeader                      // takes produce and serves fetches
	roleFollower                    // copies the leader's log
)

func newPartition(topic string, id controller.TopicID, index int32, l *plog.Log, self int32) *partition {
	p := &partition{topic: topic, topicID: id, index: index, log: l, self: self, changed: make(chan struct{})}
	p.leaderID.Store(-1)
	p.leaderEpoch.Store(-1)
	p.epochStartOffset.Store(-1)
	return p
}

// config returns the topic's resolved configuration.
func (p *partition) config() *config.Topic { return p.topicConfig.Load() }

// highWatermark is the offset below which consumers may read.
func (p *partition) highWatermark() int64 {
	return p.log.HighWatermark()
}

// offsetsUnsettled reports whether this broker became leader so recently
// that its high watermark is still below the start of its epoch: the
// previous leader may have committed records it does not count yet, so
// the latest offset would appear to go backwards (Kafka answers
// OFFSET_NOT_AVAILABLE then).
func (p *partition) offsetsUnsettled() bool {
	start := p.epochStartOffset.Load()
	return start >= 0 && p.log.HighWatermark() < start
}

// isLeader reports whether this broker leads the partition now.
func (p *partition) isLeader() bool { return p.leaderID.Load() == p.self }

// watch registers ch to be signalled (non-blocking) on the next append or
// high watermark move.
func (p *partition) watch(ch chan struct{}) {
	p.waitMu.Lock()
	if p.waiters == nil {
		p.waiters = make(map[chan struct{}]struct{})
	}
	p.waiters[ch] = struct{}{}
	p.waitMu.Unlock()
}

func (p *partition) unwatch(ch chan struct{}) {
	p.waitMu.Lock()
	delete(p.waiters, ch)
	p.waitMu.Unlock()
}

// notifyAppended wakes every parked fetch that watches this partition.
func (p *partition) notifyAppended() {
	p.waitMu.Lock()
	for ch := range p.waiters {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	p.waitMu.Unlock()
}

// changedSignal returns a channel closed at the next high watermark move
// or role change.
func (p *partition) changedSignal() <-chan struct{} {
	p.changedMu.Lock()
	defer p.changedMu.Unlock()
	return p.changed
}

// signalChanged wakes acks=all produces and delayed fetches.
func (p *partition) signalChanged() {
	p.changedMu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.changedMu.Unlock()
	p.notifyAppended()
}

// logConfig turns a topic's resolved configuration into the log's.
func logConfig(t config.Topic, producerIDExpiration time.Duration) plog.Config {
	return plog.Config{
		SegmentBytes:       t.SegmentBytes,
		SegmentMs:          msDuration(t.SegmentMs),
		RetentionMs:        msDuration(t.RetentionMs),
		RetentionBytes:     t.RetentionBytes,
		FlushMessages:      t.FlushMessages,
		FlushMs:            msDuration(t.FlushMs),
		IndexIntervalBytes: t.IndexIntervalBytes,
		SegmentIndexBytes:  t.SegmentIndexBytes,
		LogAppendTime:      t.LogAppendTime,
		FileDeleteDelay:    msDuration(t.FileDeleteDelayMs),
		SegmentJitter:      msDuration(t.SegmentJitterMs),
		Preallocate:        t.Preallocate,
		Delete:             t.Delete,
		Compact:            t.Compact,

		ProducerIDExpiration: producerIDExpiration,

		MinCleanableDirtyRatio: t.MinCleanableDirtyRatio,
		MinCompactionLag:       msDuration(t.MinCompactionLagMs),
		MaxCompactionLag:       msDuration(t.MaxCompactionLagMs),
		DeleteRetention:        msDuration(t.DeleteRetentionMs),
	}
}

// syncFailure is a partition a syncTopics run could not bring in line
// with the store.
type syncFailure struct {
	topic     string
	partition int32
	// leftover: deleting a log nothing needs any more failed (a topic
	// that is gone, a partition taken back, a directory of no topic).
	// The log manager keeps trying and never opens it again, so it is
	// logged and set aside. Otherwise a log the store wants here could
	// not be opened or created.
	leftover bool
	err      error
}

// Error is the log manager's message, which names the partition.
func (f syncFailure) Error() string { return f.err.Error() }

// syncFailures are the wanted logs one syncTopics run could not open.
type syncFailures []syncFailure

func (fs syncFailures) Error() string {
	msgs := make([]string, len(fs))
	for i, f := range fs {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// ofTopic keeps the failures of one topic's partitions.
func (fs syncFailures) ofTopic(name string) syncFailures {
	return slices.DeleteFunc(slices.Clone(fs), func(f syncFailure) bool { return f.topic != name })
}

// syncTopics brings the partition table in line with the store: it opens
// logs for the partitions this broker is a replica of, applies config
// changes and partition states (becoming leader or follower), and deletes
// the logs of topics and partitions that are gone (including directories
// left from before a restart). It runs on the store's subscription
// goroutine, at startup and after admin changes, never concurrently with
// itself.
//
// A partition whose log could not be opened stays out of the table and
// is tried again by the next run; the error (a syncFailures) names each.
// A leftover that cannot be deleted is logged and set aside, never an
// error: the log manager keeps trying and never opens it again, so
// neither a start nor a request fails because of it.
func (b *Broker) syncTopics() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	cfg := b.effectiveConfig()
	b.logs.SetCleaner(cfg.CleanerBackoff(), cfg.CleanerMaxKeys())
	b.fetchers.setCount(cfg.NumReplicaFetchers)
	want := make(map[string]controller.Topic)
	for _, t := range b.store.Topics() {
		want[t.Name] = t
	}
	var failures syncFailures
	drop := func(p *partition) {
		b.stopReplica(p)
		if err := b.logs.Delete(p.topic, p.index); err != nil {
			failures = append(failures, syncFailure{topic: p.topic, partition: p.index, leftover: true, err: err})
		}
	}

	b.mu.Lock()
	for name, ts := range b.topics {
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
		delete(b.topics, name)
	}
	b.mu.Unlock()

	var transitions []func()
	for name, t := range want {
		tc := cfg.ResolveTopic(t.Configs)
		lc := logConfig(tc, cfg.ProducerIDExpiration)
		b.mu.RLock()
		ts := b.topics[name]
		var have []*partition
		if ts != nil {
			have = ts.partitions
		}
		b.mu.RUnlock()
		parts := make([]*partition, len(t.Partitions))
		copy(parts, have)
		for i, st := range t.Partitions {
			p := parts[i]
			if p == nil && slices.Contains(st.Replicas, b.cfg.BrokerID) {
				l, err := b.logs.Open(name, int32(i), t.ID, lc)
				if err != nil {
					failures = append(failures, syncFailure{topic: name, partition: int32(i), err: err})
					continue
				}
				p = newPartition(name, t.ID, int32(i), l, b.cfg.BrokerID)
				parts[i] = p
			}
			if p == nil {
				continue
			}
			p.log.UpdateConfig(lc)
			p.topicConfig.Store(&tc)
			if fn := b.applyPartitionState(p, st); fn != nil {
				transitions = append(transitions, fn)
			}
		}
		b.mu.Lock()
		b.topics[name] = &topicState{meta: t, partitions: parts}
		b.mu.Unlock()
	}

	b.mu.RLock()
	hosted := func(tp plog.TopicPartition) bool {
		ts, ok := b.topics[tp.Topic]
		return ok && int(tp.Partition) < len(ts.partitions) && ts.partitions[tp.Partition] != nil
	}
	var orphans []plog.TopicPartition
	for _, tp := range b.logs.Existing() {
		if _, known := want[tp.Topic]; !known && !hosted(tp) {
			orphans = append(orphans, tp)
		}
	}
	b.mu.RUnlock()
	for _, tp := range orphans {
		if err := b.logs.Delete(tp.Topic, tp.Partition); err != nil {
			failures = append(failures, syncFailure{topic: tp.Topic, partition: tp.Partition, leftover: true, err: err})
		}
	}
	// Followers start fetching (and coordinators load) once the table
	// holds every partition.
	for _, fn := range transitions {
		fn()
	}
	var opening syncFailures
	for _, f := range failures {
		if f.leftover {
			b.logger.Warn().Err(f.err).Str("topic", f.topic).Int32("partition", f.partition).
				Msg("cannot delete the log of a partition that no longer exists; leaving it aside and trying again later")
			continue
		}
		opening = append(opening, f)
	}
	if len(opening) > 0 {
		return opening
	}
	return nil
}

// lookupPartition finds a partition this broker hosts by topic name:
// errUnknownPartition when the topic or partition does not exist,
// errNotReplica when it exists but lives on other brokers.
func (b *Broker) lookupPartition(topic string, index int32) (*partition, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ts, ok := b.topics[topic]
	if !ok || index < 0 || int(index) >= len(ts.partitions) {
		return nil, errUnknownPartition
	}
	if p := ts.partitions[index]; p != nil {
		return p, nil
	}
	return nil, errNotReplica
}

// lookupLeader finds a partition this broker leads: lookupPartition's
// errors, or errNotLeader when another broker leads it (the client, told
// NOT_LEADER_OR_FOLLOWER, refreshes its metadata and finds the leader).
func (b *Broker) lookupLeader(topic string, index int32) (*partition, error) {
	p, err := b.lookupPartition(topic, index)
	if err != nil {
		return nil, err
	}
	if !p.isLeader() {
		return nil, errNotLeader
	}
	return p, nil
}

// topicByID finds a topic's name by ID (KIP-516 requests).
func (b *Broker) topicNameByID(id controller.TopicID) (string, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for name, ts := range b.topics {
		if ts.meta.ID == id {
			return name, true
		}
	}
	return "", false
}

// topicMeta returns the broker's snapshot of a topic.
func (b *Broker) topicMeta(name string) (controller.Topic, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ts, ok := b.topics[name]
	if !ok {
		return controller.Topic{}, false
	}
	return ts.meta, true
}

// effectiveConfig is the static configuration with dynamic broker configs
// (cluster-wide defaults, then this broker's) applied.
func (b *Broker) effectiveConfig() *config.Broker {
	return b.cfg.WithDynamic(b.store.BrokerConfigs(-1), b.store.BrokerConfigs(b.cfg.BrokerID))
}
