package groups_test

import (
	"strings"
	"testing"
	"time"
)

// billing is the group most tests describe: topic orders holds 5 and 3
// records in its two partitions, and billing's one live member,
// billing-app, has processed and committed up to offsets 2 and 3.
func billing(t *testing.T, c *testCluster) *member {
	t.Helper()
	c.createTopic("orders", []int{5, 3}, nil)
	m := c.join("billing", "billing-app", "orders")
	m.commit(t, map[string]map[int32]int64{"orders": {0: 2, 1: 3}})
	return m
}

func TestDescribeShowsCommittedOffsetLogEndLagAndMemberPerPartition(t *testing.T) {
	c := startCluster(t)
	m := billing(t, c)

	r := c.mustRun("describe", "--group", "billing")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"billing orders 0 2 5 3 "+m.id()+" /127.0.0.1 billing-app",
		"billing orders 1 3 3 0 "+m.id()+" /127.0.0.1 billing-app",
	)
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing for a stable group", r.stderr)
	}
}

func TestDescribeShowsADashWhereAPartitionHasNoMemberOrNoCommit(t *testing.T) {
	c := startCluster(t)
	c.createTopic("refunds", []int{4}, nil)
	m := billing(t, c)
	// refunds-0 is committed but no member reads it.
	m.commit(t, map[string]map[int32]int64{"refunds": {0: 1}})

	r := c.mustRun("describe", "--group", "billing")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"billing orders 0 2 5 3 "+m.id()+" /127.0.0.1 billing-app",
		"billing orders 1 3 3 0 "+m.id()+" /127.0.0.1 billing-app",
		"billing refunds 0 1 4 3 - - -",
	)

	// A member that has committed nothing has no offset and no lag.
	c.createTopic("fresh", []int{2, 2}, nil)
	n := c.join("readers", "reader-app", "fresh")
	checkTable(t, c.mustRun("describe", "--group", "readers").stdout,
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"readers fresh 0 - 2 - "+n.id()+" /127.0.0.1 reader-app",
		"readers fresh 1 - 2 - "+n.id()+" /127.0.0.1 reader-app",
	)
}

func TestDescribeAnEmptyGroupSaysItHasNoActiveMembers(t *testing.T) {
	c := startCluster(t)
	m := billing(t, c)
	m.leave()
	checkFor(t, 10*time.Second, func() error { return c.waitState("billing", "Empty") })

	r := c.mustRun("describe", "--group", "billing")
	checkTable(t, r.stdout,
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"billing orders 0 2 5 3 - - -",
		"billing orders 1 3 3 0 - - -",
	)
	if want := "Consumer group 'billing' has no active members.\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestDescribeMembersListsEachMemberAndWithVerboseItsAssignment(t *testing.T) {
	c := startCluster(t)
	m := billing(t, c)

	checkTable(t, c.mustRun("describe", "--group", "billing", "--members").stdout,
		"GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS",
		"billing "+m.id()+" /127.0.0.1 billing-app 2",
	)
	checkTable(t, c.mustRun("describe", "--group", "billing", "--members", "--verbose").stdout,
		"GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS ASSIGNMENT",
		"billing "+m.id()+" /127.0.0.1 billing-app 2 orders:0,1",
	)
}

func TestDescribeStateShowsCoordinatorStrategyStateAndMemberCount(t *testing.T) {
	c := startCluster(t)
	billing(t, c)

	checkTable(t, c.mustRun("describe", "--group", "billing", "--state").stdout,
		"GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS",
		"billing "+c.seeds[0]+" (1) cooperative-sticky Stable 1",
	)
}

func TestDescribeAllGroupsPrintsOneTablePerGroup(t *testing.T) {
	c := startCluster(t)
	m := billing(t, c)
	c.commit("audit", map[string]map[int32]int64{"orders": {1: 1}})

	r := c.mustRun("describe", "--all-groups")
	tables := strings.Split(strings.TrimSpace(r.stdout), "\n\n")
	if len(tables) != 2 {
		t.Fatalf("describe --all-groups printed %d tables, want 2 (audit, billing):\n%s", len(tables), r.stdout)
	}
	checkTable(t, tables[0],
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"audit orders 1 1 3 2 - - -",
	)
	checkTable(t, tables[1],
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
		"billing orders 0 2 5 3 "+m.id()+" /127.0.0.1 billing-app",
		"billing orders 1 3 3 0 "+m.id()+" /127.0.0.1 billing-app",
	)
}

