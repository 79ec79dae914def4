// Package groups is `samsa groups`, the equivalent of Kafka's
// kafka-consumer-groups.sh: list the consumer groups, describe one (its
// state, members, and per partition the committed offset, log end offset
// and lag), reset a group's offsets, delete some of its offsets, or delete
// it.
//
// Each subcommand lives in its own file and talks to the cluster through
// franz-go's kadm, so it works against Samsa or any Kafka cluster. Where
// Kafka's tool has a flag, the flag has Kafka's name, and the behaviour
// (what is refused, what is clamped, what "-" means in a table) follows
// Kafka's ConsumerGroupCommand; the README's "Consumer groups" section
// lists where it differs.
package groups

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/tools/cli"
)

// NewCommand is `samsa groups` and its subcommands.
func NewCommand(env *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List, describe, reset and delete consumer groups (kafka-consumer-groups.sh)",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return cli.ExitStatus(2)
		},
	}
	cmd.AddCommand(
		newListCommand(env),
		newDescribeCommand(env),
		newResetOffsetsCommand(env),
		newDeleteOffsetsCommand(env),
		newDeleteCommand(env),
	)
	return cmd
}

// missing is what Kafka's tool prints in a table cell that has no value.
const missing = "-"

// orMissing is v, or "-" when v is empty.
func orMissing(v string) string {
	if v == "" {
		return missing
	}
	return v
}

// int64OrMissing is *v, or "-" when v is nil.
func int64OrMissing(v *int64) string {
	if v == nil {
		return missing
	}
	return strconv.FormatInt(*v, 10)
}

// topicPartition names one partition.
type topicPartition struct {
	Topic     string
	Partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// sortPartitions orders partitions by topic, then partition.
func sortPartitions(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
}

// topicArg is one --topic value: a topic, or Kafka's "topic:p,p,..." for
// some of its partitions (Partitions nil means all of them).
type topicArg struct {
	Topic      string
	Partitions []int32
}

// parseTopicArg parses a --topic value as Kafka's tool does: the part after
// the last colon, if any, is a comma-separated list of partitions.
func parseTopicArg(s string) (topicArg, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		if s == "" {
			return topicArg{}, cli.Usagef("--topic is empty")
		}
		return topicArg{Topic: s}, nil
	}
	arg := topicArg{Topic: s[:i]}
	if arg.Topic == "" {
		return topicArg{}, cli.Usagef("invalid topic arg %q, expected topic name and partitions", s)
	}
	for _, p := range strings.Split(s[i+1:], ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || n < 0 {
			return topicArg{}, cli.Usagef("invalid partition %q specified in topic arg %q", p, s)
		}
		arg.Partitions = append(arg.Partitions, int32(n))
	}
	return arg, nil
}

// groupsFlag holds --group (repeatable) and --all-groups, which Kafka's
// describe, reset-offsets and delete take alike.
type groupsFlag struct {
	groups []string
	all    bool
}

func (g *groupsFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&g.groups, "group", nil, "a consumer `GROUP` (repeat for several)")
	cmd.Flags().BoolVar(&g.all, "all-groups", false, "every consumer group in the cluster")
}

// check is the usage rule: --group or --all-groups, not both, not neither.
func (g *groupsFlag) check() error {
	switch {
	case g.all && len(g.groups) > 0:
		return cli.Usagef("--group and --all-groups cannot be used together")
	case !g.all && len(g.groups) == 0:
		return cli.Usagef("--group or --all-groups is required")
	}
	return nil
}

// kafkaError is err's Kafka error, if it is one.
func kafkaError(err error) (*kerr.Error, bool) {
	var ke *kerr.Error
	ok := errors.As(err, &ke)
	return ke, ok
}

// errorCode and errorMessage split a per-item error for -o json: Kafka's
// code name ("NON_EMPTY_GROUP") and its message. Both are nil for no error.
func errorCode(err error) *string {
	if err == nil {
		return nil
	}
	if ke, ok := kafkaError(err); ok {
		return &ke.Message
	}
	s := "UNKNOWN"
	return &s
}

func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := describeError(err)
	return &s
}

// describeError is the message Kafka's tools print for an error: a Kafka
// error's description ("The group is not empty."), else the error itself.
func describeError(err error) string {
	if ke, ok := kafkaError(err); ok {
		return ke.Description
	}
	return cli.OneLine(err)
}
