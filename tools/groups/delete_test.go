package groups_test

import (
	"strings"
	"testing"
	"time"
)

func TestDeleteOffsetsRemovesTheGroupsOffsetsForThatTopicOnly(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)
	c.createTopic("refunds", []int{4}, nil)
	c.commit("billing", map[string]map[int32]int64{"refunds": {0: 1}})

	r := c.mustRun("delete-offsets", "--group", "billing", "--topic", "orders")
	checkTable(t, r.stdout,
		"TOPIC PARTITION STATUS",
		"orders 0 Successful",
		"orders 1 Successful",
	)
	c.checkCommitted("billing", map[string]map[int32]int64{"refunds": {0: 1}})
}

func TestDeleteOffsetsOfSomePartitions(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.mustRun("delete-offsets", "--group", "billing", "--topic", "orders:1", "-o", "json")
	var got struct {
		Group      string `json:"group"`
		Partitions []struct {
			Topic     string  `json:"topic"`
			Partition *int32  `json:"partition"`
			ErrorCode *string `json:"error_code"`
			Error     *string `json:"error"`
		} `json:"partitions"`
	}
	decodeJSON(t, r.stdout, &got)
	if got.Group != "billing" || len(got.Partitions) != 1 || got.Partitions[0].Topic != "orders" || got.Partitions[0].Partition == nil ||
		*got.Partitions[0].Partition != 1 || got.Partitions[0].ErrorCode != nil || got.Partitions[0].Error != nil {
		t.Errorf("delete-offsets -o json:\n%s\nwant orders-1 with no error", r.stdout)
	}
	c.checkCommitted("billing", map[string]map[int32]int64{"orders": {0: 2}})
}

func TestDeleteOffsetsRefusesATopicTheActiveMembersRead(t *testing.T) {
	c := startCluster(t)
	billing(t, c)

	r := c.run("delete-offsets", "--group", "billing", "--topic", "orders")
	checkTable(t, r.stdout,
		"TOPIC PARTITION STATUS",
		"orders 0 Error: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.",
		"orders 1 Error: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.",
	)
	want := "samsa groups delete-offsets: the offsets of 2 of 2 partitions in group 'billing' were not deleted\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
	c.checkCommitted("billing", offsets(2, 3))
}

func TestDeleteOffsetsReportsAnUnknownTopicAndAnUnknownGroup(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.run("delete-offsets", "--group", "billing", "--topic", "nope")
	checkTable(t, r.stdout,
		"TOPIC PARTITION STATUS",
		"nope - Error: This server does not host this topic-partition.",
	)
	if r.code != 1 {
		t.Errorf("delete-offsets of an unknown topic: exit %d, want 1", r.code)
	}

	r = c.run("delete-offsets", "--group", "nobody", "--topic", "orders")
	want := "samsa groups delete-offsets: delete the offsets of group 'nobody': The group id does not exist.\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("delete-offsets of an unknown group: exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
}

func TestDeleteRemovesAnEmptyGroupAndItsOffsets(t *testing.T) {
	c := startCluster(t)
	idleBilling(t, c)

	r := c.mustRun("delete", "--group", "billing")
	checkTable(t, r.stdout,
		"GROUP STATUS",
		"billing Successful",
	)
	c.checkCommitted("billing", map[string]map[int32]int64{})
	checkTable(t, c.mustRun("list").stdout, "GROUP STATE PROTOCOL-TYPE ASSIGNMENT-STRATEGY #MEMBERS")
}

func TestDeleteRefusesAGroupWithMembersAndAnUnknownGroup(t *testing.T) {
	c := startCluster(t)
	billing(t, c)
	c.commit("audit", map[string]map[int32]int64{"orders": {0: 1}})

	r := c.run("delete", "--group", "billing", "--group", "nobody", "--group", "audit")
	checkTable(t, r.stdout,
		"GROUP STATUS",
		"audit Successful",
		"billing Error: The group is not empty.",
		"nobody Error: The group id does not exist.",
	)
	want := "samsa groups delete: Deletion of some consumer groups failed: 'billing' (The group is not empty.), 'nobody' (The group id does not exist.)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
	c.checkCommitted("billing", offsets(2, 3))
	checkFor(t, 5*time.Second, func() error { return c.waitState("billing", "Stable") })
	if out := c.mustRun("list").stdout; strings.Contains(out, "audit") {
		t.Errorf("audit is still listed after its deletion:\n%s", out)
	}
}

func TestDeleteAsJSONGivesKafkasErrorCodes(t *testing.T) {
	c := startCluster(t)
	billing(t, c)

	r := c.run("delete", "--group", "billing", "-o", "json")
	var got struct {
		Groups []struct {
			Group     string  `json:"group"`
			ErrorCode *string `json:"error_code"`
			Error     *string `json:"error"`
		} `json:"groups"`
	}
	decodeJSON(t, r.stdout, &got)
	if r.code != 1 || len(got.Groups) != 1 || got.Groups[0].Group != "billing" || got.Groups[0].ErrorCode == nil ||
		*got.Groups[0].ErrorCode != "NON_EMPTY_GROUP" {
		t.Errorf("delete -o json of an active group: exit %d\n%s\nwant exit 1 and NON_EMPTY_GROUP", r.code, r.stdout)
	}
}
