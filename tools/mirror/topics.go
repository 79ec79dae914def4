package mirror

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicState is what the mirror knows of one mirrored topic's copy.
type topicState struct {
	partitions int32             // on the target
	configs    map[string]string // copied to the target
}

// refreshTopics reads the source's topics and brings their copies on the
// target in line: creates the missing, grows partition counts, sets
// changed configs, and starts consuming topics whose copy is ready. A
// topic that fails is logged and tried again at the next refresh; only a
// source that cannot be listed is an error.
func (m *mirror) refreshTopics(ctx context.Context) error {
	// Asked of a broker each time, as targetPartitions does: the
	// client's metadata cache can hide new partitions for seconds.
	req := kmsg.NewPtrMetadataRequest() // no topics named: all of them
	resp, err := req.RequestWith(ctx, m.src)
	if err != nil {
		return fmt.Errorf("list source topics: %w", err)
	}
	source := make(map[string]int32)
	for _, t := range resp.Topics {
		if t.Topic != nil && t.ErrorCode == 0 && m.cfg.mirrored(*t.Topic) {
			source[*t.Topic] = int32(len(t.Partitions))
		}
	}
	if len(source) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(source))
	configs, err := m.sourceConfigs(ctx, names)
	if err != nil {
		return err
	}
	var added []string
	grown := false
	for _, name := range names {
		st, known := m.topics[name]
		wasPartitions := int32(0)
		if known {
			wasPartitions = st.partitions
		}
		st, err := m.syncTopic(ctx, name, source[name], configs[name], st)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.logf("topic %s: %v", name, err)
			continue
		}
		m.topics[name] = st
		if !known {
			added = append(added, name)
		} else if st.partitions > wasPartitions {
			grown = true
		}
	}
	if len(added) > 0 {
		m.src.AddConsumeTopics(added...)
	}
	if grown {
		m.src.ForceMetadataRefresh() // the group's leader assigns the new partitions
	}
	return nil
}

// sourceConfigs returns, per topic, the configs set on the topic itself
// (not inherited from the broker), less the excluded ones.
func (m *mirror) sourceConfigs(ctx context.Context, topics []string) (map[string]map[string]string, error) {
	described, err := m.srcAdm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("describe source topic configs: %w", err)
	}
	out := make(map[string]map[string]string)
	for _, rc := range described {
		if rc.Err != nil {
			continue // deleted since listed
		}
		out[rc.Name] = topicOverrides(rc.Configs, m.cfg.configCopied)
	}
	return out, nil
}

// topicOverrides keeps the configs set on a topic itself: broker
// defaults, read-only and sensitive values (which DescribeConfigs does
// not show) are not the topic's to copy.
func topicOverrides(configs []kadm.Config, copied func(string) bool) map[string]string {
	out := make(map[string]string)
	for _, c := range configs {
		if c.Source != kmsg.ConfigSourceDynamicTopicConfig || c.Value == nil || c.Sensitive || !copied(c.Key) {
			continue
		}
		out[c.Key] = *c.Value
	}
	return out
}

// syncTopic brings one topic's copy in line with the source.
func (m *mirror) syncTopic(ctx context.Context, name string, partitions int32, configs map[string]string, st *topicState) (*topicState, error) {
	target := m.cfg.targetTopic(name)
	if st == nil {
		existing, err := m.targetPartitions(ctx, target)
		if err != nil {
			return nil, err
		}
		if existing == 0 {
			if err := m.createTopic(ctx, target, partitions, configs); err != nil {
				return nil, err
			}
			return &topicState{partitions: partitions, configs: configs}, nil
		}
		st = &topicState{partitions: existing}
	}
	if st.partitions < partitions {
		if err := m.growTopic(ctx, target, partitions); err != nil {
			return nil, err
		}
		st.partitions = partitions
	}
	if !maps.Equal(st.configs, configs) {
		if err := m.setConfigs(ctx, target, configs, st.configs); err != nil {
			return nil, err
		}
		st.configs = configs
	}
	return st, nil
}

