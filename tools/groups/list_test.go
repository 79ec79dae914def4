package groups_test

import (
	"strings"
	"testing"
)

func TestListShowsEachConsumerGroupWithItsStateAndProtocolType(t *testing.T) {
	c := startCluster(t)
	c.createTopic("orders", []int{5, 3}, nil)
	c.join("billing", "billing-app", "orders")
	c.commit("audit", map[string]map[int32]int64{"orders": {0: 1}})

	r := c.mustRun("list")
	checkTable(t, r.stdout,
		"GROUP STATE PROTOCOL-TYPE ASSIGNMENT-STRATEGY #MEMBERS",
		"audit Empty - - 0",
		"billing Stable consumer cooperative-sticky 1",
	)
}

func TestListStateFilterKeepsOnlyGroupsInThoseStates(t *testing.T) {
	c := startCluster(t)
	c.createTopic("orders", []int{1}, nil)
	c.join("billing", "billing-app", "orders")
	c.commit("audit", map[string]map[int32]int64{"orders": {0: 0}})

	checkTable(t, c.mustRun("list", "--state", "empty").stdout,
		"GROUP STATE PROTOCOL-TYPE ASSIGNMENT-STRATEGY #MEMBERS",
		"audit Empty - - 0",
	)
	checkTable(t, c.mustRun("list", "--state", "Stable,PreparingRebalance").stdout,
		"GROUP STATE PROTOCOL-TYPE ASSIGNMENT-STRATEGY #MEMBERS",
		"billing Stable consumer cooperative-sticky 1",
	)
	checkTable(t, c.mustRun("list", "--state", "Dead").stdout,
		"GROUP STATE PROTOCOL-TYPE ASSIGNMENT-STRATEGY #MEMBERS",
	)
}

func TestListAsJSON(t *testing.T) {
	c := startCluster(t)
	c.createTopic("orders", []int{2}, nil)
	c.join("billing", "billing-app", "orders")

	var got struct {
		Groups []struct {
			Group              string `json:"group"`
			State              string `json:"state"`
			ProtocolType       string `json:"protocol_type"`
			AssignmentStrategy string `json:"assignment_strategy"`
			Members            int    `json:"members"`
		} `json:"groups"`
	}
	decodeJSON(t, c.mustRun("list", "-o", "json").stdout, &got)
	if len(got.Groups) != 1 {
		t.Fatalf("groups = %+v, want billing alone", got.Groups)
	}
	g := got.Groups[0]
	if g.Group != "billing" || g.State != "Stable" || g.ProtocolType != "consumer" || g.AssignmentStrategy != "cooperative-sticky" || g.Members != 1 {
		t.Errorf("group = %+v, want billing, Stable, consumer, cooperative-sticky, 1 member", g)
	}

	// No group at all is an empty list, not null.
	empty := startCluster(t)
	if out := empty.mustRun("list", "-o", "json").stdout; !strings.Contains(out, `"groups": []`) {
		t.Errorf("list -o json without groups:\n%s\nwant \"groups\": []", out)
	}
}

func TestListRefusesAnUnknownStateAsAUsageError(t *testing.T) {
	c := startCluster(t)
	r := c.run("list", "--state", "Sleeping")
	if r.code != 2 || !strings.Contains(r.stderr, `invalid state list "Sleeping"`) {
		t.Errorf("list --state Sleeping: exit %d, stderr:\n%s\nwant exit 2 and the invalid state named", r.code, r.stderr)
	}
}

func TestListReportsAnUnreachableClusterOnOneLine(t *testing.T) {
	addr := freePort(t)
	r := runAgainst(t, []string{addr}, "list")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "samsa groups list: cannot reach a broker at "+addr) {
		t.Errorf("list against %s: exit %d, stderr:\n%s\nwant exit 1 and one line naming the address", addr, r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}