func TestDescribeAsJSONHoldsMembersAndOffsets(t *testing.T) {
	c := startCluster(t)
	m := billing(t, c)

	var got struct {
		Groups []struct {
			Group   string `json:"group"`
			State   string `json:"state"`
			Members []struct {
				ConsumerID string `json:"consumer_id"`
				ClientID   string `json:"client_id"`
				Assignment []struct {
					Topic      string  `json:"topic"`
					Partitions []int32 `json:"partitions"`
				} `json:"assignment"`
			} `json:"members"`
			Offsets []struct {
				Topic         string  `json:"topic"`
				Partition     int32   `json:"partition"`
				CurrentOffset *int64  `json:"current_offset"`
				LogEndOffset  *int64  `json:"log_end_offset"`
				Lag           *int64  `json:"lag"`
				ConsumerID    *string `json:"consumer_id"`
			} `json:"offsets"`
		} `json:"groups"`
	}
	decodeJSON(t, c.mustRun("describe", "--group", "billing", "-o", "json").stdout, &got)
	if len(got.Groups) != 1 || got.Groups[0].Group != "billing" || got.Groups[0].State != "Stable" {
		t.Fatalf("groups = %+v, want billing, Stable", got.Groups)
	}
	g := got.Groups[0]
	if len(g.Members) != 1 || g.Members[0].ConsumerID != m.id() || g.Members[0].ClientID != "billing-app" ||
		len(g.Members[0].Assignment) != 1 || g.Members[0].Assignment[0].Topic != "orders" || len(g.Members[0].Assignment[0].Partitions) != 2 {
		t.Errorf("members = %+v, want %s (billing-app) assigned orders 0 and 1", g.Members, m.id())
	}
	wantLag := map[int32][3]int64{0: {2, 5, 3}, 1: {3, 3, 0}}
	if len(g.Offsets) != 2 {
		t.Fatalf("offsets = %+v, want orders 0 and 1", g.Offsets)
	}
	for _, o := range g.Offsets {
		w := wantLag[o.Partition]
		if o.Topic != "orders" || o.CurrentOffset == nil || o.LogEndOffset == nil || o.Lag == nil || o.ConsumerID == nil ||
			*o.CurrentOffset != w[0] || *o.LogEndOffset != w[1] || *o.Lag != w[2] || *o.ConsumerID != m.id() {
			t.Errorf("offsets of orders-%d = %+v, want current %d, log end %d, lag %d, consumer %s", o.Partition, o, w[0], w[1], w[2], m.id())
		}
	}
}

func TestDescribeAnUnknownGroupFailsWithKafkasMessage(t *testing.T) {
	c := startCluster(t)
	billing(t, c)

	r := c.run("describe", "--group", "nobody")
	if want := "samsa groups describe: Consumer group 'nobody' does not exist.\n"; r.code != 1 || r.stderr != want {
		t.Errorf("describe --group nobody: exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}

	// The groups that exist are still described.
	r = c.run("describe", "--group", "nobody", "--group", "billing", "--state")
	if r.code != 1 || !strings.Contains(r.stdout, "billing") || !strings.Contains(r.stderr, "Consumer group 'nobody' does not exist.") {
		t.Errorf("describe --group nobody --group billing: exit %d\nstdout:\n%s\nstderr:\n%s\nwant billing described and nobody reported", r.code, r.stdout, r.stderr)
	}
}

func TestDescribeRefusesConflictingFlagsAsUsageErrors(t *testing.T) {
	c := startCluster(t)
	for _, args := range [][]string{
		{"describe"},
		{"describe", "--group", "billing", "--all-groups"},
		{"describe", "--group", "billing", "--members", "--state"},
	} {
		if r := c.run(args...); r.code != 2 {
			t.Errorf("%s: exit %d, stderr %q; want 2", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
