package controller

import (
	"context"
	"slices"

	"github.com/samsa-io/samsa/broker/acl"
)

// ACLsChanged is the Change a store publishes when its ACLs changed
// (CreateAcls or DeleteAcls on any broker of the cluster).
const ACLsChanged ChangeKind = 100

// ACLStore is the part of a store that keeps the cluster's access control
// lists: in ZooKeeper under /kafka-acl and /kafka-acl-extended as Kafka
// keeps them, in the single broker's metadata file, or in the in-process
// ensemble of an embedded cluster. Every Store implementation provides
// it; it is apart from Store so the ACL methods are found in one place.
type ACLStore interface {
	// ACLs returns every ACL, in a stable order. Callers may keep the
	// slice.
	ACLs() []acl.Binding
	// CreateACLs adds the bindings; one already present is not added
	// twice (Kafka's sets). Concurrent calls lose no binding.
	CreateACLs(ctx context.Context, bindings []acl.Binding) error
	// DeleteACLs removes, for each filter, the bindings it matches and
	// returns them, one slice per filter. A binding two filters match is
	// reported under both, as Kafka does.
	DeleteACLs(ctx context.Context, filters []acl.Filter) ([][]acl.Binding, error)
}

// AddACLs returns acls with bindings added, each once, in a stable order
// (resource type, pattern, name, then the entry); acls is not changed.
// Every store applies CreateACLs with it.
func AddACLs(acls, bindings []acl.Binding) ([]acl.Binding, bool) {
	out := slices.Clone(acls)
	changed := false
	for _, b := range bindings {
		if !slices.Contains(out, b) {
			out = append(out, b)
			changed = true
		}
	}
	SortACLs(out)
	return out, changed
}

// RemoveACLs returns acls without the bindings any filter matches, and
// what each filter matched; acls is not changed. Every store applies
// DeleteACLs with it.
func RemoveACLs(acls []acl.Binding, filters []acl.Filter) (kept []acl.Binding, matched [][]acl.Binding) {
	matched = make([][]acl.Binding, len(filters))
	for _, b := range acls {
		hit := false
		for i, f := range filters {
			if f.Matches(b) {
				matched[i] = append(matched[i], b)
				hit = true
			}
		}
		if !hit {
			kept = append(kept, b)
		}
	}
	return kept, matched
}

// SortACLs orders bindings by resource type, pattern type, resource
// name, principal, host, operation and permission.
func SortACLs(acls []acl.Binding) {
	slices.SortFunc(acls, compareACLs)
}

func compareACLs(x, y acl.Binding) int {
	switch {
	case x.ResourceType != y.ResourceType:
		return int(x.ResourceType) - int(y.ResourceType)
	case x.PatternType != y.PatternType:
		return int(x.PatternType) - int(y.PatternType)
	case x.ResourceName != y.ResourceName:
		return cmpString(x.ResourceName, y.ResourceName)
	case x.Principal != y.Principal:
		return cmpString(x.Principal, y.Principal)
	case x.Host != y.Host:
		return cmpString(x.Host, y.Host)
	case x.Operation != y.Operation:
		return int(x.Operation) - int(y.Operation)
	}
	return int(x.Permission) - int(y.Permission)
}

func cmpString(a, b string) int {
	if a < b {
		return -1
	}
	return 1
}
