package zk

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
)

func topicACL(name string, pattern acl.PatternType, principal string, op acl.Operation) acl.Binding {
	return acl.Binding{ResourceType: acl.ResourceTopic, ResourceName: name, PatternType: pattern,
		Principal: principal, Host: "*", Operation: op, Permission: acl.PermissionAllow}
}

func TestACLsAreWrittenWhereKafkaKeepsThem(t *testing.T) {
	c := newCluster(t, 1)
	s := c.brokers[1]
	literal := topicACL("orders", acl.PatternLiteral, "User:alice", acl.OpRead)
	prefixed := topicACL("orders-", acl.PatternPrefixed, "User:bob", acl.OpIdempotentWrite)
	if err := s.CreateACLs(testCtx(t), []acl.Binding{literal, prefixed}); err != nil {
		t.Fatal(err)
	}
	raw := c.raw()
	data, _, err := raw.get("/kafka-acl/Topic/orders")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": float64(1), "acls": []any{map[string]any{
		"principal": "User:alice", "permissionType": "Allow", "operation": "Read", "host": "*"}}}
	if fmt.Sprint(doc) != fmt.Sprint(want) {
		t.Fatalf("/kafka-acl/Topic/orders holds %s", data)
	}
	data, _, err = raw.get("/kafka-acl-extended/prefixed/Topic/orders-")
	if err != nil || !strings.Contains(string(data), `"operation":"IdempotentWrite"`) {
		t.Fatalf("/kafka-acl-extended/prefixed/Topic/orders-: %s, %v", data, err)
	}
	changes, err := raw.children("/kafka-acl-changes")
	if err != nil || len(changes) != 1 || !strings.HasPrefix(changes[0], "acl_changes_") {
		t.Fatalf("/kafka-acl-changes: %v, %v", changes, err)
	}
	note, _, _ := raw.get("/kafka-acl-changes/" + changes[0])
	if string(note) != "Topic:orders" {
		t.Fatalf("literal change notification %q, want Topic:orders", note)
	}
	changes, _ = raw.children("/kafka-acl-extended-changes")
	note, _, _ = raw.get("/kafka-acl-extended-changes/" + changes[0])
	if !strings.Contains(string(note), `"patternType":"PREFIXED"`) || !strings.Contains(string(note), `"name":"orders-"`) {
		t.Fatalf("extended change notification %s", note)
	}
}

func TestACLsCreatedThroughOneBrokerReachTheOthersThroughNotifications(t *testing.T) {
	c := newCluster(t, 2)
	seen := make(chan controller.Change, 16)
	cancel := c.brokers[2].Subscribe(func(ch controller.Change) {
		if ch.Kind == controller.ACLsChanged {
			seen <- ch
		}
	})
	defer cancel()
	b := topicACL("orders", acl.PatternLiteral, "User:alice", acl.OpWrite)
	if err := c.brokers[1].CreateACLs(testCtx(t), []acl.Binding{b}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("broker 2 was not told of the new ACL")
	}
	if got := c.brokers[2].ACLs(); !slices.Equal(got, []acl.Binding{b}) {
		t.Fatalf("broker 2 sees %v", got)
	}
	all := acl.Filter{ResourceType: acl.ResourceAny, PatternType: acl.PatternAny, Operation: acl.OpAny, Permission: acl.PermissionAny}
	matched, err := c.brokers[2].DeleteACLs(testCtx(t), []acl.Filter{all})
	if err != nil || len(matched[0]) != 1 {
		t.Fatalf("delete through broker 2: %v, %v", matched, err)
	}
	c.everyBroker("the ACL gone everywhere", func(b *testBroker) error {
		if got := b.ACLs(); len(got) != 0 {
			return fmt.Errorf("broker %d still sees %v", b.cfg.Self.ID, got)
		}
		return nil
	})
	if exists, _, _ := c.raw().exists("/kafka-acl/Topic/orders"); exists {
		t.Fatal("the emptied resource znode was left behind")
	}
}

func TestConcurrentCreateACLsOnOneResourceLoseNoEntry(t *testing.T) {
	c := newCluster(t, 2)
	var wg sync.WaitGroup
	var want []acl.Binding
	for i := range 10 {
		b := topicACL("orders", acl.PatternLiteral, fmt.Sprintf("User:u%d", i), acl.OpRead)
		want = append(want, b)
		wg.Add(1)
		go func(s *testBroker) {
			defer wg.Done()
			if err := s.CreateACLs(testCtx(t), []acl.Binding{b}); err != nil {
				t.Error(err)
			}
		}(c.brokers[int32(1+i%2)])
	}
	wg.Wait()
	controller.SortACLs(want)
	c.everyBroker("all ten ACLs", func(b *testBroker) error {
		if got := b.ACLs(); !slices.Equal(got, want) {
			return fmt.Errorf("broker %d sees %d ACLs", b.cfg.Self.ID, len(got))
		}
		return nil
	})
}
