package groups

// samsa groups reset-offsets: Kafka's --reset-offsets. The scope is
// --topic (all partitions, or topic:p,p,...) or --all-topics (the
// partitions the group has committed offsets for); the new offsets come
// from one scenario. As in Kafka:
//
//   - it is a dry run that prints the plan unless --execute is given;
//   - a group with active members is refused, with Kafka's message; a group
//     that does not exist yet is fine (the commit creates its offsets);
//   - --to-offset and --shift-by are clamped to [log start, log end], with a
//     warning on stderr;
//   - --to-datetime and --by-duration take the first offset at or after the
//     time, or the log end when there is none;
//   - --to-current keeps a partition's committed offset, and takes the log
//     end for a partition without one;
//   - --shift-by refuses a partition without a committed offset.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-io/samsa/tools/cli"
)

// resetScenario says where the new offsets come from: exactly one of the
// --to-* / --shift-by / --by-duration flags.
type resetScenario struct {
	toEarliest, toLatest, toCurrent bool
	toOffset, shiftBy               int64
	toDatetime, byDuration          string
	fromFile                        string

	// set by check
	name string
	at   time.Time     // --to-datetime, --by-duration
	plan resetPlanFile // --from-file
}

func (s *resetScenario) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&s.toEarliest, "to-earliest", false, "reset to the log start offset")
	f.BoolVar(&s.toLatest, "to-latest", false, "reset to the log end offset")
	f.BoolVar(&s.toCurrent, "to-current", false, "reset to the committed offset (the log end where there is none)")
	f.Int64Var(&s.toOffset, "to-offset", 0, "reset to this offset (clamped to the log)")
	f.Int64Var(&s.shiftBy, "shift-by", 0, "move the committed offset by `N` (negative: back; clamped to the log)")
	f.StringVar(&s.toDatetime, "to-datetime", "", "reset to the first offset at or after `YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]`")
	f.StringVar(&s.byDuration, "by-duration", "", "reset to the first offset at or after now minus `PnDTnHnMnS` (an ISO-8601 duration)")
	f.StringVar(&s.fromFile, "from-file", "", "reset to the offsets of a CSV `FILE` (as --export writes: topic,partition,offset or group,topic,partition,offset lines)")
}

// check makes sure one scenario was chosen and parses its value; now is
// what --by-duration counts back from.
func (s *resetScenario) check(cmd *cobra.Command, now time.Time) error {
	var chosen []string
	for _, name := range []string{"to-earliest", "to-latest", "to-current", "to-offset", "shift-by", "to-datetime", "by-duration", "from-file"} {
		if cmd.Flags().Changed(name) {
			chosen = append(chosen, "--"+name)
		}
	}
	switch len(chosen) {
	case 0:
		return cli.Usagef("one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration or --from-file is required")
	case 1:
	default:
		return cli.Usagef("only one of %s can be used", strings.Join(chosen, ", "))
	}
	s.name = chosen[0]
	switch s.name {
	case "--to-datetime":
		t, err := parseDateTime(s.toDatetime)
		if err != nil {
			return cli.UsageError{Err: err}
		}
		s.at = t
	case "--by-duration":
		d, err := parseISODuration(s.byDuration)
		if err != nil {
			return cli.UsageError{Err: err}
		}
		s.at = now.Add(-d)
	case "--from-file":
		plan, err := readResetPlan(s.fromFile)
		if err != nil {
			return cli.UsageError{Err: err}
		}
		s.plan = plan
	}
	return nil
}

// newOffset is one row of the plan.
type newOffset struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	NewOffset int64  `json:"new_offset"`
}

