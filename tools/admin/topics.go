package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/tools/cli"
)

// NewTopicsCommand is `samsa topics`: create, list, describe, alter and
// delete topics, with kafka-topics.sh's flags.
func NewTopicsCommand(env *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create, list, describe, alter and delete topics",
		Args:  cli.Args(cobra.NoArgs),
	}
	cmd.AddCommand(
		newTopicsCreateCommand(env),
		newTopicsListCommand(env),
		newTopicsDescribeCommand(env),
		newTopicsAlterCommand(env),
		newTopicsDeleteCommand(env),
	)
	return cmd
}

// CreatedTopicDoc is `topics create -o json`.
type CreatedTopicDoc struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int16  `json:"replication_factor"`
	// Created is false when --if-not-exists found the topic already
	// there (its partitions and replication factor are then the existing
	// topic's).
	Created bool `json:"created"`
}

func newTopicsCreateCommand(env *cli.Env) *cobra.Command {
	var (
		topic       string
		partitions  int32
		rf          int16
		assignment  string
		configs     []string
		ifNotExists bool
	)
	cmd := &cobra.Command{
		Use:   "create [TOPIC]",
		Short: "Create a topic",
		Example: `  samsa topics create orders --partitions 6 --replication-factor 3 --config retention.ms=86400000
  samsa topics create orders --replica-assignment 1:2,2:3,3:1`,
		Args:              cli.Args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := topicArg(topic, args)
			if err != nil {
				return err
			}
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic = name
			// -1: the broker's num.partitions and default.replication.factor
			// (KIP-464), as kafka-topics.sh leaves them to the broker.
			rt.NumPartitions, rt.ReplicationFactor = -1, -1
			if cmd.Flags().Changed("partitions") {
				if partitions < 1 {
					return cli.Usagef("--partitions %d: want at least 1", partitions)
				}
				rt.NumPartitions = partitions
			}
			if cmd.Flags().Changed("replication-factor") {
				if rf < 1 {
					return cli.Usagef("--replication-factor %d: want at least 1", rf)
				}
				rt.ReplicationFactor = rf
			}
			if assignment != "" {
				if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
					return cli.Usagef("--replica-assignment cannot be used with --partitions or --replication-factor")
				}
				replicas, err := parseReplicaAssignment(assignment)
				if err != nil {
					return err
				}
				for p, ids := range replicas {
					ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
					ra.Partition, ra.Replicas = int32(p), ids
					rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
				}
			}
			for _, kv := range configs {
				k, v, err := parseKeyValue("config", kv)
				if err != nil {
					return err
				}
				c := kmsg.NewCreateTopicsRequestTopicConfig()
				c.Name, c.Value = k, kmsg.StringPtr(v)
				rt.Configs = append(rt.Configs, c)
			}
			req.Topics = append(req.Topics, rt)
			req.TimeoutMillis = requestTimeoutMillis(env)

			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			resp, err := req.RequestWith(ctx, s.cl)
			if err != nil {
				return fmt.Errorf("create topic %q: %w", name, err)
			}
			if len(resp.Topics) != 1 {
				return fmt.Errorf("create topic %q: the broker answered for %d topics", name, len(resp.Topics))
			}
			got := resp.Topics[0]
			doc := CreatedTopicDoc{Name: name, ID: topicID(got.TopicID), Partitions: got.NumPartitions, ReplicationFactor: got.ReplicationFactor, Created: true}
			if err := kerr.ErrorForCode(got.ErrorCode); err != nil {
				if !ifNotExists || !errors.Is(err, kerr.TopicAlreadyExists) {
					return refused("", err, derefString(got.ErrorMessage))
				}
				doc.Created = false
				if doc, err = existingTopic(ctx, s, name); err != nil {
					return err
				}
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, doc)
			}
			if !doc.Created {
				_, err = fmt.Fprintf(env.Stdout, "Topic %s already exists.\n", name)
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "Created topic %s.\n", name)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "the topic to create (or give it as the argument)")
	f.Int32Var(&partitions, "partitions", 0, "the number of partitions (default: the broker's num.partitions)")
	f.Int16Var(&rf, "replication-factor", 0, "the replicas of each partition (default: the broker's default.replication.factor)")
	f.StringVar(&assignment, "replica-assignment", "", "the replicas of each partition, `p0r1:p0r2,p1r1:p1r2,...` (broker IDs; instead of --partitions and --replication-factor)")
	f.StringArrayVar(&configs, "config", nil, "a topic config override, `key=value` (repeatable)")
	f.BoolVar(&ifNotExists, "if-not-exists", false, "succeed without change if the topic already exists")
	cmd.RegisterFlagCompletionFunc("topic", cobra.NoFileCompletions)
	return cmd
}

