package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/tools/cli"
)

// TopicDoc is one topic of `topics describe -o json`:
// {"topics": [TopicDoc, ...]}, sorted by name.
type TopicDoc struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Internal          bool   `json:"internal"`
	PartitionCount    int    `json:"partition_count"`
	ReplicationFactor int    `json:"replication_factor"`
	// Configs are the configs whose source is not DEFAULT_CONFIG: the
	// topic's overrides and what the brokers' configuration sets.
	Configs []ConfigDoc `json:"configs"`
	// Partitions are the topic's partitions by number; with a partition
	// filter (--under-replicated-partitions, ...) only those it keeps.
	Partitions []PartitionDoc `json:"partitions"`
}

// PartitionDoc is one partition of a TopicDoc.
type PartitionDoc struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"` // -1: none
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	OfflineReplicas []int32 `json:"offline_replicas"`
	// UnderReplicated: fewer in-sync replicas than replicas.
	UnderReplicated bool `json:"under_replicated"`
	// Offline: no leader (or one that is not among the live brokers),
	// so no one can read or write it.
	Offline bool `json:"offline"`
	// AtMinISR and UnderMinISR compare the ISR's size to the topic's
	// min.insync.replicas: at it, one more loss stops acks=all writes;
	// under it (or offline, as kafka-topics.sh counts it), they are
	// refused now.
	AtMinISR    bool `json:"at_min_isr"`
	UnderMinISR bool `json:"under_min_isr"`
	// Error is Kafka's error name for a partition the broker could not
	// describe ("" when none).
	Error string `json:"error"`
}

// marks are the partition's marks for a table's STATUS column. At
// min.insync.replicas is left out: it is every healthy partition of a
// topic with one replica.
func (p PartitionDoc) marks() string {
	var m []string
	if p.Offline {
		m = append(m, "offline")
	}
	if p.UnderReplicated {
		m = append(m, "under-replicated")
	}
	// An offline partition is under min.insync.replicas, and its broker
	// answers LEADER_NOT_AVAILABLE, by being offline: one mark says it.
	if p.UnderMinISR && !p.Offline {
		m = append(m, "under-min-isr")
	}
	if p.Error != "" && !(p.Offline && p.Error == kerr.LeaderNotAvailable.Message) {
		m = append(m, p.Error)
	}
	return dash(strings.Join(m, ","))
}

// partitionFilter is describe's choice of partitions (kafka-topics.sh's
// --under-replicated-partitions and the rest); any set flag keeps a
// partition that matches it.
type partitionFilter struct {
	underReplicated, unavailable, atMinISR, underMinISR bool
}

func (f partitionFilter) any() bool {
	return f.underReplicated || f.unavailable || f.atMinISR || f.underMinISR
}

func (f partitionFilter) keep(p PartitionDoc) bool {
	return f.underReplicated && p.UnderReplicated || f.unavailable && p.Offline ||
		f.atMinISR && p.AtMinISR || f.underMinISR && p.UnderMinISR
}

func newTopicsDescribeCommand(env *cli.Env) *cobra.Command {
	var (
		flagTopics      []string
		ifExists        bool
		excludeInternal bool
		filter          partitionFilter
		withOverrides   bool
	)
	cmd := &cobra.Command{
		Use:   "describe [TOPIC...]",
		Short: "Describe topics: partitions, leaders, replicas, ISR, and configs that differ from the defaults",
		Example: `  samsa topics describe orders
  samsa topics describe --under-replicated-partitions`,
		ValidArgsFunction: cli.CompleteTopics(env),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := topicArgs(flagTopics, args)
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			docs, err := describeTopics(ctx, s, names, ifExists)
			if err != nil {
				return err
			}
			kept := []TopicDoc{}
			for _, d := range docs {
				if excludeInternal && d.Internal || withOverrides && !hasOverrides(d) {
					continue
				}
				if filter.any() {
					var parts []PartitionDoc
					for _, p := range d.Partitions {
						if filter.keep(p) {
							parts = append(parts, p)
						}
					}
					if len(parts) == 0 {
						continue
					}
					d.Partitions = parts
				}
				kept = append(kept, d)
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, struct {
					Topics []TopicDoc `json:"topics"`
				}{kept})
			}
			switch {
			case filter.any():
				// As kafka-topics.sh: only the partitions that match, one
				// table for all topics.
				return printPartitions(env, kept, true)
			case withOverrides:
				// As kafka-topics.sh: the topic lines only.
				for _, d := range kept {
					if err := printTopicLine(env, d); err != nil {
						return err
					}
				}
				return nil
			}
			for i, d := range kept {
				if i > 0 {
					fmt.Fprintln(env.Stdout)
				}
				if err := printTopicLine(env, d); err != nil {
					return err
				}
				if err := printPartitions(env, []TopicDoc{d}, false); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&flagTopics, "topic", nil, "a topic to describe (repeatable; or give them as arguments; none: every topic)")
	f.BoolVar(&ifExists, "if-exists", false, "skip topics that do not exist instead of failing")
	f.BoolVar(&excludeInternal, "exclude-internal", false, "leave out internal topics")
	f.BoolVar(&filter.underReplicated, "under-replicated-partitions", false, "only partitions with fewer in-sync replicas than replicas")
	f.BoolVar(&filter.unavailable, "unavailable-partitions", false, "only partitions without a leader")
	f.BoolVar(&filter.atMinISR, "at-min-isr-partitions", false, "only partitions whose ISR is as small as min.insync.replicas")
	f.BoolVar(&filter.underMinISR, "under-min-isr-partitions", false, "only partitions whose ISR is smaller than min.insync.replicas")
	f.BoolVar(&withOverrides, "topics-with-overrides", false, "only topics with configs that differ from the defaults (and no partitions)")
	cmd.RegisterFlagCompletionFunc("topic", cli.CompleteTopics(env))
	return cmd
}

