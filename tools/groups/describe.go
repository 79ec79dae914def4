package groups

// samsa groups describe: Kafka's --describe. The default view is one row
// per partition the group has a member assigned to or an offset committed
// for: the committed offset, the log end offset, the lag between them, and
// the member. As in Kafka, a partition with a commit but no member shows
// "-" for the member, and an assigned partition without a commit shows "-"
// for the offset and the lag. --members lists the members (--verbose adds
// their assignments) and --state the group's state and coordinator. A group
// that does not exist is an error, with Kafka's message.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/tools/cli"
)

// groupDescription is what describe learns of one group; -o json prints
// it whole, whichever view was asked for.
type groupDescription struct {
	Group              string              `json:"group"`
	State              string              `json:"state"`
	Coordinator        coordinator         `json:"coordinator"`
	ProtocolType       string              `json:"protocol_type"`
	AssignmentStrategy string              `json:"assignment_strategy"`
	Members            []memberDescription `json:"members"`
	Offsets            []partitionOffsets  `json:"offsets"`
}

type coordinator struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
}

func (c coordinator) String() string { return fmt.Sprintf("%s:%d (%d)", c.Host, c.Port, c.ID) }

type memberDescription struct {
	ConsumerID      string            `json:"consumer_id"`
	GroupInstanceID *string           `json:"group_instance_id"`
	ClientID        string            `json:"client_id"`
	Host            string            `json:"host"`
	Assignment      []topicPartitions `json:"assignment"`
}

// partitions counts the member's assigned partitions.
func (m memberDescription) partitions() int {
	n := 0
	for _, a := range m.Assignment {
		n += len(a.Partitions)
	}
	return n
}

// assignmentString is Kafka's spelling of an assignment: "a:0,1;b:2".
func (m memberDescription) assignmentString() string {
	var parts []string
	for _, a := range m.Assignment {
		ps := make([]string, len(a.Partitions))
		for i, p := range a.Partitions {
			ps[i] = fmt.Sprint(p)
		}
		parts = append(parts, a.Topic+":"+strings.Join(ps, ","))
	}
	return orMissing(strings.Join(parts, ";"))
}

type topicPartitions struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// partitionOffsets is one partition's row; nil fields are Kafka's "-".
type partitionOffsets struct {
	Topic         string  `json:"topic"`
	Partition     int32   `json:"partition"`
	CurrentOffset *int64  `json:"current_offset"`
	LogEndOffset  *int64  `json:"log_end_offset"`
	Lag           *int64  `json:"lag"`
	ConsumerID    *string `json:"consumer_id"`
	Host          *string `json:"host"`
	ClientID      *string `json:"client_id"`
}

// describeView is which of Kafka's describe tables to print.
type describeView int

const (
	viewOffsets describeView = iota
	viewMembers
	viewState
)

func newDescribeCommand(env *cli.Env) *cobra.Command {
	var (
		groups                   groupsFlag
		offsets, members, states bool
		verbose                  bool
	)
	cmd := &cobra.Command{
		Use:   "describe (--group GROUP ... | --all-groups) [--members [--verbose] | --state]",
		Short: "Describe consumer groups: offsets and lag per partition, members, or state",
		Example: `  samsa groups describe --group billing
  samsa groups describe --group billing --members --verbose
  samsa groups describe --all-groups --state -o json`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := groups.check(); err != nil {
				return err
			}
			view := viewOffsets
			switch {
			case btoi(offsets)+btoi(members)+btoi(states) > 1:
				return cli.Usagef("--offsets, --members and --state cannot be used together")
			case members:
				view = viewMembers
			case states:
				view = viewState
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
			found, missingGroups, err := describeGroups(ctx, adm, names)
			if err != nil {
				return err
			}
			if env.JSON() {
				if len(found) > 0 || len(missingGroups) == 0 {
					if err := cli.PrintJSON(env.Stdout, struct {
						Groups []groupDescription `json:"groups"`
					}{found}); err != nil {
						return err
					}
				}
			} else if err := printDescriptions(env.Stdout, env.Stderr, found, view, verbose); err != nil {
				return err
			}
			return groupsNotFound(missingGroups)
		},
	}
	groups.add(cmd)
	cmd.Flags().BoolVar(&offsets, "offsets", false, "show offsets and lag per partition (the default)")
	cmd.Flags().BoolVar(&members, "members", false, "show the members")
	cmd.Flags().BoolVar(&states, "state", false, "show the group's state, coordinator and assignment strategy")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "with --members: each member's assigned partitions")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// groupsNotFound is Kafka's error for groups that do not exist.
