package memcluster

import (
	"context"
	"slices"
	"testing"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

func TestACLsCreatedThroughOneBrokerAreSeenByTheOthersAtOnce(t *testing.T) {
	c := newCluster(t, 2)
	other := c.stores[2]
	changes := make(chan controller.Change, 8)
	defer other.Subscribe(func(ch controller.Change) { changes <- ch })()
	write := acl.Binding{ResourceType: acl.ResourceTopic, ResourceName: "orders-", PatternType: acl.PatternPrefixed,
		Principal: "User:alice", Host: "*", Operation: acl.OpWrite, Permission: acl.PermissionAllow}
	if err := c.stores[1].CreateACLs(context.Background(), []acl.Binding{write}); err != nil {
		t.Fatal(err)
	}
	if got := other.ACLs(); !slices.Equal(got, []acl.Binding{write}) {
		t.Fatalf("broker 2 sees %v, want the ACL broker 1 created", got)
	}
	if ch := <-changes; ch.Kind != controller.ACLsChanged {
		t.Fatalf("broker 2 told %v, want ACLsChanged", ch.Kind)
	}
	all := acl.Filter{ResourceType: acl.ResourceAny, PatternType: acl.PatternAny, Operation: acl.OpAny, Permission: acl.PermissionAny}
	matched, err := other.DeleteACLs(context.Background(), []acl.Filter{all})
	if err != nil || len(matched[0]) != 1 {
		t.Fatalf("delete through broker 2: %v, %v", matched, err)
	}
	if got := c.stores[1].ACLs(); len(got) != 0 {
		t.Fatalf("broker 1 still sees %v", got)
	}
}