// existingTopic is the CreatedTopicDoc of a topic that is already there.
func existingTopic(ctx context.Context, s *session, name string) (CreatedTopicDoc, error) {
	topics, err := s.adm.ListTopicsWithInternal(ctx, name)
	if err != nil {
		return CreatedTopicDoc{}, fmt.Errorf("describe topic %q: %w", name, err)
	}
	td := topics[name]
	if td.Err != nil {
		return CreatedTopicDoc{}, refused(name, td.Err, "")
	}
	return CreatedTopicDoc{Name: name, ID: topicID(td.ID), Partitions: int32(len(td.Partitions)), ReplicationFactor: int16(td.Partitions.NumReplicas())}, nil
}

// parseReplicaAssignment parses kafka-topics.sh's --replica-assignment:
// partitions separated by commas, each a colon-separated list of broker
// IDs, partition 0 first.
func parseReplicaAssignment(s string) ([][]int32, error) {
	var out [][]int32
	for p, part := range strings.Split(s, ",") {
		var ids []int32
		for _, f := range strings.Split(part, ":") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil {
				return nil, cli.Usagef("--replica-assignment %q: partition %d: %q is not a broker ID", s, p, f)
			}
			for _, have := range ids {
				if have == int32(id) {
					return nil, cli.Usagef("--replica-assignment %q: partition %d names broker %d twice", s, p, id)
				}
			}
			ids = append(ids, int32(id))
		}
		if p > 0 && len(ids) != len(out[0]) {
			return nil, cli.Usagef("--replica-assignment %q: partition %d has %d replicas, partition 0 has %d", s, p, len(ids), len(out[0]))
		}
		out = append(out, ids)
	}
	return out, nil
}

