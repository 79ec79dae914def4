package acl

import (
	"testing"
)

func allow(rt ResourceType, name string, pt PatternType, principal string, op Operation) Binding {
	return Binding{ResourceType: rt, ResourceName: name, PatternType: pt, Principal: principal, Host: "*", Operation: op, Permission: PermissionAllow}
}

func deny(rt ResourceType, name string, pt PatternType, principal string, op Operation) Binding {
	b := allow(rt, name, pt, principal, op)
	b.Permission = PermissionDeny
	return b
}

func authorizerWith(acls ...Binding) *Authorizer {
	a := NewAuthorizer("", false)
	a.Set(acls)
	return a
}

const alice, bob = "User:alice", "User:bob"

func TestWithoutAnyACLEveryoneIsRefusedByDefault(t *testing.T) {
	a := authorizerWith()
	if a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "orders") {
		t.Fatal("alice may read a topic no ACL names, with allow.everyone.if.no.acl.found=false")
	}
}

func TestAllowEveryoneIfNoACLFoundOnlyAppliesToResourcesWithoutACLs(t *testing.T) {
	a := NewAuthorizer("", true)
	a.Set([]Binding{allow(ResourceTopic, "orders", PatternLiteral, bob, OpRead)})
	if !a.Allowed(alice, "10.0.0.1", OpWrite, ResourceTopic, "payments") {
		t.Error("alice may not write payments, which no ACL names")
	}
	if a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "orders") {
		t.Error("alice may read orders, whose only ACL is bob's")
	}
}

func TestSuperUsersMayDoEverything(t *testing.T) {
	a := NewAuthorizer(" User:admin ; User:ops", false)
	a.Set([]Binding{deny(ResourceTopic, "*", PatternLiteral, "User:*", OpAll)})
	for _, p := range []string{"User:admin", "User:ops"} {
		if !a.Allowed(p, "10.0.0.1", OpDelete, ResourceTopic, "orders") {
			t.Errorf("super user %s was refused", p)
		}
	}
	if a.Allowed(alice, "10.0.0.1", OpDelete, ResourceTopic, "orders") {
		t.Error("alice, not a super user, was allowed")
	}
}

func TestLiteralWildcardAndPrefixedPatternsApply(t *testing.T) {
	a := authorizerWith(
		allow(ResourceTopic, "orders", PatternLiteral, alice, OpRead),
		allow(ResourceTopic, "*", PatternLiteral, alice, OpWrite),
		allow(ResourceTopic, "billing-", PatternPrefixed, alice, OpDelete),
	)
	cases := []struct {
		op    Operation
		topic string
		want  bool
	}{
		{OpRead, "orders", true},
		{OpRead, "orders2", false}, // literal is not a prefix
		{OpWrite, "anything", true},
		{OpDelete, "billing-eu", true},
		{OpDelete, "billing", false}, // shorter than the prefix
		{OpDelete, "orders", false},
	}
	for _, c := range cases {
		if got := a.Allowed(alice, "10.0.0.1", c.op, ResourceTopic, c.topic); got != c.want {
			t.Errorf("%v on %q: allowed=%v, want %v", c.op, c.topic, got, c.want)
		}
	}
}

func TestACLsApplyOnlyToTheirResourceType(t *testing.T) {
	a := authorizerWith(allow(ResourceGroup, "orders", PatternLiteral, alice, OpRead))
	if a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "orders") {
		t.Fatal("a group ACL allowed reading the topic of the same name")
	}
}

func TestDenyWinsOverAllow(t *testing.T) {
	a := authorizerWith(
		allow(ResourceTopic, "*", PatternLiteral, "User:*", OpAll),
		deny(ResourceTopic, "secret-", PatternPrefixed, alice, OpRead),
	)
	if a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "secret-plans") {
		t.Error("alice may read secret-plans despite a DENY READ")
	}
	if !a.Allowed(alice, "10.0.0.1", OpWrite, ResourceTopic, "secret-plans") {
		t.Error("DENY READ also refused WRITE")
	}
	if !a.Allowed(bob, "10.0.0.1", OpRead, ResourceTopic, "secret-plans") {
		t.Error("alice's DENY refused bob")
	}
}

func TestDenyAllRefusesEveryOperation(t *testing.T) {
	a := authorizerWith(
		allow(ResourceTopic, "orders", PatternLiteral, alice, OpAll),
		deny(ResourceTopic, "orders", PatternLiteral, alice, OpAll),
	)
	for _, op := range []Operation{OpRead, OpWrite, OpDescribe, OpAlterConfigs} {
		if a.Allowed(alice, "10.0.0.1", op, ResourceTopic, "orders") {
			t.Errorf("%v allowed despite DENY ALL", op)
		}
	}
}