// targetPartitions is a target topic's partition count (0: no topic).
// It asks a broker each time: kadm's answers come from the client's
// metadata cache, which would hide a topic created a moment ago.
func (m *mirror) targetPartitions(ctx context.Context, topic string) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, m.tgt)
	if err != nil {
		return 0, fmt.Errorf("describe target topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("describe target topic %s: %w", topic, err)
		}
		return int32(len(t.Partitions)), nil
	}
	return 0, nil
}

func (m *mirror) createTopic(ctx context.Context, topic string, partitions int32, configs map[string]string) error {
	cfgs := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := m.tgtAdm.CreateTopic(ctx, partitions, m.cfg.ReplicationFactor, cfgs, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		if resp.ErrMessage != "" {
			err = fmt.Errorf("%w: %s", err, resp.ErrMessage)
		}
		return fmt.Errorf("create target topic %s: %w", topic, err)
	}
	if err := m.awaitPartitions(ctx, topic, partitions); err != nil {
		return err
	}
	m.logf("created topic %s on the target: %d partitions%s", topic, partitions, describeConfigs(configs))
	return nil
}

// growTopic raises a target topic's partition count to the source's, and
// makes the producer read the topic's metadata again (franz-go fails a
// record for a partition it does not know at once).
func (m *mirror) growTopic(ctx context.Context, topic string, partitions int32) error {
	resp, err := m.tgtAdm.UpdatePartitions(ctx, int(partitions), topic)
	if err == nil {
		err = resp.Error()
	}
	if err != nil && !errors.Is(err, kerr.InvalidPartitions) { // already as many
		return fmt.Errorf("grow target topic %s to %d partitions: %w", topic, partitions, err)
	}
	if err := m.awaitPartitions(ctx, topic, partitions); err != nil {
		return err
	}
	m.tgt.PurgeTopicsFromClient(topic)
	m.logf("grew topic %s on the target to %d partitions", topic, partitions)
	return nil
}

// awaitPartitions waits until the target's metadata shows the topic with
// at least the given partition count.
func (m *mirror) awaitPartitions(ctx context.Context, topic string, partitions int32) error {
	for {
		n, err := m.targetPartitions(ctx, topic)
		if err == nil && n >= partitions {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("target topic %s has %d of %d partitions: %w", topic, n, partitions, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// setConfigs sets the configs that changed on the source (those removed
// there are left as they are on the target).
func (m *mirror) setConfigs(ctx context.Context, topic string, configs, was map[string]string) error {
	var alter []kadm.AlterConfig
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		if old, ok := was[k]; !ok || old != configs[k] {
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(configs[k])})
		}
	}
	if len(alter) == 0 {
		return nil
	}
	resp, err := m.tgtAdm.AlterTopicConfigs(ctx, alter, topic)
	if err == nil {
		_, err = resp.On(topic, func(r *kadm.AlterConfigsResponse) error {
			if r.Err != nil && r.ErrMessage != "" {
				return fmt.Errorf("%w: %s", r.Err, r.ErrMessage)
			}
			return r.Err
		})
	}
	if err != nil {
		return fmt.Errorf("set configs of target topic %s: %w", topic, err)
	}
	m.logf("set configs of topic %s on the target:%s", topic, describeConfigs(configs))
	return nil
}

func describeConfigs(configs map[string]string) string {
	if len(configs) == 0 {
		return ""
	}
	kv := make([]string, 0, len(configs))
	for k, v := range configs {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return ", " + strings.Join(kv, ", ")
}

// ensurePartition makes sure a record's partition exists on the target
// before it is produced: a source topic can grow between refreshes.
func (m *mirror) ensurePartition(ctx context.Context, topic string, partition int32) error {
	st := m.topics[topic]
	if st == nil {
		return fmt.Errorf("record of topic %s, which is not being mirrored", topic)
	}
	if partition < st.partitions {
		return nil
	}
	if err := m.growTopic(ctx, m.cfg.targetTopic(topic), partition+1); err != nil {
		return err
	}
	st.partitions = partition + 1
	return nil
}