func groupsNotFound(names []string) error {
	switch len(names) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("Consumer group '%s' does not exist.", names[0])
	}
	return fmt.Errorf("Consumer groups '%s' do not exist.", strings.Join(names, "', '"))
}

// consumerGroupNames lists every consumer group, sorted (--all-groups).
func consumerGroupNames(ctx context.Context, adm *kadm.Client) ([]string, error) {
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	var names []string
	for _, g := range listed.Sorted() {
		if isConsumerGroup(g.ProtocolType) {
			names = append(names, g.Group)
		}
	}
	return names, nil
}

// describeGroups describes the named groups, in name order, and returns
// the names of those that do not exist apart.
func describeGroups(ctx context.Context, adm *kadm.Client, names []string) (found []groupDescription, notFound []string, err error) {
	found = []groupDescription{}
	if len(names) == 0 {
		return found, nil, nil
	}
	described, err := adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, nil, fmt.Errorf("describe groups: %w", err)
	}
	var unique []string
	for _, name := range names {
		if !contains(unique, name) {
			unique = append(unique, name)
		}
	}
	sort.Strings(unique)
	for _, name := range unique {
		d, ok := described[name]
		if !ok || !exists(d) {
			notFound = append(notFound, name)
			continue
		}
		if d.Err != nil {
			return nil, nil, fmt.Errorf("describe group %s: %w", name, d.Err)
		}
		gd, err := describeGroup(ctx, adm, d)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, gd)
	}
	return found, notFound, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// exists says whether a described group exists: DescribeGroups v6+
// answers GROUP_ID_NOT_FOUND for one that does not, earlier versions the
// state Dead.
func exists(d kadm.DescribedGroup) bool {
	if d.Err == kerr.GroupIDNotFound {
		return false
	}
	return d.Err != nil || d.State != "Dead"
}

// describeGroup adds committed and log end offsets to a described group.
func describeGroup(ctx context.Context, adm *kadm.Client, d kadm.DescribedGroup) (groupDescription, error) {
	gd := groupDescription{
		Group:              d.Group,
		State:              d.State,
		Coordinator:        coordinator{ID: d.Coordinator.NodeID, Host: d.Coordinator.Host, Port: d.Coordinator.Port},
		ProtocolType:       d.ProtocolType,
		AssignmentStrategy: d.Protocol,
		Members:            []memberDescription{},
		Offsets:            []partitionOffsets{},
	}
	// Rows for assigned partitions carry their member.
	rows := make(map[topicPartition]*partitionOffsets)
	for _, m := range d.Members {
		md := memberDescription{ConsumerID: m.MemberID, GroupInstanceID: m.InstanceID, ClientID: m.ClientID, Host: m.ClientHost,
			Assignment: []topicPartitions{}}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				md.Assignment = append(md.Assignment, topicPartitions{Topic: t.Topic, Partitions: ps})
				for _, p := range ps {
					rows[topicPartition{t.Topic, p}] = &partitionOffsets{Topic: t.Topic, Partition: p,
						ConsumerID: ptr(m.MemberID), Host: ptr(m.ClientHost), ClientID: ptr(m.ClientID)}
				}
			}
		}
		sort.Slice(md.Assignment, func(i, j int) bool { return md.Assignment[i].Topic < md.Assignment[j].Topic })
		gd.Members = append(gd.Members, md)
	}
	committed, err := adm.FetchOffsets(ctx, d.Group)
	if err != nil {
		return gd, fmt.Errorf("fetch the offsets of group %s: %w", d.Group, err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At < 0 {
			return
		}
		tp := topicPartition{o.Topic, o.Partition}
		row := rows[tp]
		if row == nil {
			row = &partitionOffsets{Topic: o.Topic, Partition: o.Partition}
			rows[tp] = row
		}
		row.CurrentOffset = ptr(o.At)
	})
	if len(rows) == 0 {
		return gd, nil
	}
	topics := make(map[string]bool)
	for tp := range rows {
		topics[tp.Topic] = true
	}
	ends, err := listOffsets(ctx, adm.ListEndOffsets, topics)
	if err != nil {
		return gd, err
	}
	var tps []topicPartition
	for tp := range rows {
		tps = append(tps, tp)
	}
	sortPartitions(tps)
	for _, tp := range tps {
		row := rows[tp]
		if end, ok := ends[tp]; ok {
			row.LogEndOffset = ptr(end)
			if row.CurrentOffset != nil {
				row.Lag = ptr(end - *row.CurrentOffset)
			}
		}
		gd.Offsets = append(gd.Offsets, *row)
	}
	return gd, nil
}

