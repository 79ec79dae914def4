package acls_test

import (
	"slices"
	"strings"
	"testing"
)

// sortedRows are a table's rows without its header, sorted as
// clusterACLs sorts them, failing the test if the header is not the
// table's.
func sortedRows(t *testing.T, out string) []string {
	t.Helper()
	ls := lines(out)
	if len(ls) == 0 || ls[0] != header {
		t.Fatalf("table without its header:\n%s", out)
	}
	rows := slices.Clone(ls[1:])
	slices.Sort(rows)
	return rows
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestCreateAddsEachPrincipalOperationAndResourceAndListShowsThem(t *testing.T) {
	s := securedBroker(t)
	want := []string{
		"User:alice * READ ALLOW TOPIC orders LITERAL",
		"User:alice * DESCRIBE ALLOW TOPIC orders LITERAL",
		"User:bob * READ ALLOW TOPIC orders LITERAL",
		"User:bob * DESCRIBE ALLOW TOPIC orders LITERAL",
	}
	out := ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--allow-principal", "User:bob",
		"--operation", "Read", "--operation", "DESCRIBE", "--topic", "orders")
	sameRows(t, "create printed", sortedRows(t, out), want)
	sameRows(t, "the cluster has", clusterACLs(t, s), want)
	sameRows(t, "list printed", sortedRows(t, ok(t, s, "acls", "list")), want)

	var doc struct {
		ACLs []struct {
			Principal    string `json:"principal"`
			Host         string `json:"host"`
			Operation    string `json:"operation"`
			Permission   string `json:"permission"`
			ResourceType string `json:"resource_type"`
			Name         string `json:"name"`
			PatternType  string `json:"pattern_type"`
		} `json:"acls"`
	}
	decode(t, ok(t, s, "-o", "json", "acls", "list"), &doc)
	var fromJSON []string
	for _, a := range doc.ACLs {
		fromJSON = append(fromJSON, strings.Join([]string{a.Principal, a.Host, a.Operation, a.Permission, a.ResourceType, a.Name, a.PatternType}, " "))
	}
	slices.Sort(fromJSON)
	sameRows(t, "list -o json", fromJSON, want)

	// Creating them again leaves one copy of each.
	ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--operation", "read", "--topic", "orders")
	sameRows(t, "after a repeated create the cluster has", clusterACLs(t, s), want)
}

func TestCreateDefaultsToAllOperationsFromEveryHostAndTakesDenyAndPrefixed(t *testing.T) {
	s := securedBroker(t)
	ok(t, s, "acls", "create", "--allow-principal", "User:ops", "--cluster")
	ok(t, s, "acls", "create", "--deny-principal", "User:mallory", "--deny-host", "10.0.0.7", "--deny-host", "10.0.0.8",
		"--operation", "idempotent-write", "--operation", "Write", "--topic", "pay", "--resource-pattern-type", "prefixed")
	ok(t, s, "acls", "create", "--allow-principal", "User:*", "--operation", "DescribeConfigs", "--group", "*", "--transactional-id", "tx", "--delegation-token", "tok")
	sameRows(t, "the cluster has", clusterACLs(t, s), []string{
		"User:ops * ALL ALLOW CLUSTER kafka-cluster LITERAL",
		"User:mallory 10.0.0.7 WRITE DENY TOPIC pay PREFIXED",
		"User:mallory 10.0.0.8 WRITE DENY TOPIC pay PREFIXED",
		"User:mallory 10.0.0.7 IDEMPOTENT_WRITE DENY TOPIC pay PREFIXED",
		"User:mallory 10.0.0.8 IDEMPOTENT_WRITE DENY TOPIC pay PREFIXED",
		"User:* * DESCRIBE_CONFIGS ALLOW GROUP * LITERAL",
		"User:* * DESCRIBE_CONFIGS ALLOW TRANSACTIONAL_ID tx LITERAL",
		"User:* * DESCRIBE_CONFIGS ALLOW DELEGATION_TOKEN tok LITERAL",
	})
}

