package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// syncGroupOffsets is MirrorMaker 2's checkpointing with
// sync.group.offsets.enabled: the committed offsets of the selected
// source groups, on mirrored topics, are translated through the offset
// syncs and committed to the same groups on the target, renamed topics
// and all. A group with members on the target is left alone (its
// consumers own their offsets there), and an offset is only moved
// forward, so a consumer that already moved to the target and committed
// further is never sent back. It returns the first error; the groups
// after it are still synced.
func (m *mirror) syncGroupOffsets(ctx context.Context) error {
	listed, err := m.srcAdm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list source groups: %w", err)
	}
	var groups []string
	for _, g := range listed.Sorted() {
		if m.cfg.groupSynced(g.Group) {
			groups = append(groups, g.Group)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	active, err := m.activeTargetGroups(ctx, groups)
	if err != nil {
		return err
	}
	var errs []error
	for _, group := range groups {
		if active[group] {
			continue
		}
		n, err := m.syncGroup(ctx, group)
		m.groupOffsets += n
		if err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", group, err))
		}
	}
	return errors.Join(errs...)
}

// activeTargetGroups are the groups that have members on the target.
func (m *mirror) activeTargetGroups(ctx context.Context, groups []string) (map[string]bool, error) {
	described, err := m.tgtAdm.DescribeGroups(ctx, groups...)
	if err != nil {
		var shards *kadm.ShardErrors
		if !errors.As(err, &shards) {
			return nil, fmt.Errorf("describe target groups: %w", err)
		}
	}
	active := make(map[string]bool)
	for _, g := range groups {
		d, ok := described[g]
		switch {
		case ok && errors.Is(d.Err, kerr.GroupIDNotFound):
			// No such group on the target yet: DescribeGroups v6+
			// (KIP-1043) says so; older versions answer state Dead.
		case !ok || d.Err != nil || len(d.Members) > 0:
			// A group that could not be described might be active:
			// skip it this round rather than commit under its
			// consumers.
			active[g] = true
		}
	}
	return active, nil
}

// syncGroup commits one source group's translated offsets to the target
// and returns how many partition offsets it moved.
func (m *mirror) syncGroup(ctx context.Context, group string) (int, error) {
	committed, err := m.srcAdm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("fetch source offsets: %w", err)
	}
	translated := make(kadm.Offsets)
	var topics []string
	committed.Each(func(o kadm.OffsetResponse) {
		if _, ok := m.topics[o.Topic]; !ok || o.At < 0 {
			return
		}
		at, ok := m.syncs.translate(topicPartition{o.Topic, o.Partition}, o.At)
		if !ok {
			return
		}
		target := m.cfg.targetTopic(o.Topic)
		translated.Add(kadm.Offset{Topic: target, Partition: o.Partition, At: at, LeaderEpoch: -1, Metadata: o.Metadata})
		if !slices.Contains(topics, target) {
			topics = append(topics, target)
		}
	})
	if len(translated) == 0 {
		return 0, nil
	}
	current, err := m.tgtAdm.FetchOffsetsForTopics(ctx, group, topics...)
	if err == nil {
		err = current.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("fetch target offsets: %w", err)
	}
	forward := make(kadm.Offsets)
	translated.Each(func(o kadm.Offset) {
		if have, ok := current.Lookup(o.Topic, o.Partition); ok && have.Err == nil && have.At >= o.At {
			return
		}
		forward.Add(o)
	})
	if len(forward) == 0 {
		return 0, nil
	}
	resp, err := m.tgtAdm.CommitOffsets(ctx, group, forward)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("commit target offsets: %w", err)
	}
	n := 0
	forward.Each(func(kadm.Offset) { n++ })
	return n, nil
}
