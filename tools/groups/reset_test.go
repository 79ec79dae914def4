package groups_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// idleBilling is billing after its member left: an Empty group whose
// committed offsets are orders 2 and 3. orders holds 5 and 3 records,
// the i-th of each partition stamped hourly from 10 hours ago
// (the returned time).
func idleBilling(t *testing.T, c *testCluster) (base time.Time) {
	t.Helper()
	base = time.Now().Add(-10 * time.Hour).Truncate(time.Second)
	c.createTopic("orders", []int{5, 3}, func(p, i int) time.Time { return base.Add(time.Duration(i) * time.Hour) })
	m := c.join("billing", "billing-app", "orders")
	m.commit(t, map[string]map[int32]int64{"orders": {0: 2, 1: 3}})
	m.leave()
	checkFor(t, 10*time.Second, func() error { return c.waitState("billing", "Empty") })
	return base
}

func offsets(p0, p1 int64) map[string]map[int32]int64 {
	return map[string]map[int32]int64{"orders": {0: p0, 1: p1}}
}

func (c *testCluster) checkCommitted(group string, want map[string]map[int32]int64) {
	c.t.Helper()
	if got := c.committed(group); !reflect.DeepEqual(got, want) {
		c.t.Errorf("committed offsets of %s = %v, want %v", group, got, want)
	}
}

func TestResetOffsetsWithoutExecuteOnlyPrintsThePlan(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders", "--to-earliest")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 0 0",
		"billing orders 1 0",
	)
	if !strings.Contains(r.stderr, "No action will be performed as the --execute option is missing") {
		t.Errorf("stderr = %q, want Kafka's warning that nothing was done", r.stderr)
	}
	c.checkCommitted("billing", offsets(2, 3))

	// --dry-run says so, and silences the warning.
	r = c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders", "--to-latest", "--dry-run")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 0 5",
		"billing orders 1 3",
	)
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing with --dry-run", r.stderr)
	}
	c.checkCommitted("billing", offsets(2, 3))
}

func TestResetOffsetsExecuteCommitsThePlanAndTheGroupResumesThere(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders", "--to-earliest", "--execute")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 0 0",
		"billing orders 1 0",
	)
	c.checkCommitted("billing", offsets(0, 0))
	if got := c.firstOffsets("billing", "orders", 2); !reflect.DeepEqual(got, map[int32]int64{0: 0, 1: 0}) {
		t.Errorf("after the reset, billing first reads offsets %v, want 0 and 0", got)
	}
}

func TestResetOffsetsEachScenario(t *testing.T) {
	c := startCluster(t)
	base := idleBilling(t, c)
	stamp := func(d time.Duration) string { return base.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }

	for _, tc := range []struct {
		name     string
		args     []string
		want     map[string]map[int32]int64
		warnings []string
	}{
		{name: "to-earliest", args: []string{"--to-earliest"}, want: offsets(0, 0)},
		{name: "to-latest", args: []string{"--to-latest"}, want: offsets(5, 3)},
		{name: "to-current", args: []string{"--to-current"}, want: offsets(2, 3)},
		{name: "to-offset", args: []string{"--to-offset", "1"}, want: offsets(1, 1)},
		{
			name: "to-offset past the log end is clamped to it", args: []string{"--to-offset", "4"}, want: offsets(4, 3),
			warnings: []string{"New offset (4) is higher than latest offset for topic partition orders-1. Value will be set to 3."},
		},
		{name: "shift-by back", args: []string{"--shift-by", "-1"}, want: offsets(1, 2)},
		{
			name: "shift-by before the log start is clamped to it", args: []string{"--shift-by", "-3"}, want: offsets(0, 0),
			warnings: []string{"New offset (-1) is lower than earliest offset for topic partition orders-0. Value will be set to 0."},
		},
		{
			name: "shift-by forward is clamped to the log end", args: []string{"--shift-by", "2"}, want: offsets(4, 3),
			warnings: []string{"New offset (5) is higher than latest offset for topic partition orders-1. Value will be set to 3."},
		},
		{name: "to-datetime at a record", args: []string{"--to-datetime", stamp(2 * time.Hour)}, want: offsets(2, 2)},
		{name: "to-datetime between records", args: []string{"--to-datetime", stamp(90 * time.Minute)}, want: offsets(2, 2)},
		{name: "to-datetime before the first record", args: []string{"--to-datetime", stamp(-time.Hour)}, want: offsets(0, 0)},
		{name: "to-datetime after the last record is the log end", args: []string{"--to-datetime", stamp(6 * time.Hour)}, want: offsets(5, 3)},
		{name: "to-datetime with an offset zone", args: []string{"--to-datetime", base.Add(3 * time.Hour).In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00")}, want: offsets(3, 3)},
		// now - 7h30m falls between the records stamped base+2h and base+3h.
		{name: "by-duration", args: []string{"--by-duration", "PT7H30M"}, want: offsets(3, 3)},
		{name: "by-duration in days", args: []string{"--by-duration", "P1D"}, want: offsets(0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.commit("billing", offsets(2, 3))
			args := append([]string{"reset-offsets", "--group", "billing", "--topic", "orders", "--execute"}, tc.args...)
			r := c.mustRun(args...)
			checkTable(t, r.stdout,
				"GROUP TOPIC PARTITION NEW-OFFSET",
				fmt.Sprintf("billing orders 0 %d", tc.want["orders"][0]),
				fmt.Sprintf("billing orders 1 %d", tc.want["orders"][1]),
			)
			c.checkCommitted("billing", tc.want)
			gotWarnings := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(tc.warnings) == 0 && r.stderr != "" || len(tc.warnings) > 0 && !reflect.DeepEqual(gotWarnings, tc.warnings) {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, strings.Join(tc.warnings, "\n"))
			}
		})
	}
}

func TestResetOffsetsToCurrentTakesTheLogEndWhereNothingIsCommitted(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)
	c.createTopic("refunds", []int{4, 1}, nil)

	r := c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders", "--topic", "refunds", "--to-current", "--execute")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 0 2",
		"billing orders 1 3",
		"billing refunds 0 4",
		"billing refunds 1 1",
	)
	c.checkCommitted("billing", map[string]map[int32]int64{"orders": {0: 2, 1: 3}, "refunds": {0: 4, 1: 1}})
}