func TestListFiltersByResourcePatternTypeAndPrincipal(t *testing.T) {
	s := securedBroker(t)
	ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "payments")
	ok(t, s, "acls", "create", "--allow-principal", "User:bob", "--operation", "Write", "--topic", "pay", "--resource-pattern-type", "PREFIXED")
	ok(t, s, "acls", "create", "--allow-principal", "User:carol", "--operation", "Read", "--topic", "*")
	ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--operation", "Read", "--group", "billing")

	alice := "User:alice * READ ALLOW TOPIC payments LITERAL"
	bob := "User:bob * WRITE ALLOW TOPIC pay PREFIXED"
	carol := "User:carol * READ ALLOW TOPIC * LITERAL"
	aliceGroup := "User:alice * READ ALLOW GROUP billing LITERAL"
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--topic", "payments"}, []string{alice}},
		{[]string{"--topic", "payments", "--resource-pattern-type", "MATCH"}, []string{alice, bob, carol}},
		{[]string{"--topic", "payments", "--group", "billing"}, []string{alice, aliceGroup}},
		{[]string{"--resource-pattern-type", "PREFIXED"}, []string{bob}},
		{[]string{"--topic", "pay", "--resource-pattern-type", "ANY"}, []string{bob}},
		{[]string{"--principal", "User:alice"}, []string{alice, aliceGroup}},
		{[]string{"--principal", "User:alice", "--group", "billing"}, []string{aliceGroup}},
		{[]string{"--topic", "refunds"}, nil},
		{[]string{"--cluster"}, nil},
	} {
		sameRows(t, "list "+strings.Join(c.args, " "), sortedRows(t, ok(t, s, append([]string{"acls", "list"}, c.args...)...)), c.want)
	}
}

func TestCreateProducerAndConsumerGrantKafkasSets(t *testing.T) {
	s := securedBroker(t)
	ok(t, s, "acls", "create", "--allow-principal", "User:app", "--producer", "--topic", "orders", "--transactional-id", "tx", "--idempotent")
	sameRows(t, "--producer --transactional-id --idempotent", clusterACLs(t, s), []string{
		"User:app * WRITE ALLOW TOPIC orders LITERAL",
		"User:app * DESCRIBE ALLOW TOPIC orders LITERAL",
		"User:app * CREATE ALLOW TOPIC orders LITERAL",
		"User:app * WRITE ALLOW TRANSACTIONAL_ID tx LITERAL",
		"User:app * DESCRIBE ALLOW TRANSACTIONAL_ID tx LITERAL",
		"User:app * IDEMPOTENT_WRITE ALLOW CLUSTER kafka-cluster LITERAL",
	})

	s = securedBroker(t)
	out := ok(t, s, "acls", "create", "--allow-principal", "User:billing", "--allow-host", "10.1.1.1", "--consumer", "--topic", "orders", "--topic", "refunds", "--group", "billing")
	want := []string{
		"User:billing 10.1.1.1 READ ALLOW TOPIC orders LITERAL",
		"User:billing 10.1.1.1 DESCRIBE ALLOW TOPIC orders LITERAL",
		"User:billing 10.1.1.1 READ ALLOW TOPIC refunds LITERAL",
		"User:billing 10.1.1.1 DESCRIBE ALLOW TOPIC refunds LITERAL",
		"User:billing 10.1.1.1 READ ALLOW GROUP billing LITERAL",
	}
	sameRows(t, "--consumer printed", sortedRows(t, out), want)
	sameRows(t, "--consumer", clusterACLs(t, s), want)

	s = securedBroker(t)
	ok(t, s, "acls", "create", "--allow-principal", "User:both", "--producer", "--consumer", "--topic", "t", "--group", "g")
	sameRows(t, "--producer --consumer", clusterACLs(t, s), []string{
		"User:both * WRITE ALLOW TOPIC t LITERAL",
		"User:both * DESCRIBE ALLOW TOPIC t LITERAL",
		"User:both * CREATE ALLOW TOPIC t LITERAL",
		"User:both * READ ALLOW TOPIC t LITERAL",
		"User:both * READ ALLOW GROUP g LITERAL",
	})
}

// threeSets are ACLs on two topics, for the delete tests.
func threeSets(t *testing.T, s []string) []string {
	t.Helper()
	ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--allow-principal", "User:bob", "--operation", "Read", "--operation", "Write", "--topic", "orders")
	ok(t, s, "acls", "create", "--deny-principal", "User:alice", "--operation", "Delete", "--topic", "orders")
	ok(t, s, "acls", "create", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "payments")
	return clusterACLs(t, s)
}