// requestTimeoutMillis is the timeout an admin request gives the broker:
// --timeout, else Kafka's admin client default of 30 s.
func requestTimeoutMillis(env *cli.Env) int32 {
	if env.Timeout > 0 {
		return int32(env.Timeout.Milliseconds())
	}
	return 30000
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ListedTopicDoc is one topic of `topics list -o json`:
// {"topics": [ListedTopicDoc, ...]}, sorted by name.
type ListedTopicDoc struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Internal          bool   `json:"internal"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
}

func newTopicsListCommand(env *cli.Env) *cobra.Command {
	var (
		excludeInternal bool
		pattern         string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the topics, with their partition counts and replication factors",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			// kafka-topics.sh --list --topic takes a regular expression
			// that must match the whole name.
			var match *regexp.Regexp
			if pattern != "" {
				if _, err := regexp.Compile(pattern); err != nil {
					return cli.Usagef("--topic: %v", err)
				}
				match = regexp.MustCompile("^(?:" + pattern + ")$")
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			topics, err := s.adm.ListTopicsWithInternal(ctx)
			if err != nil {
				return fmt.Errorf("list topics: %w", err)
			}
			docs := []ListedTopicDoc{}
			for _, td := range topics.Sorted() {
				if td.Err != nil || (excludeInternal && td.IsInternal) || (match != nil && !match.MatchString(td.Topic)) {
					continue
				}
				docs = append(docs, ListedTopicDoc{Name: td.Topic, ID: topicID(td.ID), Internal: td.IsInternal,
					Partitions: len(td.Partitions), ReplicationFactor: td.Partitions.NumReplicas()})
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, struct {
					Topics []ListedTopicDoc `json:"topics"`
				}{docs})
			}
			t := cli.NewTable(env.Stdout, "TOPIC", "PARTITIONS", "REPLICATION-FACTOR")
			for _, d := range docs {
				t.Row(d.Name, d.Partitions, d.ReplicationFactor)
			}
			return t.Flush()
		},
	}
	cmd.Flags().BoolVar(&excludeInternal, "exclude-internal", false, "leave out internal topics (__consumer_offsets, __transaction_state)")
	cmd.Flags().StringVar(&pattern, "topic", "", "list only the topics whose whole name matches this regular expression (e.g. 'orders.*')")
	return cmd
}

// AlteredTopicDoc is `topics alter -o json`.
type AlteredTopicDoc struct {
	Name string `json:"name"`
	// Exists is false when --if-exists found no such topic (and nothing
	// was altered).
	Exists bool `json:"exists"`
	// Partitions is the new partition count, null when not changed.
	Partitions *int32 `json:"partitions"`
	// ConfigsSet are the configs set, by name.
	ConfigsSet map[string]string `json:"configs_set"`
}

func newTopicsAlterCommand(env *cli.Env) *cobra.Command {
	var (
		topic      string
		partitions int32
		configs    []string
		ifExists   bool
	)
	cmd := &cobra.Command{
		Use:   "alter [TOPIC]",
		Short: "Raise a topic's partition count, or set its configs",
		Example: `  samsa topics alter orders --partitions 12
  samsa topics alter orders --config retention.ms=3600000 --config cleanup.policy=compact`,
		Args:              cli.Args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: cli.CompleteTopicsOnce(env),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := topicArg(topic, args)
			if err != nil {
				return err
			}
			setPartitions := cmd.Flags().Changed("partitions")
			if !setPartitions && len(configs) == 0 {
				return cli.Usagef("nothing to alter: give --partitions or --config")
			}
			if setPartitions && partitions < 1 {
				return cli.Usagef("--partitions %d: want at least 1", partitions)
			}
			doc := AlteredTopicDoc{Name: name, Exists: true, ConfigsSet: map[string]string{}}
			var alter []kadm.AlterConfig
			for _, kv := range configs {
				k, v, err := parseKeyValue("config", kv)
				if err != nil {
					return err
				}
				alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
				doc.ConfigsSet[k] = v
			}

			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			topics, err := s.adm.ListTopicsWithInternal(ctx, name)
			if err != nil {
				return fmt.Errorf("describe topic %q: %w", name, err)
			}
			if err := topics[name].Err; err != nil {
				if ifExists && errors.Is(err, kerr.UnknownTopicOrPartition) {
					return printAltered(env, AlteredTopicDoc{Name: name, ConfigsSet: map[string]string{}}, 0)
				}
				return refused(name, err, "")
			}
			before := len(topics[name].Partitions)

			if len(alter) > 0 {
				resps, err := s.adm.AlterTopicConfigs(ctx, alter, name)
				if err != nil {
					return fmt.Errorf("alter configs of topic %q: %w", name, err)
				}
				r, err := resps.On(name, nil)
				if err == nil {
					err = refused(name, r.Err, r.ErrMessage)
				}
				if err != nil {
					return fmt.Errorf("alter configs of topic %q: %w", name, err)
				}
			}
			if setPartitions {
				resps, err := s.adm.UpdatePartitions(ctx, int(partitions), name)
				if err != nil {
					return fmt.Errorf("alter partitions of topic %q: %w", name, err)
				}
				r, err := resps.On(name, nil)
				if err == nil {
					err = refused(name, r.Err, r.ErrMessage)
				}
				if err != nil {
					return fmt.Errorf("alter partitions of topic %q: %w", name, err)
				}
				doc.Partitions = &partitions
			}
			return printAltered(env, doc, before)
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "the topic to alter (or give it as the argument)")
	f.Int32Var(&partitions, "partitions", 0, "the new partition count (only raising it is possible)")
	f.StringArrayVar(&configs, "config", nil, "a topic config to set, `key=value` (repeatable)")
	f.BoolVar(&ifExists, "if-exists", false, "succeed without change if the topic does not exist")
	cmd.RegisterFlagCompletionFunc("topic", cli.CompleteTopics(env))
	return cmd
}

func printAltered(env *cli.Env, doc AlteredTopicDoc, before int) error {
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, doc)
	}
	if !doc.Exists {
		_, err := fmt.Fprintf(env.Stdout, "Topic %s does not exist; nothing altered.\n", doc.Name)
		return err
	}
	if len(doc.ConfigsSet) > 0 {
		keys := make([]string, 0, len(doc.ConfigsSet))
		for k := range doc.ConfigsSet {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + doc.ConfigsSet[k]
		}
		if _, err := fmt.Fprintf(env.Stdout, "Set configs of topic %s: %s.\n", doc.Name, strings.Join(keys, ", ")); err != nil {
			return err
		}
	}
	if doc.Partitions != nil {
		if _, err := fmt.Fprintf(env.Stdout, "Raised the partitions of topic %s from %d to %d.\n", doc.Name, before, *doc.Partitions); err != nil {
			return err
		}
	}
	return nil
}

// DeletedTopicsDoc is `topics delete -o json`.
type DeletedTopicsDoc struct {
	// Deleted are the topics deleted, in the order given.
	Deleted []string `json:"deleted"`
	// Missing are the topics --if-exists skipped because they do not
	// exist.
	Missing []string `json:"missing"`
}

func newTopicsDeleteCommand(env *cli.Env) *cobra.Command {
	var (
		flagTopics []string
		ifExists   bool
	)
	cmd := &cobra.Command{
		Use:               "delete TOPIC...",
		Short:             "Delete topics",
		Example:           `  samsa topics delete orders payments`,
		ValidArgsFunction: cli.CompleteTopics(env),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := topicArgs(flagTopics, args)
			if len(names) == 0 {
				return cli.Usagef("name the topics to delete: --topic NAME, or NAMEs as arguments")
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			topics, err := s.adm.ListTopicsWithInternal(ctx, names...)
			if err != nil {
				return fmt.Errorf("describe topics: %w", err)
			}
			doc := DeletedTopicsDoc{Deleted: []string{}, Missing: []string{}}
			var present []string
			for _, name := range names {
				err := topics[name].Err
				switch {
				case err == nil:
					present = append(present, name)
				case ifExists && errors.Is(err, kerr.UnknownTopicOrPartition):
					doc.Missing = append(doc.Missing, name)
				default:
					// Nothing is deleted when one name is wrong, so that a
					// typo does not leave half a command done.
					return refused(name, err, "")
				}
			}
			var errs []error
			if len(present) > 0 {
				resps, err := s.adm.DeleteTopics(ctx, present...)
				if err != nil {
					return fmt.Errorf("delete topics: %w", err)
				}
				for _, name := range present {
					r, ok := resps[name]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("delete topic %q: the broker did not answer for it", name))
					case r.Err != nil:
						errs = append(errs, fmt.Errorf("delete topic %q: %w", name, refused(name, r.Err, r.ErrMessage)))
					default:
						doc.Deleted = append(doc.Deleted, name)
					}
				}
			}
			if env.JSON() {
				if err := cli.PrintJSON(env.Stdout, doc); err != nil {
					return err
				}
			} else {
				for _, name := range doc.Deleted {
					fmt.Fprintf(env.Stdout, "Deleted topic %s.\n", name)
				}
				for _, name := range doc.Missing {
					fmt.Fprintf(env.Stdout, "Topic %s does not exist; skipped.\n", name)
				}
			}
			return errors.Join(errs...)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&flagTopics, "topic", nil, "a topic to delete (repeatable; or give them as arguments)")
	f.BoolVar(&ifExists, "if-exists", false, "skip topics that do not exist instead of failing")
	cmd.RegisterFlagCompletionFunc("topic", cli.CompleteTopics(env))
	return cmd
}