func newResetOffsetsCommand(env *cli.Env) *cobra.Command {
	var (
		groups          groupsFlag
		topics          []string
		allTopics       bool
		scenario        resetScenario
		execute, dryRun bool
		export          bool
	)
	cmd := &cobra.Command{
		Use:   "reset-offsets (--group GROUP ... | --all-groups) (--topic TOPIC[:P,P...] ... | --all-topics) SCENARIO [--execute]",
		Short: "Reset a consumer group's offsets (a dry run unless --execute)",
		Long: `Reset the committed offsets of an inactive consumer group. Without --execute
it only prints the new offsets. SCENARIO is one of --to-earliest, --to-latest,
--to-current, --to-offset N, --shift-by N, --to-datetime
YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm], --by-duration PnDTnHnMnS or --from-file
FILE (a plan --export wrote; it also gives the partitions, so no scope is
needed). --export prints the plan as CSV instead of a table.`,
		Example: `  samsa groups reset-offsets --group billing --topic orders --to-earliest
  samsa groups reset-offsets --group billing --topic orders:0,1 --shift-by -10 --execute
  samsa groups reset-offsets --group billing --all-topics --by-duration PT1H --execute
  samsa groups reset-offsets --group billing --all-topics --to-current --export > plan.csv
  samsa groups reset-offsets --group billing --from-file plan.csv --execute`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := groups.check(); err != nil {
				return err
			}
			fromFile := cmd.Flags().Changed("from-file")
			switch {
			case allTopics && len(topics) > 0:
				return cli.Usagef("--topic and --all-topics cannot be used together")
			case !allTopics && len(topics) == 0 && !fromFile:
				return cli.Usagef("one of the reset scopes is required: --all-topics or --topic")
			case export && env.JSON():
				return cli.Usagef("--export and -o json cannot be used together")
			case execute && dryRun:
				return cli.Usagef("--execute and --dry-run cannot be used together")
			}
			var scope []topicArg
			for _, t := range topics {
				arg, err := parseTopicArg(t)
				if err != nil {
					return err
				}
				scope = append(scope, arg)
			}
			if err := scenario.check(cmd, time.Now()); err != nil {
				return err
			}
			if !execute && !dryRun {
				fmt.Fprintln(env.Stderr, "WARN: No action will be performed as the --execute option is missing; add --dry-run to say so.")
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
			r := resetter{adm: adm, scenario: &scenario, scope: scope, execute: execute, warn: env.Stderr}
			plan, failures := r.resetGroups(ctx, names)
			if export {
				if err := writeResetPlan(env.Stdout, plan); err != nil {
					return err
				}
			} else if env.JSON() {
				if err := cli.PrintJSON(env.Stdout, struct {
					DryRun  bool        `json:"dry_run"`
					Offsets []newOffset `json:"offsets"`
				}{!execute, plan}); err != nil {
					return err
				}
			} else {
				t := cli.NewTable(env.Stdout, "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
				for _, o := range plan {
					t.Row(o.Group, o.Topic, o.Partition, o.NewOffset)
				}
				if err := t.Flush(); err != nil {
					return err
				}
			}
			return failures
		},
	}
	groups.add(cmd)
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "a topic, or `topic:P,P...` for some of its partitions (repeat for several)")
	cmd.Flags().BoolVar(&allTopics, "all-topics", false, "every partition the group has committed offsets for")
	scenario.add(cmd)
	cmd.Flags().BoolVar(&execute, "execute", false, "commit the new offsets")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print the new offsets (the default)")
	cmd.Flags().BoolVar(&export, "export", false, "print the plan as CSV, for --from-file")
	return cmd
}

// resetter plans, and with execute commits, one reset for each group.
type resetter struct {
	adm      *kadm.Client
	scenario *resetScenario
	scope    []topicArg
	execute  bool
	warn     io.Writer
}

