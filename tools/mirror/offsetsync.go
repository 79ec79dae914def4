package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxRunsPerPartition bounds the offset syncs kept per partition; the
// oldest go first, so only offsets committed long ago stop translating.
const maxRunsPerPartition = 1024

// OffsetSyncsTopic is the compacted target topic a mirror consuming as
// group keeps its offset syncs in. Its name ends in ".internal", so a
// mirror in the other direction leaves it alone by default.
func OffsetSyncsTopic(group string) string {
	return "samsa-mirror-offset-syncs." + group + ".internal"
}

// topicPartition names a source partition.
type topicPartition struct {
	Topic     string
	Partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// offsetRun says that Count source records, at offsets Source to
// Source+Count-1, are on the target at Target to Target+Count-1.
type offsetRun struct {
	Source int64 `json:"source"`
	Target int64 `json:"target"`
	Count  int64 `json:"count"`
}

// offsetSyncs maps source offsets to target offsets, per source
// partition, from the records the target acknowledged. Runs are kept in
// the order they were made: a later run is at higher target offsets.
type offsetSyncs struct {
	runs map[topicPartition][]offsetRun
}

func newOffsetSyncs() *offsetSyncs {
	return &offsetSyncs{runs: make(map[topicPartition][]offsetRun)}
}

// add records that source offset src of tp is at target offset tgt. It
// extends the newest run when both offsets follow it, else starts a run,
// and returns the run that now holds the pair.
func (s *offsetSyncs) add(tp topicPartition, src, tgt int64) offsetRun {
	runs := s.runs[tp]
	if n := len(runs); n > 0 {
		last := &runs[n-1]
		if src == last.Source+last.Count && tgt == last.Target+last.Count {
			last.Count++
			return *last
		}
	}
	run := offsetRun{Source: src, Target: tgt, Count: 1}
	s.put(tp, run)
	return run
}

// put sets a run read back from the offset-syncs topic: a newer state of
// a run already known (same start) replaces it, another is appended.
func (s *offsetSyncs) put(tp topicPartition, run offsetRun) {
	runs := s.runs[tp]
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Source == run.Source && runs[i].Target == run.Target {
			runs[i] = run
			return
		}
	}
	runs = append(runs, run)
	if len(runs) > maxRunsPerPartition {
		runs = runs[len(runs)-maxRunsPerPartition:]
	}
	s.runs[tp] = runs
}

// translate maps a committed source offset (the next record a group
// would read) to the target: the newest run starting at or before it
// decides. Inside the run the answer is exact; past its end it is the
// offset after the run's last record, which the records between (not
// mirrored yet, or not records at all) can only follow: never ahead of
// the group's real position, as MirrorMaker 2 translates. Before every
// known run there is no answer.
func (s *offsetSyncs) translate(tp topicPartition, committed int64) (int64, bool) {
	runs := s.runs[tp]
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Source > committed {
			continue
		}
		if committed < r.Source+r.Count {
			return r.Target + committed - r.Source, true
		}
		return r.Target + r.Count, true
	}
	return 0, false
}

// offsetSync is one record of the offset-syncs topic: a run's current
// state, keyed by its partition and start so that compaction keeps one
// record per run.
type offsetSync struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	offsetRun
}

func (o offsetSync) key() []byte {
	return fmt.Appendf(nil, "%s/%d/%d/%d", o.Topic, o.Partition, o.Source, o.Target)
}

func (o offsetSync) value() []byte {
	v, _ := json.Marshal(o) // plain fields: cannot fail
	return v
}

func parseOffsetSync(value []byte) (offsetSync, error) {
	var o offsetSync
	if err := json.Unmarshal(value, &o); err != nil {
		return o, fmt.Errorf("offset sync %q: %w", value, err)
	}
	if o.Topic == "" || o.Count < 1 || o.Source < 0 || o.Target < 0 {
		return o, fmt.Errorf("offset sync %q: incomplete", value)
	}
	return o, nil
}

// offsetSyncKey names a run: its partition and where it starts.
type offsetSyncKey struct {
	tp             topicPartition
	source, target int64
}

// writeOffsetSyncs sends the runs a poll changed to the offset-syncs
// topic. They need not be acknowledged before the source offsets are
// committed: a lost sync only makes translation fall back to an older
// run, which is behind, never ahead.
func (m *mirror) writeOffsetSyncs(runs map[offsetSyncKey]offsetRun) {
	topic := OffsetSyncsTopic(m.cfg.Group)
	for k, run := range runs {
		o := offsetSync{Topic: k.tp.Topic, Partition: k.tp.Partition, offsetRun: run}
		m.tgt.Produce(context.Background(), &kgo.Record{Topic: topic, Partition: 0, Key: o.key(), Value: o.value()},
			func(r *kgo.Record, err error) {
				if err != nil {
					m.logf("write offset sync %s: %v", r.Key, err)
				}
			})
	}
}

// loadOffsetSyncs creates the offset-syncs topic on the target, or reads
// the runs it holds back.
func (m *mirror) loadOffsetSyncs(ctx context.Context) error {
	topic := OffsetSyncsTopic(m.cfg.Group)
	n, err := m.targetPartitions(ctx, topic)
	if err != nil {
		return err
	}
	if n == 0 {
		resp, err := m.tgtAdm.CreateTopic(ctx, 1, m.cfg.ReplicationFactor, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create offset-syncs topic %s on the target: %w %s", topic, err, resp.ErrMessage)
		}
		return m.awaitPartitions(ctx, topic, 1)
	}
	starts, err := m.tgtAdm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("read offset-syncs topic %s: %w", topic, err)
	}
	ends, err := m.tgtAdm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("read offset-syncs topic %s: %w", topic, err)
	}
	remaining := make(map[int32]int64) // partition → end offset not reached yet
	from := make(map[int32]kgo.Offset)
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(topic, o.Partition); ok && o.Offset > s.Offset {
			remaining[o.Partition] = o.Offset
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
		}
	})
	if len(remaining) == 0 {
		return nil
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(m.cfg.Target...)}, m.cfg.TargetOpts...)
	reader, err := kgo.NewClient(append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))...)
	if err != nil {
		return fmt.Errorf("read offset-syncs topic %s: %w", topic, err)
	}
	defer reader.Close()
	loaded := 0
	for len(remaining) > 0 {
		fetches := reader.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read offset-syncs topic %s: %w", topic, err)
		}
		fetches.EachError(func(_ string, p int32, err error) {
			m.logf("read offset-syncs topic %s/%d: %v", topic, p, err)
		})
		for _, r := range fetches.Records() {
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
			o, err := parseOffsetSync(r.Value)
			if err != nil {
				m.logf("skip %s/%d offset %d: %v", topic, r.Partition, r.Offset, err)
				continue
			}
			m.syncs.put(topicPartition{o.Topic, o.Partition}, o.offsetRun)
			loaded++
		}
	}
	m.logf("read %d offset syncs from %s", loaded, topic)
	return nil
}
