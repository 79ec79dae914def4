package groups

// samsa groups delete-offsets and samsa groups delete: Kafka's
// --delete-offsets (OffsetDelete, KIP-496) and --delete (DeleteGroups).
// Both print a status per item, "Successful" or Kafka's error message, and
// exit 1 when any item was refused: offsets of a topic the group's live
// members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC), a group that still has
// members (NON_EMPTY_GROUP), a group that does not exist
// (GROUP_ID_NOT_FOUND).

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/tools/cli"
)

// itemStatus is the outcome for one partition or group; -o json prints the
// Kafka error code and message, null when it succeeded.
type itemStatus struct {
	ErrorCode *string `json:"error_code"`
	Error     *string `json:"error"`
}

func statusOf(err error) itemStatus {
	return itemStatus{ErrorCode: errorCode(err), Error: errorMessage(err)}
}

func (s itemStatus) String() string {
	if s.Error == nil {
		return "Successful"
	}
	return "Error: " + *s.Error
}

// deletedOffset is one partition's outcome. Partition is nil for a topic
// that could not be described (Kafka's "-").
type deletedOffset struct {
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition"`
	itemStatus
}

func newDeleteOffsetsCommand(env *cli.Env) *cobra.Command {
	var (
		group  string
		topics []string
	)
	cmd := &cobra.Command{
		Use:   "delete-offsets --group GROUP --topic TOPIC[:P,P...] ...",
		Short: "Delete a consumer group's committed offsets for some topics or partitions",
		Example: `  samsa groups delete-offsets --group billing --topic orders
  samsa groups delete-offsets --group billing --topic orders:0,1 --topic refunds`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if group == "" {
				return cli.Usagef("--group is required")
			}
			if len(topics) == 0 {
				return cli.Usagef("--topic is required")
			}
			var scope []topicArg
			for _, t := range topics {
				arg, err := parseTopicArg(t)
				if err != nil {
					return err
				}
				scope = append(scope, arg)
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			adm, err := env.NewAdmin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()

			// Topics named without partitions stand for all of theirs;
			// one that cannot be described gets its row, as in Kafka.
			results := []deletedOffset{}
			request := make(kadm.TopicsSet)
			var whole []string
			for _, a := range scope {
				if a.Partitions == nil {
					whole = append(whole, a.Topic)
				} else {
					request.Add(a.Topic, a.Partitions...)
				}
			}
			if len(whole) > 0 {
				described, err := adm.ListTopics(ctx, whole...)
				if err != nil {
					return fmt.Errorf("describe topics: %w", err)
				}
				for _, t := range whole {
					td, ok := described[t]
					switch {
					case !ok:
						results = append(results, deletedOffset{Topic: t, itemStatus: statusOf(kerr.UnknownTopicOrPartition)})
					case td.Err != nil:
						results = append(results, deletedOffset{Topic: t, itemStatus: statusOf(td.Err)})
					default:
						request.Add(t, td.Partitions.Numbers()...)
					}
				}
			}
			deleted, err := adm.DeleteOffsets(ctx, group, request)
			if err != nil {
				if _, ok := kafkaError(err); ok {
					return fmt.Errorf("delete the offsets of group '%s': %s", group, describeError(err))
				}
				return fmt.Errorf("delete the offsets of group '%s': %w", group, err)
			}
			for _, tp := range request.Sorted() {
				for _, p := range tp.Partitions {
					perr, ok := deleted.Lookup(tp.Topic, p)
					if !ok {
						perr = fmt.Errorf("partition missing from the response")
					}
					results = append(results, deletedOffset{Topic: tp.Topic, Partition: ptr(p), itemStatus: statusOf(perr)})
				}
			}
			sort.SliceStable(results, func(i, j int) bool {
				a, b := results[i], results[j]
				if a.Topic != b.Topic {
					return a.Topic < b.Topic
				}
				return a.Partition != nil && (b.Partition == nil || *a.Partition < *b.Partition)
			})
			if err := printDeletedOffsets(env, group, results); err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if r.Error != nil {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("the offsets of %d of %d partitions in group '%s' were not deleted", failed, len(results), group)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the consumer `GROUP`")
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "a topic, or `topic:P,P...` for some of its partitions (repeat for several)")
	return cmd
}

func printDeletedOffsets(env *cli.Env, group string, results []deletedOffset) error {
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, struct {
			Group      string          `json:"group"`
			Partitions []deletedOffset `json:"partitions"`
		}{group, results})
	}
	t := cli.NewTable(env.Stdout, "TOPIC", "PARTITION", "STATUS")
	for _, r := range results {
		p := missing
		if r.Partition != nil {
			p = fmt.Sprint(*r.Partition)
		}
		t.Row(r.Topic, p, r.itemStatus)
	}
	return t.Flush()
}

// deletedGroup is one group's outcome.
type deletedGroup struct {
	Group string `json:"group"`
	itemStatus
}

func newDeleteCommand(env *cli.Env) *cobra.Command {
	var groups groupsFlag
	cmd := &cobra.Command{
		Use:   "delete (--group GROUP ... | --all-groups)",
		Short: "Delete consumer groups that have no members, and their offsets",
		Example: `  samsa groups delete --group billing
  samsa groups delete --group old-1 --group old-2`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := groups.check(); err != nil {
				return err
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			adm, err := env.NewAdmin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			names := groups.groups
			if groups.all {
				if names, err = consumerGroupNames(ctx, adm); err != nil {
					return err
				}
			}
			results := []deletedGroup{}
			if len(names) > 0 {
				deleted, err := adm.DeleteGroups(ctx, names...)
				if err != nil && len(deleted) == 0 {
					return fmt.Errorf("delete groups: %w", err)
				}
				sorted := append([]string(nil), names...)
				sort.Strings(sorted)
				for i, name := range sorted {
					if i > 0 && name == sorted[i-1] {
						continue
					}
					d, ok := deleted[name]
					if !ok {
						d.Err = fmt.Errorf("no answer for the group: %v", err)
					}
					results = append(results, deletedGroup{Group: name, itemStatus: statusOf(d.Err)})
				}
			}
			if env.JSON() {
				if err := cli.PrintJSON(env.Stdout, struct {
					Groups []deletedGroup `json:"groups"`
				}{results}); err != nil {
					return err
				}
			} else {
				t := cli.NewTable(env.Stdout, "GROUP", "STATUS")
				for _, r := range results {
					t.Row(r.Group, r.itemStatus)
				}
				if err := t.Flush(); err != nil {
					return err
				}
			}
			var failed []string
			for _, r := range results {
				if r.Error != nil {
					failed = append(failed, fmt.Sprintf("'%s' (%s)", r.Group, *r.Error))
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("Deletion of some consumer groups failed: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	groups.add(cmd)
	return cmd
}
