package controller

import (
	"slices"
	"testing"

	"github.com/samsa-io/samsa/broker/acl"
)

func readACL(principal, topic string) acl.Binding {
	return acl.Binding{ResourceType: acl.ResourceTopic, ResourceName: topic, PatternType: acl.PatternLiteral,
		Principal: principal, Host: "*", Operation: acl.OpRead, Permission: acl.PermissionAllow}
}

func TestACLsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	alice, bob := readACL("User:alice", "orders"), readACL("User:bob", "orders")
	if err := s.CreateACLs(ctx, []acl.Binding{alice, bob, alice}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, dir)
	if got := s.ACLs(); !slices.Equal(got, []acl.Binding{alice, bob}) {
		t.Fatalf("after reopening: %v, want alice's and bob's, once each", got)
	}
}

func TestDeleteACLsReportsWhatEachFilterMatchedAndKeepsTheRest(t *testing.T) {
	s := openStore(t, t.TempDir())
	alice, bob := readACL("User:alice", "orders"), readACL("User:bob", "orders")
	if err := s.CreateACLs(ctx, []acl.Binding{alice, bob}); err != nil {
		t.Fatal(err)
	}
	changes := make(chan Change, 4)
	defer s.Subscribe(func(c Change) { changes <- c })()
	principal := "User:alice"
	byAlice := acl.Filter{ResourceType: acl.ResourceAny, PatternType: acl.PatternAny, Principal: &principal,
		Operation: acl.OpAny, Permission: acl.PermissionAny}
	nothing := acl.Filter{ResourceType: acl.ResourceGroup, PatternType: acl.PatternAny, Operation: acl.OpAny, Permission: acl.PermissionAny}
	matched, err := s.DeleteACLs(ctx, []acl.Filter{byAlice, nothing})
	if err != nil {
		t.Fatal(err)
	}
	if len(matched) != 2 || !slices.Equal(matched[0], []acl.Binding{alice}) || len(matched[1]) != 0 {
		t.Fatalf("matched %v, want [[alice] []]", matched)
	}
	if got := s.ACLs(); !slices.Equal(got, []acl.Binding{bob}) {
		t.Fatalf("left %v, want bob's", got)
	}
	if c := <-changes; c.Kind != ACLsChanged {
		t.Fatalf("subscribers told %v, want ACLsChanged", c.Kind)
	}
}
