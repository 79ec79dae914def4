// Package perf is `samsa perf`: the load generators and meters Kafka
// ships as kafka-producer-perf-test.sh, kafka-consumer-perf-test.sh and
// EndToEndLatency, driven by franz-go against Samsa or any Kafka cluster.
//
//   - produce writes --num-records records of --record-size bytes (or
//     lines of --payload-file) as fast as the producers go or at a
//     --throughput cap, and measures each record's latency from the
//     Produce call to its acknowledgement.
//   - consume reads --messages records, directly from every partition or
//     in a --group, and measures records and bytes per second.
//   - end-to-end produces one record at a time and waits until a consumer
//     has it: the latency from a producer to a consumer.
//
// While a run goes, a live progress bar is drawn on a terminal, and a
// line is printed every --reporting-interval otherwise; the run ends with
// a summary (-o json: one JSON object). A tool that measures must not
// flatter: a record that failed is counted and makes the exit status 1,
// and so does a consume that stops before its count.
//
// Megabytes are 2^20 bytes, as in Kafka's tools.
package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// NewCommand is `samsa perf` and its subcommands.
func NewCommand(env *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "perf",
		Short: "Measure produce and consume throughput and latency (Kafka's perf-test tools)",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return cli.ExitStatus(2)
		},
	}
	cmd.AddCommand(newProduceCommand(env), newConsumeCommand(env), newEndToEndCommand(env))
	return cmd
}

// millis is a duration flag that also takes a bare number of
// milliseconds, as Kafka's tools take theirs (--reporting-interval 5000).
type millis time.Duration

func (m *millis) String() string { return time.Duration(*m).String() }
func (m *millis) Type() string   { return "duration" }
func (m *millis) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*m = millis(time.Duration(n) * time.Millisecond)
	} else if d, err := time.ParseDuration(s); err == nil {
		*m = millis(d)
	} else {
		return fmt.Errorf("want milliseconds or a duration such as 5s")
	}
	if *m <= 0 {
		return fmt.Errorf("must be positive")
	}
	return nil
}

// isTerminal reports whether w is a terminal, where progress is drawn in
// place rather than printed line by line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressWriter is where a run's progress goes: with the summary on
// stdout, as Kafka's tools print it, but on stderr under -o json so that
// stdout holds one JSON object.
func progressWriter(env *cli.Env) io.Writer {
	if env.JSON() {
		return env.Stderr
	}
	return env.Stdout
}

// adminMetadataAge is how long the perf tools' admin client answers a
// metadata request from its cache: franz-go's default, 5 s, would keep a
// topic that was missing at the first look missing that long after it was
// created.
const adminMetadataAge = 50 * time.Millisecond

// newAdmin is the admin client a run uses to find or create its topic.
func newAdmin(ctx context.Context, env *cli.Env) (*kadm.Client, error) {
	return env.NewAdmin(ctx, kgo.MetadataMinAge(adminMetadataAge))
}

// topicPartitions is how many partitions topic has, or an error naming
// the topic when it does not exist.
func topicPartitions(ctx context.Context, env *cli.Env, adm *kadm.Client, topic string) (int, error) {
	ctx, cancel := env.Context(ctx)
	defer cancel()
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	t, ok := topics[topic]
	switch {
	case !ok || errors.Is(t.Err, kerr.UnknownTopicOrPartition):
		return 0, fmt.Errorf("topic %s does not exist", topic)
	case t.Err != nil:
		return 0, fmt.Errorf("describe topic %s: %w", topic, t.Err)
	}
	return len(t.Partitions), nil
}

// ensureTopic creates topic when it does not exist, with partitions and
// replicationFactor (-1: the broker's num.partitions and
// default.replication.factor), and reports whether it did.
//
// It asks to create the topic rather than first looking for it: one
// request, and no race with another client creating it in between.
func ensureTopic(ctx context.Context, env *cli.Env, adm *kadm.Client, topic string, partitions int32, replicationFactor int16) (bool, error) {
	cctx, cancel := env.Context(ctx)
	defer cancel()
	resp, err := adm.CreateTopic(cctx, partitions, replicationFactor, nil, topic)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return false, nil
	}
	if err != nil {
		if resp.ErrMessage != "" {
			err = fmt.Errorf("%w: %s", err, resp.ErrMessage)
		}
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	// A cluster's metadata can trail the creation by a moment.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := topicPartitions(ctx, env, adm, topic)
		if err == nil && n > 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("topic %s was created but is not in the metadata after 10s", topic)
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
