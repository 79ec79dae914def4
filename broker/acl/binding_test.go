package acl

import (
	"errors"
	"testing"
)

func ptr(s string) *string { return &s }

func TestValidateRefusesWhatKafkaRefuses(t *testing.T) {
	good := allow(ResourceTopic, "orders", PatternLiteral, alice, OpRead)
	if err := good.Validate(); err != nil {
		t.Fatalf("valid binding refused: %v", err)
	}
	bad := map[string]func(*Binding){
		"any resource type":      func(b *Binding) { b.ResourceType = ResourceAny },
		"match pattern":          func(b *Binding) { b.PatternType = PatternMatch },
		"any operation":          func(b *Binding) { b.Operation = OpAny },
		"unknown permission":     func(b *Binding) { b.Permission = PermissionUnknown },
		"empty name":             func(b *Binding) { b.ResourceName = "" },
		"principal without type": func(b *Binding) { b.Principal = "alice" },
		"empty host":             func(b *Binding) { b.Host = "" },
		"cluster named otherwise": func(b *Binding) {
			b.ResourceType, b.ResourceName = ResourceCluster, "my-cluster"
		},
	}
	for name, spoil := range bad {
		b := good
		spoil(&b)
		if err := b.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func TestFiltersSelectBindings(t *testing.T) {
	literal := allow(ResourceTopic, "orders", PatternLiteral, alice, OpRead)
	wildcard := allow(ResourceTopic, "*", PatternLiteral, bob, OpWrite)
	prefixed := deny(ResourceTopic, "ord", PatternPrefixed, bob, OpRead)
	group := allow(ResourceGroup, "orders", PatternLiteral, alice, OpRead)
	all := []Binding{literal, wildcard, prefixed, group}
	cases := []struct {
		name   string
		filter Filter
		want   []Binding
	}{
		{"everything", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, all},
		{"topic named orders, any pattern", Filter{ResourceType: ResourceTopic, ResourceName: ptr("orders"), PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, []Binding{literal}},
		{"what applies to topic orders", Filter{ResourceType: ResourceTopic, ResourceName: ptr("orders"), PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, []Binding{literal, wildcard, prefixed}},
		{"prefixed only", Filter{ResourceType: ResourceAny, PatternType: PatternPrefixed, Operation: OpAny, Permission: PermissionAny}, []Binding{prefixed}},
		{"bob's denies", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Principal: ptr(bob), Operation: OpAny, Permission: PermissionDeny}, []Binding{prefixed}},
		{"alice's reads on host *", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Principal: ptr(alice), Host: ptr("*"), Operation: OpRead, Permission: PermissionAny}, []Binding{literal, group}},
	}
	for _, c := range cases {
		var got []Binding
		for _, b := range all {
			if c.filter.Matches(b) {
				got = append(got, b)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: selected %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: selected %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

func TestFilterValidateRefusesUnknownValues(t *testing.T) {
	ok := Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}
	if err := ok.Validate(); err != nil {
		t.Fatalf("match-anything filter refused: %v", err)
	}
	for name, f := range map[string]Filter{
		"unknown resource type": {ResourceType: ResourceUnknown, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny},
		"unknown pattern":       {ResourceType: ResourceAny, PatternType: PatternUnknown, Operation: OpAny, Permission: PermissionAny},
		"unknown operation":     {ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpUnknown, Permission: PermissionAny},
		"unknown permission":    {ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionUnknown},
	} {
		if err := f.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func TestNamesRoundTripAsKafkaWritesThem(t *testing.T) {
	for _, op := range []Operation{OpAll, OpRead, OpDescribeConfigs, OpIdempotentWrite} {
		got, err := ParseOperation(op.String())
		if err != nil || got != op {
			t.Errorf("ParseOperation(%q) = %v, %v", op.String(), got, err)
		}
	}
	if rt, err := ParseResourceType("TransactionalId"); err != nil || rt != ResourceTransactionalID {
		t.Errorf("ParseResourceType(TransactionalId) = %v, %v", rt, err)
	}
	if _, err := ParsePermission("Maybe"); err == nil {
		t.Error("ParsePermission accepted Maybe")
	}
}