func TestDeleteWithoutForceListsTheMatchesChangesNothingAndExitsTwo(t *testing.T) {
	s := securedBroker(t)
	before := threeSets(t, s)
	out := fails(t, s, 2, "samsa acls delete: 5 ACLs match (listed on stdout); nothing deleted without --force", "acls", "delete", "--topic", "orders")
	first, table, _ := strings.Cut(out, "\n")
	if first != "Would delete 5 ACLs:" {
		t.Errorf("first line %q", first)
	}
	sameRows(t, "would delete", sortedRows(t, table), []string{
		"User:alice * READ ALLOW TOPIC orders LITERAL",
		"User:alice * WRITE ALLOW TOPIC orders LITERAL",
		"User:bob * READ ALLOW TOPIC orders LITERAL",
		"User:bob * WRITE ALLOW TOPIC orders LITERAL",
		"User:alice * DELETE DENY TOPIC orders LITERAL",
	})
	sameRows(t, "after delete without --force the cluster has", clusterACLs(t, s), before)

	var doc struct {
		Matched []map[string]string `json:"matched"`
		Deleted []map[string]string `json:"deleted"`
	}
	r := samsa(t, s, "-o", "json", "acls", "delete", "--topic", "orders", "--allow-principal", "User:bob")
	decode(t, r.stdout, &doc)
	if r.code != 2 || len(doc.Matched) != 2 || doc.Deleted == nil || len(doc.Deleted) != 0 {
		t.Errorf("-o json without --force: exit %d, %+v; want exit 2, bob's 2 ACLs matched, deleted []", r.code, doc)
	}
	sameRows(t, "after delete -o json without --force the cluster has", clusterACLs(t, s), before)

	if got := ok(t, s, "acls", "delete", "--topic", "refunds"); got != "No ACLs match; nothing deleted.\n" {
		t.Errorf("delete matching nothing printed %q", got)
	}
}

func TestDeleteWithForceRemovesOnlyTheMatchingACLs(t *testing.T) {
	s := securedBroker(t)
	threeSets(t, s)

	out := ok(t, s, "acls", "delete", "--topic", "orders", "--allow-principal", "User:alice", "--operation", "read", "--force")
	first, table, _ := strings.Cut(out, "\n")
	if first != "Deleted 1 ACL:" {
		t.Errorf("first line %q", first)
	}
	sameRows(t, "deleted", sortedRows(t, table), []string{"User:alice * READ ALLOW TOPIC orders LITERAL"})
	sameRows(t, "after deleting alice's READ on orders the cluster has", clusterACLs(t, s), []string{
		"User:alice * WRITE ALLOW TOPIC orders LITERAL",
		"User:bob * READ ALLOW TOPIC orders LITERAL",
		"User:bob * WRITE ALLOW TOPIC orders LITERAL",
		"User:alice * DELETE DENY TOPIC orders LITERAL",
		"User:alice * READ ALLOW TOPIC payments LITERAL",
	})

	// A deny principal selects DENY ACLs only.
	ok(t, s, "acls", "delete", "--topic", "orders", "--deny-principal", "User:alice", "--force")
	// A host that no ACL has selects nothing.
	ok(t, s, "acls", "delete", "--topic", "orders", "--allow-principal", "User:bob", "--allow-host", "10.0.0.1", "--force")
	sameRows(t, "after deleting alice's DENY the cluster has", clusterACLs(t, s), []string{
		"User:alice * WRITE ALLOW TOPIC orders LITERAL",
		"User:bob * READ ALLOW TOPIC orders LITERAL",
		"User:bob * WRITE ALLOW TOPIC orders LITERAL",
		"User:alice * READ ALLOW TOPIC payments LITERAL",
	})

	var doc struct {
		Matched []map[string]string `json:"matched"`
		Deleted []map[string]string `json:"deleted"`
	}
	decode(t, ok(t, s, "-o", "json", "acls", "delete", "--topic", "orders", "--force"), &doc)
	if len(doc.Matched) != 3 || len(doc.Deleted) != 3 {
		t.Errorf("delete --topic orders --force -o json: %+v; want 3 matched and deleted", doc)
	}
	sameRows(t, "after deleting every ACL on orders the cluster has", clusterACLs(t, s), []string{
		"User:alice * READ ALLOW TOPIC payments LITERAL",
	})
}

func TestABrokerWithoutAnAuthorizerIsOneClearLine(t *testing.T) {
	s := startBroker(t, nil)
	const want = "the cluster has no authorizer (authorizer.class.name is not set)"
	for _, args := range [][]string{
		{"acls", "list"},
		{"acls", "create", "--allow-principal", "User:alice", "--topic", "orders"},
		{"acls", "delete", "--topic", "orders", "--force"},
	} {
		if out := fails(t, s, 1, "samsa "+strings.Join(args[:2], " ")+": "+want, args...); out != "" {
			t.Errorf("%v printed %q", args, out)
		}
	}
}