func TestOperationsImplyDescribeAsKafkaDoes(t *testing.T) {
	for _, op := range []Operation{OpRead, OpWrite, OpDelete, OpAlter, OpAll, OpDescribe} {
		a := authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, alice, op))
		if !a.Allowed(alice, "10.0.0.1", OpDescribe, ResourceTopic, "orders") {
			t.Errorf("ALLOW %v does not imply DESCRIBE", op)
		}
	}
	for _, op := range []Operation{OpCreate, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite} {
		a := authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, alice, op))
		if a.Allowed(alice, "10.0.0.1", OpDescribe, ResourceTopic, "orders") {
			t.Errorf("ALLOW %v implies DESCRIBE; Kafka's does not", op)
		}
	}
	a := authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, alice, OpAlterConfigs))
	if !a.Allowed(alice, "10.0.0.1", OpDescribeConfigs, ResourceTopic, "orders") {
		t.Error("ALLOW ALTER_CONFIGS does not imply DESCRIBE_CONFIGS")
	}
	a = authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, alice, OpRead))
	if a.Allowed(alice, "10.0.0.1", OpWrite, ResourceTopic, "orders") {
		t.Error("ALLOW READ implies WRITE")
	}
}

func TestDenyDescribeIsNotImpliedByDenyRead(t *testing.T) {
	// Implication only widens ALLOW: a DENY READ leaves DESCRIBE to the
	// ALLOW ACLs, as in Kafka.
	a := authorizerWith(
		allow(ResourceTopic, "orders", PatternLiteral, alice, OpDescribe),
		deny(ResourceTopic, "orders", PatternLiteral, alice, OpRead),
	)
	if !a.Allowed(alice, "10.0.0.1", OpDescribe, ResourceTopic, "orders") {
		t.Fatal("DENY READ refused DESCRIBE")
	}
}

func TestPrincipalAndHostMustMatch(t *testing.T) {
	fromHost := allow(ResourceTopic, "orders", PatternLiteral, "User:*", OpRead)
	fromHost.Host = "10.0.0.1"
	a := authorizerWith(fromHost)
	if !a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "orders") {
		t.Error("User:* from 10.0.0.1 does not allow alice from 10.0.0.1")
	}
	if a.Allowed(alice, "10.0.0.2", OpRead, ResourceTopic, "orders") {
		t.Error("an ACL for host 10.0.0.1 allowed 10.0.0.2")
	}
	a = authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, bob, OpRead))
	if a.Allowed(alice, "10.0.0.1", OpRead, ResourceTopic, "orders") {
		t.Error("bob's ACL allowed alice")
	}
}

func TestAllowedOperationsListsWhatThePrincipalMayDo(t *testing.T) {
	a := authorizerWith(allow(ResourceTopic, "orders", PatternLiteral, alice, OpWrite))
	got := a.AllowedOperations(alice, "10.0.0.1", ResourceTopic, "orders", []Operation{OpRead, OpWrite, OpDescribe, OpDelete})
	if len(got) != 2 || got[0] != OpWrite || got[1] != OpDescribe {
		t.Fatalf("allowed operations %v, want [Write Describe]", got)
	}
}

func TestWriteOnAnyTopicCountsUnlessADenyCoversIt(t *testing.T) {
	a := authorizerWith(allow(ResourceTopic, "orders-", PatternPrefixed, alice, OpWrite))
	if !a.AllowedOnAnyResource(alice, "10.0.0.1", OpWrite, ResourceTopic) {
		t.Error("WRITE on orders-* does not count as WRITE on some topic")
	}
	if a.AllowedOnAnyResource(bob, "10.0.0.1", OpWrite, ResourceTopic) {
		t.Error("bob, with no ACL, may write some topic")
	}
	a = authorizerWith(
		allow(ResourceTopic, "orders-eu", PatternLiteral, alice, OpWrite),
		deny(ResourceTopic, "orders-", PatternPrefixed, alice, OpWrite),
	)
	if a.AllowedOnAnyResource(alice, "10.0.0.1", OpWrite, ResourceTopic) {
		t.Error("a DENY on orders-* left WRITE on orders-eu counting")
	}
	a = authorizerWith(
		allow(ResourceTopic, "orders", PatternLiteral, alice, OpWrite),
		deny(ResourceTopic, "*", PatternLiteral, alice, OpAll),
	)
	if a.AllowedOnAnyResource(alice, "10.0.0.1", OpWrite, ResourceTopic) {
		t.Error("a DENY ALL on every topic left WRITE counting")
	}
}