func ptr[T any](v T) *T { return &v }

// listOffsets lists start or end offsets (list is kadm's ListStartOffsets
// or ListEndOffsets) of the given topics; a partition that could not be
// listed (no leader, say) is missing from the result, as Kafka's tool
// shows "-" for it. A topic that does not exist is missing as well.
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topics map[string]bool) (map[topicPartition]int64, error) {
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	listed, err := list(ctx, names...)
	if err != nil {
		// Shard errors leave the partitions that answered; anything
		// else (the cluster gone) is the command's failure.
		var shardErrs *kadm.ShardErrors
		if !errors.As(err, &shardErrs) || shardErrs.AllFailed {
			return nil, fmt.Errorf("list offsets: %w", err)
		}
	}
	offsets := make(map[topicPartition]int64)
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset >= 0 {
			offsets[topicPartition{o.Topic, o.Partition}] = o.Offset
		}
	})
	return offsets, nil
}

// printDescriptions prints the chosen view of each group, one table per
// group as Kafka's tool does, and Kafka's notices on stderr.
func printDescriptions(stdout, stderr io.Writer, groups []groupDescription, view describeView, verbose bool) error {
	first := true
	for _, g := range groups {
		switch g.State {
		case "Empty":
			fmt.Fprintf(stderr, "Consumer group '%s' has no active members.\n", g.Group)
		case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
			fmt.Fprintf(stderr, "Warning: Consumer group '%s' is rebalancing.\n", g.Group)
		}
		var t *cli.Table
		switch view {
		case viewOffsets:
			if len(g.Offsets) == 0 {
				continue
			}
			t = offsetsTable(stdout, g, first)
		case viewMembers:
			if len(g.Members) == 0 {
				continue
			}
			t = membersTable(stdout, g, verbose, first)
		case viewState:
			t = stateTable(stdout, g, first)
		}
		if err := t.Flush(); err != nil {
			return err
		}
		first = false
	}
	return nil
}

// newGroupTable starts a table, after a blank line unless it is the first.
func newGroupTable(w io.Writer, first bool, header ...string) *cli.Table {
	if !first {
		fmt.Fprintln(w)
	}
	return cli.NewTable(w, header...)
}

func offsetsTable(w io.Writer, g groupDescription, first bool) *cli.Table {
	t := newGroupTable(w, first, "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	str := func(s *string) string {
		if s == nil {
			return missing
		}
		return orMissing(*s)
	}
	for _, o := range g.Offsets {
		t.Row(g.Group, o.Topic, o.Partition, int64OrMissing(o.CurrentOffset), int64OrMissing(o.LogEndOffset), int64OrMissing(o.Lag),
			str(o.ConsumerID), str(o.Host), str(o.ClientID))
	}
	return t
}

func membersTable(w io.Writer, g groupDescription, verbose, first bool) *cli.Table {
	// Kafka adds GROUP-INSTANCE-ID only when a member has one.
	withInstance := false
	for _, m := range g.Members {
		withInstance = withInstance || m.GroupInstanceID != nil
	}
	header := []string{"GROUP", "CONSUMER-ID"}
	if withInstance {
		header = append(header, "GROUP-INSTANCE-ID")
	}
	header = append(header, "HOST", "CLIENT-ID", "#PARTITIONS")
	if verbose {
		header = append(header, "ASSIGNMENT")
	}
	t := newGroupTable(w, first, header...)
	for _, m := range g.Members {
		row := []any{g.Group, m.ConsumerID}
		if withInstance {
			id := missing
			if m.GroupInstanceID != nil {
				id = *m.GroupInstanceID
			}
			row = append(row, id)
		}
		row = append(row, orMissing(m.Host), orMissing(m.ClientID), m.partitions())
		if verbose {
			row = append(row, m.assignmentString())
		}
		t.Row(row...)
	}
	return t
}

func stateTable(w io.Writer, g groupDescription, first bool) *cli.Table {
	t := newGroupTable(w, first, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
	t.Row(g.Group, g.Coordinator, orMissing(g.AssignmentStrategy), g.State, len(g.Members))
	return t
}
