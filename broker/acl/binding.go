package acl

import (
	"errors"
	"fmt"
	"strings"
)

// ResourceType is the kind of resource an ACL protects, with Kafka's
// wire codes (org.apache.kafka.common.resource.ResourceType).
type ResourceType int8

const (
	ResourceUnknown         ResourceType = 0
	ResourceAny             ResourceType = 1 // filters only
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
	ResourceDelegationToken ResourceType = 6
	ResourceUser            ResourceType = 7
)

// ClusterName is the name of the one Cluster resource.
const ClusterName = "kafka-cluster"

// Wildcard is the resource name of a LITERAL ACL that applies to every
// resource of its type, and the host that matches every host.
const Wildcard = "*"

// WildcardPrincipal is the principal that matches every user.
const WildcardPrincipal = "User:*"

// PatternType says how an ACL's resource name matches, with Kafka's wire
// codes (KIP-290).
type PatternType int8

const (
	PatternUnknown  PatternType = 0
	PatternAny      PatternType = 1 // filters only: any pattern type
	PatternMatch    PatternType = 2 // filters only: every ACL that applies to the name
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Operation is what a request does to a resource, with Kafka's wire
// codes (org.apache.kafka.common.acl.AclOperation).
type Operation int8

const (
	OpUnknown         Operation = 0
	OpAny             Operation = 1 // filters only
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
	OpCreateTokens    Operation = 13
	OpDescribeTokens  Operation = 14
)

// Permission is ALLOW or DENY, with Kafka's wire codes.
type Permission int8

const (
	PermissionUnknown Permission = 0
	PermissionAny     Permission = 1 // filters only
	PermissionDeny    Permission = 2
	PermissionAllow   Permission = 3
)

// Names as Kafka writes them in ZooKeeper's ACL JSON and resource paths
// (ResourceType.name in Pascal case for paths; AclOperation and
// AclPermissionType in Pascal case in the JSON).
var (
	resourceNames = map[ResourceType]string{
		ResourceTopic: "Topic", ResourceGroup: "Group", ResourceCluster: "Cluster",
		ResourceTransactionalID: "TransactionalId", ResourceDelegationToken: "DelegationToken",
		ResourceUser: "User",
	}
	operationNames = map[Operation]string{
		OpAll: "All", OpRead: "Read", OpWrite: "Write", OpCreate: "Create", OpDelete: "Delete",
		OpAlter: "Alter", OpDescribe: "Describe", OpClusterAction: "ClusterAction",
		OpDescribeConfigs: "DescribeConfigs", OpAlterConfigs: "AlterConfigs",
		OpIdempotentWrite: "IdempotentWrite", OpCreateTokens: "CreateTokens", OpDescribeTokens: "DescribeTokens",
	}
	permissionNames = map[Permission]string{PermissionAllow: "Allow", PermissionDeny: "Deny"}
	patternNames    = map[PatternType]string{PatternLiteral: "LITERAL", PatternPrefixed: "PREFIXED"}
)

func (t ResourceType) String() string {
	if n, ok := resourceNames[t]; ok {
		return n
	}
	return fmt.Sprintf("ResourceType(%d)", int8(t))
}

func (o Operation) String() string {
	if n, ok := operationNames[o]; ok {
		return n
	}
	return fmt.Sprintf("Operation(%d)", int8(o))
}

func (p Permission) String() string {
	if n, ok := permissionNames[p]; ok {
		return n
	}
	return fmt.Sprintf("Permission(%d)", int8(p))
}

func (p PatternType) String() string {
	if n, ok := patternNames[p]; ok {
		return n
	}
	return fmt.Sprintf("PatternType(%d)", int8(p))
}

// ParseResourceType, ParseOperation, ParsePermission and ParsePatternType
// read the names above, case-insensitively, as Kafka's fromString does.
func ParseResourceType(s string) (ResourceType, error) {
	return parseName(resourceNames, s, "resource type")
}
func ParseOperation(s string) (Operation, error) { return parseName(operationNames, s, "operation") }
func ParsePermission(s string) (Permission, error) {
	return parseName(permissionNames, s, "permission type")
}
func ParsePatternType(s string) (PatternType, error) {
	return parseName(patternNames, s, "pattern type")
}

func parseName[K comparable](names map[K]string, s, what string) (K, error) {
	for k, n := range names {
		if strings.EqualFold(n, s) {
			return k, nil
		}
	}
	var zero K
	return zero, fmt.Errorf("unknown %s %q", what, s)
}

// Binding is one ACL: a resource pattern and an access control entry.
type Binding struct {
	ResourceType ResourceType
	ResourceName string
	PatternType  PatternType // LITERAL or PREFIXED
	Principal    string      // "User:alice", or "User:*"
	Host         string      // an IP address, or "*"
	Operation    Operation
	Permission   Permission
}

// ErrInvalid is wrapped by every validation error: CreateAcls and
// DeleteAcls answer INVALID_REQUEST with its message.
var ErrInvalid = errors.New("invalid ACL")

// Validate checks a binding to create as Kafka's CreateAcls does: no
// UNKNOWN or ANY/MATCH values, a principal of the form Type:name, a
// non-empty resource name, Cluster ACLs only on "kafka-cluster" (LITERAL),
// and no ACL with an empty host.
func (b Binding) Validate() error {
	switch {
	case resourceNames[b.ResourceType] == "":
		return fmt.Errorf("%w: resource type %d cannot be used in an ACL", ErrInvalid, b.ResourceType)
	case b.PatternType != PatternLiteral && b.PatternType != PatternPrefixed:
		return fmt.Errorf("%w: pattern type %d cannot be used in an ACL (LITERAL or PREFIXED)", ErrInvalid, b.PatternType)
	case operationNames[b.Operation] == "":
		return fmt.Errorf("%w: operation %d cannot be used in an ACL", ErrInvalid, b.Operation)
	case permissionNames[b.Permission] == "":
		return fmt.Errorf("%w: permission type %d cannot be used in an ACL", ErrInvalid, b.Permission)
	case b.ResourceName == "":
		return fmt.Errorf("%w: empty resource name", ErrInvalid)
	case b.ResourceType == ResourceCluster && (b.ResourceName != ClusterName || b.PatternType != PatternLiteral):
		return fmt.Errorf("%w: the Cluster resource is named %q (LITERAL), not %s %q", ErrInvalid, ClusterName, b.PatternType, b.ResourceName)
	case b.Host == "":
		return fmt.Errorf("%w: empty host (use %q for every host)", ErrInvalid, Wildcard)
	}
	if err := ValidatePrincipal(b.Principal); err != nil {
		return err
	}
	return nil
}

// ValidatePrincipal checks a principal is Type:name with both parts
// non-empty, as Kafka's SecurityUtils.parseKafkaPrincipal requires.
func ValidatePrincipal(p string) error {
	typ, name, ok := strings.Cut(p, ":")
	if !ok || typ == "" || name == "" {
		return fmt.Errorf("%w: principal %q is not of the form Type:name (User:alice)", ErrInvalid, p)
	}
	return nil
}

// Filter selects bindings (DescribeAcls, DeleteAcls). A nil name,
// principal or host matches any; the ANY values match any; PatternMatch
// selects every ACL that would apply to ResourceName: the literal one,
// the wildcard one and the prefixed ones that are prefixes of it.
type Filter struct {
	ResourceType ResourceType
	ResourceName *string
	PatternType  PatternType
	Principal    *string
	Host         *string
	Operation    Operation
	Permission   Permission
}

// Validate rejects filters with UNKNOWN values, as Kafka does
// (INVALID_REQUEST).
func (f Filter) Validate() error {
	switch {
	case f.ResourceType == ResourceUnknown || f.ResourceType > ResourceUser || f.ResourceType < 0:
		return fmt.Errorf("%w: filter resource type %d", ErrInvalid, f.ResourceType)
	case f.PatternType < PatternAny || f.PatternType > PatternPrefixed:
		return fmt.Errorf("%w: filter pattern type %d", ErrInvalid, f.PatternType)
	case f.Operation < OpAny || f.Operation > OpDescribeTokens:
		return fmt.Errorf("%w: filter operation %d", ErrInvalid, f.Operation)
	case f.Permission < PermissionAny || f.Permission > PermissionAllow:
		return fmt.Errorf("%w: filter permission type %d", ErrInvalid, f.Permission)
	}
	return nil
}

// Matches reports whether the filter selects b.
func (f Filter) Matches(b Binding) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	switch f.PatternType {
	case PatternAny:
		if f.ResourceName != nil && *f.ResourceName != b.ResourceName {
			return false
		}
	case PatternMatch:
		if f.ResourceName != nil && !patternApplies(b.PatternType, b.ResourceName, *f.ResourceName) {
			return false
		}
	default:
		if f.PatternType != b.PatternType || (f.ResourceName != nil && *f.ResourceName != b.ResourceName) {
			return false
		}
	}
	return (f.Principal == nil || *f.Principal == b.Principal) &&
		(f.Host == nil || *f.Host == b.Host) &&
		(f.Operation == OpAny || f.Operation == b.Operation) &&
		(f.Permission == PermissionAny || f.Permission == b.Permission)
}

// patternApplies reports whether an ACL's resource pattern covers the
// resource named name.
func patternApplies(pattern PatternType, aclName, name string) bool {
	switch pattern {
	case PatternLiteral:
		return aclName == name || aclName == Wildcard
	case PatternPrefixed:
		return strings.HasPrefix(name, aclName)
	}
	return false
}