func TestACallerWithoutClusterPermissionIsOneClearLine(t *testing.T) {
	// An authorizer, and no ACL or super user for User:ANONYMOUS.
	s := startBroker(t, map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"})
	const want = "not authorized to manage ACLs (CLUSTER_AUTHORIZATION_FAILED): listing needs DESCRIBE on the cluster, creating and deleting ALTER"
	for _, args := range [][]string{
		{"acls", "list"},
		{"acls", "create", "--allow-principal", "User:alice", "--topic", "orders"},
		{"acls", "delete", "--topic", "orders", "--force"},
	} {
		if out := fails(t, s, 1, "samsa "+strings.Join(args[:2], " ")+": "+want, args...); out != "" {
			t.Errorf("%v printed %q", args, out)
		}
	}
}

func TestBadCommandLinesExitTwoAndTouchNothing(t *testing.T) {
	s := securedBroker(t)
	ok(t, s, "acls", "create", "--allow-principal", "User:keep", "--topic", "orders")
	before := clusterACLs(t, s)
	const ops = "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All"
	allow := []string{"acls", "create", "--allow-principal", "User:alice"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(allow, "--topic", "t", "--operation", "Reed"), `samsa acls create: --operation "Reed": want one of ` + ops},
		{append(allow, "--topic", "t", "--operation", "Any"), `samsa acls create: --operation "Any": want one of ` + ops},
		{[]string{"acls", "create", "--topic", "t"}, "samsa acls create: name a principal: --allow-principal or --deny-principal"},
		{allow, "samsa acls create: name a resource: --topic, --group, --cluster, --transactional-id or --delegation-token"},
		{[]string{"acls", "create", "--allow-principal", "alice", "--topic", "t"}, `samsa acls create: --allow-principal "alice": want Type:name, such as User:alice`},
		{[]string{"acls", "create", "--allow-host", "10.0.0.1", "--deny-principal", "User:a", "--topic", "t"}, "samsa acls create: --allow-host needs --allow-principal"},
		{append(allow, "--topic", "t", "--resource-pattern-type", "MATCH"), `samsa acls create: --resource-pattern-type "MATCH": want LITERAL, PREFIXED`},
		{append(allow, "--producer"), "samsa acls create: --producer and --consumer need --topic"},
		{append(allow, "--consumer", "--topic", "t"), "samsa acls create: --consumer needs --group"},
		{append(allow, "--idempotent", "--topic", "t"), "samsa acls create: --idempotent is only for --producer"},
		{append(allow, "--producer", "--topic", "t", "--operation", "Read"), "samsa acls create: --operation cannot be used with --producer or --consumer"},
		{append(allow, "--producer", "--topic", "t", "--group", "g"), "samsa acls create: --group is only for --consumer"},
		{append(allow, "--consumer", "--topic", "t", "--group", "g", "--transactional-id", "x"), "samsa acls create: --transactional-id is only for --producer"},
		{[]string{"acls", "create", "--deny-principal", "User:a", "--producer", "--topic", "t"}, "samsa acls create: --deny-principal cannot be used with --producer or --consumer"},
		{[]string{"acls", "delete", "--force"}, "samsa acls delete: name a resource: --topic, --group, --cluster, --transactional-id or --delegation-token"},
		{[]string{"acls", "delete", "--topic", "orders", "--operation", "nope", "--force"}, `samsa acls delete: --operation "nope": want one of ` + ops},
		{[]string{"acls", "list", "--resource-pattern-type", "exact"}, `samsa acls list: --resource-pattern-type "exact": want ANY, MATCH, LITERAL, PREFIXED`},
		{[]string{"acls", "list", "--principal", "alice"}, `samsa acls list: --principal "alice": want Type:name, such as User:alice`},
		{[]string{"acls", "list", "extra"}, `samsa acls list: unknown command "extra" for "samsa acls list"`},
		{[]string{"acls", "list", "--no-such-flag"}, "samsa acls list: unknown flag: --no-such-flag"},
	} {
		if out := fails(t, s, 2, c.want, c.args...); out != "" {
			t.Errorf("%v printed %q", c.args, out)
		}
	}
	sameRows(t, "after bad command lines the cluster has", clusterACLs(t, s), before)
}