// resetGroups resets each group in turn; a group that cannot be reset
// (active, or a refused commit) does not stop the others, and the
// failures come back joined.
func (r *resetter) resetGroups(ctx context.Context, names []string) ([]newOffset, error) {
	plan := []newOffset{}
	var failures []error
	if len(names) == 0 {
		return plan, nil
	}
	described, err := r.adm.DescribeGroups(ctx, names...)
	if err != nil {
		return plan, fmt.Errorf("describe groups: %w", err)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	for i, name := range sorted {
		if i > 0 && name == sorted[i-1] {
			continue
		}
		if d, ok := described[name]; ok && exists(d) {
			if d.Err != nil {
				failures = append(failures, fmt.Errorf("describe group %s: %w", name, d.Err))
				continue
			}
			if d.State != "Empty" && d.State != "Dead" {
				failures = append(failures, fmt.Errorf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", name, d.State))
				continue
			}
		}
		offsets, err := r.resetGroup(ctx, name)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		plan = append(plan, offsets...)
	}
	return plan, errors.Join(failures...)
}

// resetGroup plans one group's new offsets and, with execute, commits them.
func (r *resetter) resetGroup(ctx context.Context, group string) ([]newOffset, error) {
	var (
		partitions []topicPartition
		target     map[topicPartition]int64
	)
	if r.scenario.plan != nil {
		// The file gives the partitions and their offsets, taken as
		// they are (Kafka's tool neither clamps nor filters them).
		var err error
		if target, err = r.scenario.plan.forGroup(group); err != nil {
			return nil, err
		}
		for tp := range target {
			partitions = append(partitions, tp)
		}
		sortPartitions(partitions)
	} else {
		committed, err := r.committed(ctx, group)
		if err != nil {
			return nil, err
		}
		if partitions, err = r.partitions(ctx, committed); err != nil {
			return nil, fmt.Errorf("group %s: %w", group, err)
		}
		if target, err = r.targets(ctx, partitions, committed); err != nil {
			return nil, fmt.Errorf("group %s: %w", group, err)
		}
	}
	plan := make([]newOffset, 0, len(partitions))
	toCommit := make(kadm.Offsets)
	for _, tp := range partitions {
		plan = append(plan, newOffset{Group: group, Topic: tp.Topic, Partition: tp.Partition, NewOffset: target[tp]})
		toCommit.AddOffset(tp.Topic, tp.Partition, target[tp], -1)
	}
	if !r.execute || len(plan) == 0 {
		return plan, nil
	}
	resp, err := r.adm.CommitOffsets(ctx, group, toCommit)
	if err != nil {
		return nil, fmt.Errorf("commit the offsets of group %s: %w", group, err)
	}
	var failed []string
	for _, o := range resp.Sorted() {
		if o.Err != nil {
			failed = append(failed, fmt.Sprintf("%s-%d: %s", o.Topic, o.Partition, describeError(o.Err)))
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("commit the offsets of group %s: %s", group, strings.Join(failed, "; "))
	}
	return plan, nil
}

// committed is the group's committed offsets (none for a group that does
// not exist).
func (r *resetter) committed(ctx context.Context, group string) (map[topicPartition]int64, error) {
	fetched, err := r.adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch the offsets of group %s: %w", group, err)
	}
	committed := make(map[topicPartition]int64)
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			committed[topicPartition{o.Topic, o.Partition}] = o.At
		}
	})
	return committed, nil
}

// partitions is the reset's scope, sorted: the --topic partitions, each
// checked to exist and have a leader, or with --all-topics the partitions
// the group has committed offsets for.
func (r *resetter) partitions(ctx context.Context, committed map[topicPartition]int64) ([]topicPartition, error) {
	var tps []topicPartition
	if len(r.scope) == 0 {
		for tp := range committed {
			tps = append(tps, tp)
		}
		sortPartitions(tps)
		return tps, nil
	}
	var names []string
	for _, a := range r.scope {
		names = append(names, a.Topic)
	}
	topics, err := r.adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describe topics: %w", err)
	}
	seen := make(map[topicPartition]bool)
	var unknown, leaderless []string
	for _, a := range r.scope {
		td, ok := topics[a.Topic]
		if !ok || td.Err != nil {
			for _, p := range a.Partitions {
				unknown = append(unknown, topicPartition{a.Topic, p}.String())
			}
			if len(a.Partitions) == 0 {
				unknown = append(unknown, a.Topic)
			}
			continue
		}
		ps := a.Partitions
		if ps == nil {
			ps = td.Partitions.Numbers()
		}
		for _, p := range ps {
			tp := topicPartition{a.Topic, p}
			pd, ok := td.Partitions[p]
			switch {
			case !ok:
				unknown = append(unknown, tp.String())
			case pd.Leader < 0:
				leaderless = append(leaderless, tp.String())
			case !seen[tp]:
				seen[tp] = true
				tps = append(tps, tp)
			}
		}
	}
	switch {
	case len(unknown) > 0:
		return nil, fmt.Errorf("The partitions %q do not exist", strings.Join(unknown, ","))
	case len(leaderless) > 0:
		return nil, fmt.Errorf("The partitions %q have no leader", strings.Join(leaderless, ","))
	}
	sortPartitions(tps)
	return tps, nil
}

