package acl

import (
	"strings"
	"sync/atomic"
)

// ClassNames are the authorizer.class.name values that turn
// authorization on: Kafka's two ACL authorizers, whose semantics Samsa's
// follows, and Samsa's own name for it. Any other non-empty value is
// refused at start-up, so a typo does not leave a broker open.
var ClassNames = []string{
	"kafka.security.authorizer.AclAuthorizer",
	"org.apache.kafka.metadata.authorizer.StandardAuthorizer",
	"samsa.acl",
}

// Authorizer answers whether a request may perform an operation. It is
// safe for concurrent use; Set replaces the ACLs it checks against.
type Authorizer struct {
	superUsers        map[string]bool
	allowIfNoACLFound bool
	acls              atomic.Pointer[[]Binding]
}

// NewAuthorizer builds an authorizer from super.users (principals
// separated by semicolons, as Kafka reads them) and
// allow.everyone.if.no.acl.found, with no ACLs yet.
func NewAuthorizer(superUsers string, allowIfNoACLFound bool) *Authorizer {
	a := &Authorizer{superUsers: map[string]bool{}, allowIfNoACLFound: allowIfNoACLFound}
	for _, p := range strings.Split(superUsers, ";") {
		if p = strings.TrimSpace(p); p != "" {
			a.superUsers[p] = true
		}
	}
	a.acls.Store(&[]Binding{})
	return a
}

// Set replaces every ACL the authorizer checks against. The slice must
// not change afterwards.
func (a *Authorizer) Set(acls []Binding) { a.acls.Store(&acls) }

// ACLs returns the ACLs the authorizer holds now. Callers must not change
// the slice.
func (a *Authorizer) ACLs() []Binding { return *a.acls.Load() }

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool { return a.superUsers[principal] }

// Allowed reports whether principal, connected from host (an IP address),
// may perform op on the resource of type rt named name.
func (a *Authorizer) Allowed(principal, host string, op Operation, rt ResourceType, name string) bool {
	if a.superUsers[principal] {
		return true
	}
	var applying []Binding
	for _, b := range *a.acls.Load() {
		if b.ResourceType == rt && patternApplies(b.PatternType, b.ResourceName, name) {
			applying = append(applying, b)
		}
	}
	if len(applying) == 0 {
		return a.allowIfNoACLFound
	}
	allowed := false
	for _, b := range applying {
		if !principalMatches(b.Principal, principal) || !hostMatches(b.Host, host) {
			continue
		}
		switch b.Permission {
		case PermissionDeny:
			if b.Operation == op || b.Operation == OpAll {
				return false
			}
		case PermissionAllow:
			if grants(b.Operation, op) {
				allowed = true
			}
		}
	}
	return allowed
}

// AllowedOperations lists the operations of ops principal may perform on
// the resource (KIP-430's authorized operations).
func (a *Authorizer) AllowedOperations(principal, host string, rt ResourceType, name string, ops []Operation) []Operation {
	var allowed []Operation
	for _, op := range ops {
		if a.Allowed(principal, host, op, rt, name) {
			allowed = append(allowed, op)
		}
	}
	return allowed
}

// grants reports whether an ALLOW ACL for aclOp permits op: the same
// operation, ALL, or one that implies it (Kafka: READ, WRITE, DELETE and
// ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS).
func grants(aclOp, op Operation) bool {
	if aclOp == op || aclOp == OpAll {
		return true
	}
	switch op {
	case OpDescribe:
		return aclOp == OpRead || aclOp == OpWrite || aclOp == OpDelete || aclOp == OpAlter
	case OpDescribeConfigs:
		return aclOp == OpAlterConfigs
	}
	return false
}

func principalMatches(aclPrincipal, principal string) bool {
	return aclPrincipal == principal || aclPrincipal == WildcardPrincipal
}

func hostMatches(aclHost, host string) bool {
	return aclHost == host || aclHost == Wildcard
}

// AllowedOnAnyResource reports whether principal may perform op on at
// least one resource of type rt (Kafka's authorizeByResourceType,
// KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster
// or WRITE on some topic). An ALLOW counts unless a DENY of the same
// principal and host covers its whole pattern: the wildcard, the same
// literal name, or a prefix of its name.
func (a *Authorizer) AllowedOnAnyResource(principal, host string, op Operation, rt ResourceType) bool {
	if a.superUsers[principal] {
		return true
	}
	var allows, denies []Binding
	anyACL := false
	for _, b := range *a.acls.Load() {
		if b.ResourceType != rt {
			continue
		}
		anyACL = true
		if !principalMatches(b.Principal, principal) || !hostMatches(b.Host, host) {
			continue
		}
		switch {
		case b.Permission == PermissionDeny && (b.Operation == op || b.Operation == OpAll):
			denies = append(denies, b)
		case b.Permission == PermissionAllow && grants(b.Operation, op):
			allows = append(allows, b)
		}
	}
	if !anyACL {
		return a.allowIfNoACLFound
	}
	for _, allow := range allows {
		covered := false
		for _, deny := range denies {
			if denyCovers(deny, allow) {
				covered = true
				break
			}
		}
		if !covered {
			return true
		}
	}
	return false
}

// denyCovers reports whether deny applies to every resource allow's
// pattern names.
func denyCovers(deny, allow Binding) bool {
	switch deny.PatternType {
	case PatternLiteral:
		return deny.ResourceName == Wildcard || (allow.PatternType == PatternLiteral && deny.ResourceName == allow.ResourceName)
	case PatternPrefixed:
		return allow.ResourceName != Wildcard && strings.HasPrefix(allow.ResourceName, deny.ResourceName)
	}
	return false
}