func hasOverrides(d TopicDoc) bool {
	for _, c := range d.Configs {
		if c.Source == kmsg.ConfigSourceDynamicTopicConfig.String() {
			return true
		}
	}
	return false
}

// printTopicLine prints a topic's line with kafka-topics.sh's labels, so
// that what scripts grep for in its output is found here too (TopicId is
// left out, as there, on a cluster without topic IDs).
func printTopicLine(env *cli.Env, d TopicDoc) error {
	configs := make([]string, len(d.Configs))
	for i, c := range d.Configs {
		configs[i] = c.Name + "=" + c.shownValue()
	}
	id := ""
	if d.ID != "" {
		id = "\tTopicId: " + d.ID
	}
	_, err := fmt.Fprintf(env.Stdout, "Topic: %s%s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
		d.Name, id, d.PartitionCount, d.ReplicationFactor, strings.Join(configs, ","))
	return err
}

func printPartitions(env *cli.Env, docs []TopicDoc, withTopic bool) error {
	header := []string{"PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE", "STATUS"}
	if withTopic {
		header = append([]string{"TOPIC"}, header...)
	}
	t := cli.NewTable(env.Stdout, header...)
	for _, d := range docs {
		for _, p := range d.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = strconv.Itoa(int(p.Leader))
			}
			row := []any{p.Partition, leader, dash(brokerList(p.Replicas)), dash(brokerList(p.ISR)), dash(brokerList(p.OfflineReplicas)), p.marks()}
			if withTopic {
				row = append([]any{d.Name}, row...)
			}
			t.Row(row...)
		}
	}
	return t.Flush()
}

// describeTopics describes the topics named (none: every topic), sorted
// by name. A missing topic is an error unless skipMissing.
func describeTopics(ctx context.Context, s *session, names []string, skipMissing bool) ([]TopicDoc, error) {
	m, err := s.adm.Metadata(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describe topics: %w", err)
	}
	topics := m.Topics
	live := map[int32]bool{}
	for _, b := range m.Brokers {
		live[b.NodeID] = true
	}
	var found []string
	for _, name := range names {
		err := topics[name].Err
		switch {
		case err == nil:
			found = append(found, name)
		case skipMissing && errors.Is(err, kerr.UnknownTopicOrPartition):
			delete(topics, name)
		default:
			return nil, refused(name, err, "")
		}
	}
	if len(names) == 0 {
		for name, td := range topics {
			if td.Err != nil { // deleted since the listing began
				delete(topics, name)
				continue
			}
			found = append(found, name)
		}
	}
	configs, err := s.describeConfigs(ctx, kmsg.ConfigResourceTypeTopic, found)
	if err != nil {
		return nil, err
	}
	var docs []TopicDoc
	for _, td := range topics.Sorted() {
		rc := configs[td.Topic]
		if rc.err != nil {
			return nil, fmt.Errorf("describe configs of topic %q: %w", td.Topic, refused(td.Topic, rc.err, rc.errMessage))
		}
		docs = append(docs, topicDoc(td, rc.configs, live))
	}
	return docs, nil
}

// topicDoc is a TopicDoc from a topic's metadata and configs; live are
// the brokers the same metadata listed.
func topicDoc(td kadm.TopicDetail, configs []kmsg.DescribeConfigsResponseResourceConfig, live map[int32]bool) TopicDoc {
	d := TopicDoc{Name: td.Topic, ID: topicID(td.ID), Internal: td.IsInternal, PartitionCount: len(td.Partitions),
		ReplicationFactor: td.Partitions.NumReplicas(), Configs: []ConfigDoc{}, Partitions: []PartitionDoc{}}
	minISR := 1
	for _, c := range configs {
		if c.Name == "min.insync.replicas" && c.Value != nil {
			if n, err := strconv.Atoi(*c.Value); err == nil {
				minISR = n
			}
		}
		if c.Source != kmsg.ConfigSourceDefaultConfig {
			d.Configs = append(d.Configs, configDoc(c))
		}
	}
	sort.Slice(d.Configs, func(i, j int) bool { return d.Configs[i].Name < d.Configs[j].Name })
	for _, pd := range td.Partitions.Sorted() {
		p := PartitionDoc{Partition: pd.Partition, Leader: pd.Leader, LeaderEpoch: pd.LeaderEpoch,
			Replicas: nonNil(pd.Replicas), ISR: nonNil(pd.ISR), OfflineReplicas: nonNil(pd.OfflineReplicas)}
		var ke *kerr.Error
		if errors.As(pd.Err, &ke) {
			p.Error = ke.Message
		}
		p.UnderReplicated = len(p.ISR) < len(p.Replicas)
		// As kafka-topics.sh's --unavailable-partitions: no leader, or
		// one the cluster no longer lists among its brokers.
		p.Offline = p.Leader < 0 || !live[p.Leader]
		p.AtMinISR = len(p.ISR) == minISR
		// As kafka-topics.sh: a partition without a leader takes no
		// writes, so it counts as under min.insync.replicas too.
		p.UnderMinISR = p.Offline || len(p.ISR) < minISR
		d.Partitions = append(d.Partitions, p)
	}
	return d
}
