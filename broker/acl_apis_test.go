package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func aclCreation(topic string, pattern kmsg.ACLResourcePatternType, principal string, op kmsg.ACLOperation) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, pattern
	c.Principal, c.Host, c.Operation, c.PermissionType = principal, "*", op, kmsg.ACLPermissionTypeAllow
	return c
}

func matchAll() (kmsg.ACLResourceType, kmsg.ACLResourcePatternType, kmsg.ACLOperation, kmsg.ACLPermissionType) {
	return kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
}

func TestCreateDescribeAndDeleteACLsRoundTrip(t *testing.T) {
	b := newAuthorizingBroker(t)
	create := kmsg.NewPtrCreateACLsRequest()
	create.Version = 3
	create.Creations = []kmsg.CreateACLsRequestCreation{
		aclCreation("orders", kmsg.ACLResourcePatternTypeLiteral, "User:alice", kmsg.ACLOperationRead),
		aclCreation("orders-", kmsg.ACLResourcePatternTypePrefixed, "User:alice", kmsg.ACLOperationWrite),
		aclCreation("orders", kmsg.ACLResourcePatternTypeLiteral, "alice", kmsg.ACLOperationRead),    // no principal type
		aclCreation("orders", kmsg.ACLResourcePatternTypeMatch, "User:alice", kmsg.ACLOperationRead), // MATCH only filters
	}
	results := serveOn(t, b, adminConn, "", create).(*kmsg.CreateACLsResponse).Results
	for i, want := range []*kerr.Error{nil, nil, kerr.InvalidRequest, kerr.InvalidRequest} {
		requireCode(t, "creation", results[i].ErrorCode, want)
	}

	describe := kmsg.NewPtrDescribeACLsRequest()
	describe.Version = 3
	describe.ResourceType, describe.ResourcePatternType, describe.Operation, describe.PermissionType = matchAll()
	described := serveOn(t, b, adminConn, "", describe).(*kmsg.DescribeACLsResponse)
	requireCode(t, "describe", described.ErrorCode, nil)
	if len(described.Resources) != 2 {
		t.Fatalf("described %+v, want the literal and the prefixed resource", described.Resources)
	}
	// MATCH on a name: every ACL that applies to it.
	describe.ResourceType, describe.ResourceName, describe.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("orders-eu"), kmsg.ACLResourcePatternTypeMatch
	described = serveOn(t, b, adminConn, "", describe).(*kmsg.DescribeACLsResponse)
	if len(described.Resources) != 1 || described.Resources[0].ResourceName != "orders-" ||
		described.Resources[0].ResourcePatternType != kmsg.ACLResourcePatternTypePrefixed {
		t.Fatalf("ACLs applying to orders-eu: %+v, want the prefixed one", described.Resources)
	}
	describe.ResourceType = kmsg.ACLResourceTypeUnknown
	requireCode(t, "describe with an UNKNOWN resource type", serveOn(t, b, adminConn, "", describe).(*kmsg.DescribeACLsResponse).ErrorCode, kerr.InvalidRequest)

	del := kmsg.NewPtrDeleteACLsRequest()
	del.Version = 3
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType, f.Operation, f.PermissionType = kmsg.ACLResourceTypeTopic, kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	deleted := serveOn(t, b, adminConn, "", del).(*kmsg.DeleteACLsResponse).Results
	if len(deleted) != 1 || deleted[0].ErrorCode != 0 || len(deleted[0].MatchingACLs) != 1 || deleted[0].MatchingACLs[0].ResourceName != "orders-" {
		t.Fatalf("delete prefixed ACLs: %+v", deleted)
	}
	if left := b.aclStore.ACLs(); len(left) != 1 || left[0].ResourceName != "orders" {
		t.Fatalf("left %+v, want only the literal ACL", left)
	}
}

func TestDescribeACLsV0SeesOnlyLiteralACLs(t *testing.T) {
	b := newAuthorizingBroker(t)
	create := kmsg.NewPtrCreateACLsRequest()
	create.Version = 1
	create.Creations = []kmsg.CreateACLsRequestCreation{
		aclCreation("orders", kmsg.ACLResourcePatternTypeLiteral, "User:alice", kmsg.ACLOperationRead),
		aclCreation("orders-", kmsg.ACLResourcePatternTypePrefixed, "User:alice", kmsg.ACLOperationRead),
	}
	serveOn(t, b, adminConn, "", create)
	describe := kmsg.NewPtrDescribeACLsRequest()
	describe.Version = 0
	describe.ResourceType, _, describe.Operation, describe.PermissionType = matchAll()
	described := serveOn(t, b, adminConn, "", describe).(*kmsg.DescribeACLsResponse)
	if len(described.Resources) != 1 || described.Resources[0].ResourceName != "orders" {
		t.Fatalf("v0 described %+v, want the literal ACL only", described.Resources)
	}
}

func TestACLAPIsAnswerSecurityDisabledWithoutAnAuthorizer(t *testing.T) {
	b := newTestBroker(t)
	create := kmsg.NewPtrCreateACLsRequest()
	create.Creations = append(create.Creations, aclCreation("orders", kmsg.ACLResourcePatternTypeLiteral, "User:alice", kmsg.ACLOperationRead))
	requireCode(t, "create", serve(t, b, create).(*kmsg.CreateACLsResponse).Results[0].ErrorCode, kerr.SecurityDisabled)
	describe := kmsg.NewPtrDescribeACLsRequest()
	describe.ResourceType, describe.ResourcePatternType, describe.Operation, describe.PermissionType = matchAll()
	requireCode(t, "describe", serve(t, b, describe).(*kmsg.DescribeACLsResponse).ErrorCode, kerr.SecurityDisabled)
}