func TestResetOffsetsOfSomePartitionsLeavesTheOthers(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders:1", "--to-earliest", "--execute")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 1 0",
	)
	c.checkCommitted("billing", offsets(2, 0))
}

func TestResetOffsetsOfAllTopicsTakesEveryCommittedPartition(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)
	c.createTopic("refunds", []int{4, 1}, nil)
	c.createTopic("unread", []int{2}, nil)
	c.commit("billing", map[string]map[int32]int64{"refunds": {0: 1}})

	r := c.mustRun("reset-offsets", "--group", "billing", "--all-topics", "--to-latest", "--execute")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION NEW-OFFSET",
		"billing orders 0 5",
		"billing orders 1 3",
		"billing refunds 0 4",
	)
	c.checkCommitted("billing", map[string]map[int32]int64{"orders": {0: 5, 1: 3}, "refunds": {0: 4}})
}

func TestResetOffsetsOfANewGroupCreatesItsOffsets(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	c.mustRun("reset-offsets", "--group", "newcomer", "--topic", "orders", "--to-offset", "1", "--execute")
	c.checkCommitted("newcomer", offsets(1, 1))
}

func TestResetOffsetsAsJSON(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	for _, execute := range []bool{false, true} {
		args := []string{"reset-offsets", "--group", "billing", "--topic", "orders:0", "--shift-by", "1", "-o", "json"}
		if execute {
			args = append(args, "--execute")
		}
		var got struct {
			DryRun  bool `json:"dry_run"`
			Offsets []struct {
				Group     string `json:"group"`
				Topic     string `json:"topic"`
				Partition int32  `json:"partition"`
				NewOffset int64  `json:"new_offset"`
			} `json:"offsets"`
		}
		decodeJSON(t, c.mustRun(args...).stdout, &got)
		if got.DryRun == execute || len(got.Offsets) != 1 || got.Offsets[0].Group != "billing" || got.Offsets[0].Topic != "orders" ||
			got.Offsets[0].Partition != 0 || got.Offsets[0].NewOffset != 3 {
			t.Errorf("execute %v: %+v, want dry_run %v and orders-0 at 3", execute, got, !execute)
		}
	}
	c.checkCommitted("billing", offsets(3, 3))
}

func TestResetOffsetsRefusesAGroupWithActiveMembers(t *testing.T) {
	c := startCluster(t)
	billing(t, c)

	r := c.run("reset-offsets", "--group", "billing", "--topic", "orders", "--to-earliest", "--execute")
	want := "samsa groups reset-offsets: Assignments can only be reset if the group 'billing' is inactive, but the current state is Stable.\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("reset of an active group: exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
	checkTable(t, r.stdout, "GROUP TOPIC PARTITION NEW-OFFSET")
	c.checkCommitted("billing", offsets(2, 3))
}