// targets computes each partition's new offset by the scenario.
func (r *resetter) targets(ctx context.Context, partitions []topicPartition, committed map[topicPartition]int64) (map[topicPartition]int64, error) {
	target := make(map[topicPartition]int64, len(partitions))
	if len(partitions) == 0 {
		return target, nil
	}
	topics := make(map[string]bool)
	for _, tp := range partitions {
		topics[tp.Topic] = true
	}
	listed := func(list func(context.Context, ...string) (kadm.ListedOffsets, error), what string) (map[topicPartition]int64, error) {
		offsets, err := listOffsets(ctx, list, topics)
		if err != nil {
			return nil, err
		}
		for _, tp := range partitions {
			if _, ok := offsets[tp]; !ok {
				return nil, fmt.Errorf("cannot get the %s offset of partition %s", what, tp)
			}
		}
		return offsets, nil
	}
	starts, err := listed(r.adm.ListStartOffsets, "start")
	if err != nil {
		return nil, err
	}
	ends, err := listed(r.adm.ListEndOffsets, "end")
	if err != nil {
		return nil, err
	}
	// clamp keeps a requested offset within the log, warning as Kafka does.
	clamp := func(tp topicPartition, offset int64) int64 {
		switch {
		case offset > ends[tp]:
			fmt.Fprintf(r.warn, "New offset (%d) is higher than latest offset for topic partition %s. Value will be set to %d.\n", offset, tp, ends[tp])
			return ends[tp]
		case offset < starts[tp]:
			fmt.Fprintf(r.warn, "New offset (%d) is lower than earliest offset for topic partition %s. Value will be set to %d.\n", offset, tp, starts[tp])
			return starts[tp]
		}
		return offset
	}
	s := r.scenario
	switch s.name {
	case "--to-earliest":
		for _, tp := range partitions {
			target[tp] = starts[tp]
		}
	case "--to-latest":
		for _, tp := range partitions {
			target[tp] = ends[tp]
		}
	case "--to-current":
		for _, tp := range partitions {
			if c, ok := committed[tp]; ok {
				target[tp] = c
			} else {
				target[tp] = ends[tp]
			}
		}
	case "--to-offset":
		for _, tp := range partitions {
			target[tp] = clamp(tp, s.toOffset)
		}
	case "--shift-by":
		for _, tp := range partitions {
			c, ok := committed[tp]
			if !ok {
				return nil, fmt.Errorf("Cannot shift offset for partition %s since there is no current committed offset", tp)
			}
			target[tp] = clamp(tp, c+s.shiftBy)
		}
	case "--to-datetime", "--by-duration":
		// kadm answers a time past the last record with the log end, as
		// Kafka's tool falls back to it.
		byTime, err := listed(func(ctx context.Context, topics ...string) (kadm.ListedOffsets, error) {
			return r.adm.ListOffsetsAfterMilli(ctx, s.at.UnixMilli(), topics...)
		}, "by-time")
		if err != nil {
			return nil, err
		}
		for _, tp := range partitions {
			target[tp] = byTime[tp]
		}
	default:
		return nil, fmt.Errorf("unknown reset scenario %s", s.name)
	}
	return target, nil
}
