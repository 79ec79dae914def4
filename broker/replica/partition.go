package replica

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// Partition is one partition this broker hosts as leader or follower: its
// log, its replication state (leader.go) and the waiters that delayed
// Fetch and acks=all Produce requests park.
type Partition struct {
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

	// Leader only (leader.go), guarded by isrMu, taken under roleMu.
	isrMu      sync.Mutex
	followers  map[int32]*followerState
	pendingISR []int32 // an ISR change in flight; nil when none

	// changed is closed (and dropped) whenever the high watermark moves
	// or the role changes: acks=all produces wait on it. nil until a
	// waiter asks for it (changedSignal).
	changedMu sync.Mutex
	changed   chan struct{}

	waitMu  sync.Mutex
	waiters map[chan struct{}]struct{}

	traffic Traffic // status.go
}

// replicaRole is this broker's part in a partition.
type replicaRole int8

const (
	roleNone     replicaRole = iota // not a replica (or not yet told)
	roleLeader                      // takes produce and serves fetches
	roleFollower                    // copies the leader's log
)

func newPartition(topic string, id controller.TopicID, index int32, l *plog.Log, self int32) *Partition {
	p := &Partition{topic: topic, topicID: id, index: index, log: l, self: self}
	p.leaderID.Store(-1)
	p.leaderEpoch.Store(-1)
	p.epochStartOffset.Store(-1)
	return p
}

// Topic is the partition's topic.
func (p *Partition) Topic() string { return p.topic }

// Index is the partition's number in its topic.
func (p *Partition) Index() int32 { return p.index }

// Log is the partition's log, for reads (Fetch, ListOffsets,
// OffsetForLeaderEpoch, the group coordinator's replay) and for
// DeleteRecords. Appends and truncations go through the Manager only: a
// leader's through AppendAsLeader, a follower's through its fetcher.
func (p *Partition) Log() *plog.Log { return p.log }

// Config returns the topic's resolved configuration.
func (p *Partition) Config() *config.Topic { return p.topicConfig.Load() }

// HighWatermark is the offset below which consumers may read.
func (p *Partition) HighWatermark() int64 {
	return p.log.HighWatermark()
}

// LeaderEpoch is the leader epoch of the partition state last applied
// (-1 before any).
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// OffsetsUnsettled reports whether this broker became leader so recently
// that its high watermark is still below the start of its epoch: the
// previous leader may have committed records it does not count yet, so
// the latest offset would appear to go backwards (Kafka answers
// OFFSET_NOT_AVAILABLE then).
func (p *Partition) OffsetsUnsettled() bool {
	start := p.epochStartOffset.Load()
	return start >= 0 && p.log.HighWatermark() < start
}

// IsLeader reports whether this broker leads the partition now.
func (p *Partition) IsLeader() bool { return p.leaderID.Load() == p.self }

// Watch registers ch to be signalled (non-blocking) on the next append or
// high watermark move.
func (p *Partition) Watch(ch chan struct{}) {
	p.waitMu.Lock()
	if p.waiters == nil {
		p.waiters = make(map[chan struct{}]struct{})
	}
	p.waiters[ch] = struct{}{}
	p.waitMu.Unlock()
}

// Unwatch undoes Watch.
func (p *Partition) Unwatch(ch chan struct{}) {
	p.waitMu.Lock()
	delete(p.waiters, ch)
	p.waitMu.Unlock()
}

// notifyAppended wakes every parked fetch that watches this partition.
func (p *Partition) notifyAppended() {
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
func (p *Partition) changedSignal() <-chan struct{} {
	p.changedMu.Lock()
	defer p.changedMu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// signalChanged wakes acks=all produces and delayed fetches. The channel
// is made when a waiter asks for it, so an append nobody waits on (acks
// 0 or 1, or acks=all already replicated) makes and closes none.
func (p *Partition) signalChanged() {
	p.changedMu.Lock()
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
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

// msDuration converts a Kafka millisecond setting. Negative means
// unlimited (-1); values too large for a Duration (Kafka's Long.MAX_VALUE
// for "never") saturate.
func msDuration(ms int64) time.Duration {
	if ms < 0 {
		return -1
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}