func TestResetOffsetsRefusesWhatItCannotPlan(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)
	c.createTopic("refunds", []int{4}, nil)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--topic", "nope", "--to-earliest"}, `The partitions "nope" do not exist`},
		{[]string{"--topic", "orders:0,7", "--to-earliest"}, `The partitions "orders-7" do not exist`},
		{[]string{"--topic", "refunds", "--shift-by", "1"}, "Cannot shift offset for partition refunds-0 since there is no current committed offset"},
	} {
		args := append([]string{"reset-offsets", "--group", "billing", "--execute"}, tc.args...)
		r := c.run(args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	c.checkCommitted("billing", offsets(2, 3))
}

func TestResetOffsetsRefusesABadCommandLineAsAUsageError(t *testing.T) {
	// Nothing is asked of the cluster, so none is needed.
	addr := freePort(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--group", "g", "--topic", "t"}, "one of --to-earliest, --to-latest"},
		{[]string{"--group", "g", "--topic", "t", "--to-earliest", "--to-latest"}, "only one of --to-earliest, --to-latest can be used"},
		{[]string{"--group", "g", "--to-earliest"}, "--all-topics or --topic"},
		{[]string{"--group", "g", "--topic", "t", "--all-topics", "--to-earliest"}, "--topic and --all-topics cannot be used together"},
		{[]string{"--topic", "t", "--to-earliest"}, "--group or --all-groups is required"},
		{[]string{"--group", "g", "--topic", "t", "--to-earliest", "--execute", "--dry-run"}, "--execute and --dry-run"},
		{[]string{"--group", "g", "--topic", "t:x", "--to-earliest"}, `invalid partition "x"`},
		{[]string{"--group", "g", "--topic", "t", "--to-datetime", "yesterday"}, `invalid datetime "yesterday"`},
		{[]string{"--group", "g", "--topic", "t", "--by-duration", "1h"}, `invalid duration "1h"`},
		{[]string{"--group", "g", "--topic", "t", "--to-offset", "ten"}, `invalid argument "ten"`},
	} {
		r := runAgainst(t, []string{addr}, append([]string{"reset-offsets"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("reset-offsets %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

func TestResetOffsetsExportWritesAPlanThatFromFileAppliesLater(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	// Save where billing is now, move it, then put it back from the file.
	r := c.mustRun("reset-offsets", "--group", "billing", "--all-topics", "--to-current", "--export")
	if r.stdout != "orders,0,2\norders,1,3\n" {
		t.Fatalf("--export printed %q, want Kafka's topic,partition,offset lines", r.stdout)
	}
	plan := filepath.Join(t.TempDir(), "plan.csv")
	if err := os.WriteFile(plan, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustRun("reset-offsets", "--group", "billing", "--topic", "orders", "--to-latest", "--execute")
	c.checkCommitted("billing", offsets(5, 3))

	dry := c.mustRun("reset-offsets", "--group", "billing", "--from-file", plan)
	checkTable(t, dry.stdout, "GROUP TOPIC PARTITION NEW-OFFSET", "billing orders 0 2", "billing orders 1 3")
	c.checkCommitted("billing", offsets(5, 3))
	c.mustRun("reset-offsets", "--group", "billing", "--from-file", plan, "--execute")
	c.checkCommitted("billing", offsets(2, 3))

	// A plan of several groups names each line's group; a group the
	// file does not name is refused with Kafka's message.
	c.mustRun("reset-offsets", "--group", "audit", "--topic", "orders:0", "--to-offset", "1", "--execute")
	both := c.mustRun("reset-offsets", "--group", "billing", "--group", "audit", "--all-topics", "--to-current", "--export")
	if both.stdout != "audit,orders,0,1\nbilling,orders,0,2\nbilling,orders,1,3\n" {
		t.Fatalf("--export of two groups printed %q", both.stdout)
	}
	if err := os.WriteFile(plan, []byte("billing,orders,0,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = c.run("reset-offsets", "--group", "billing", "--group", "audit", "--from-file", plan, "--execute")
	if r.code != 1 || !strings.Contains(r.stderr, "No reset plan for group audit found") {
		t.Errorf("a group missing from the plan: exit %d, stderr %q", r.code, r.stderr)
	}
	c.checkCommitted("billing", map[string]map[int32]int64{"orders": {0: 4, 1: 3}})
}

func TestResetOffsetsFromFileRefusesAMalformedPlan(t *testing.T) {
	addr := freePort(t)
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"fields.csv":    {"orders,0\n", "line 1 has 2 fields"},
		"partition.csv": {"orders,x,3\n", `"x" is not a partition`},
		"offset.csv":    {"orders,0,-1\n", `"-1" is not an offset`},
		"empty.csv":     {"", "no offsets in it"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runAgainst(t, []string{addr}, "reset-offsets", "--group", "g", "--from-file", path)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", name, r.code, r.stderr, tc.want)
		}
	}
	r := runAgainst(t, []string{addr}, "reset-offsets", "--group", "g", "--from-file", filepath.Join(dir, "missing.csv"))
	if r.code != 2 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("a missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}
