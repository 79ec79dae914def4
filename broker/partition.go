package broker

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// partition is one partition this broker hosts: its log and the waiters
// that a delayed Fetch parks until data arrives.
type partition struct {
	topic   string
	topicID controller.TopicID
	index   int32
	log     *plog.Log

	// leaderEpoch is the epoch of the current leadership (the store's).
	leaderEpoch atomic.Int32
	// topicConfig is the topic's resolved configuration, replaced when
	// configs change.
	topicConfig atomic.Pointer[config.Topic]

	waitMu  sync.Mutex
	waiters map[chan struct{}]struct{}
}

// config returns the topic's resolved configuration.
func (p *partition) config() *config.Topic { return p.topicConfig.Load() }

// highWatermark is the offset below which consumers may read.
func (p *partition) highWatermark() int64 {
	return p.log.HighWatermark()
}

// watch registers ch to be signalled (non-blocking) on the next append.
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

// syncTopics brings the partition table in line with the store: it opens
// logs for new partitions, applies config changes, and deletes the logs of
// topics that are gone (including directories left from before a restart).
func (b *Broker) syncTopics() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg := b.effectiveConfig()
	want := make(map[string]controller.Topic)
	for _, t := range b.store.Topics() {
		want[t.Name] = t
	}
	var errs []error
	for name, ts := range b.topics {
		t, ok := want[name]
		if ok && t.ID == ts.meta.ID {
			continue
		}
		for _, p := range ts.partitions {
			if err := b.logs.Delete(name, p.index); err != nil {
				errs = append(errs, fmt.Errorf("delete %s-%d: %w", name, p.index, err))
			}
		}
		delete(b.topics, name)
	}
	for name, t := range want {
		ts := b.topics[name]
		if ts == nil {
			ts = &topicState{}
			b.topics[name] = ts
		}
		tc := cfg.ResolveTopic(t.Configs)
		lc := logConfig(tc, cfg.ProducerIDExpiration)
		for _, p := range ts.partitions {
			p.log.UpdateConfig(lc)
		}
		for i := len(ts.partitions); i < len(t.Partitions); i++ {
			l, err := b.logs.Open(name, int32(i), t.ID, lc)
			if err != nil {
				errs = append(errs, fmt.Errorf("open %s-%d: %w", name, i, err))
				break
			}
			// Alone, the broker is every partition's leader and whole
			// ISR: everything in the log is committed.
			l.SetHighWatermark(l.Offsets().LogEndOffset)
			ts.partitions = append(ts.partitions, &partition{topic: name, topicID: t.ID, index: int32(i), log: l})
		}
		for i, p := range ts.partitions {
			p.leaderEpoch.Store(t.Partitions[i].LeaderEpoch)
			p.topicConfig.Store(&tc)
		}
		ts.meta = t
	}
	for _, tp := range b.logs.Existing() {
		if ts, ok := b.topics[tp.Topic]; ok && int(tp.Partition) < len(ts.partitions) {
			continue
		}
		if err := b.logs.Delete(tp.Topic, tp.Partition); err != nil {
			errs = append(errs, fmt.Errorf("delete orphan %s-%d: %w", tp.Topic, tp.Partition, err))
		}
	}
	return errors.Join(errs...)
}

// lookupPartition finds a hosted partition by topic name.
func (b *Broker) lookupPartition(topic string, index int32) (*partition, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ts, ok := b.topics[topic]
	if !ok || index < 0 || int(index) >= len(ts.partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	return ts.partitions[index], nil
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
