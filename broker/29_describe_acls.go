package broker

// DescribeAcls (v0-v3) lists the ACLs a filter selects, grouped by
// resource pattern, as Kafka answers it:
//   - without an authorizer (authorizer.class.name empty, Kafka's
//     default): SECURITY_DISABLED with Kafka's message;
//   - the caller needs DESCRIBE on the cluster
//     (CLUSTER_AUTHORIZATION_FAILED);
//   - a filter with an UNKNOWN resource type, pattern type, operation or
//     permission is INVALID_REQUEST;
//   - v0 has no pattern type: its filter selects LITERAL ACLs only (kmsg
//     defaults the field to LITERAL), as Kafka's v0 did.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeACLs, min: 0, max: 3, serve: typed((*Broker).handleDescribeACLs),
		note: "DESCRIBE on the cluster; SECURITY_DISABLED without `authorizer.class.name`, as Kafka"})
}

// errNoAuthorizer is Kafka's answer to the ACL APIs without an authorizer.
var errNoAuthorizer = newAPIError(kerr.SecurityDisabled, "No Authorizer is configured on the broker")

// aclAPIRefusal is why the ACL APIs refuse a request as a whole, nil when
// they serve it: no authorizer, or the caller lacks op (DESCRIBE for
// DescribeAcls, ALTER for CreateAcls and DeleteAcls) on the cluster.
func (b *Broker) aclAPIRefusal(conn *wire.Conn, op acl.Operation) *apiError {
	switch {
	case b.authorizer == nil:
		return errNoAuthorizer
	case !b.authorizedCluster(conn, op):
		return newAPIError(kerr.ClusterAuthorizationFailed, "")
	}
	return nil
}

func (b *Broker) handleDescribeACLs(_ context.Context, conn *wire.Conn, req *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	filter := acl.Filter{
		ResourceType: acl.ResourceType(req.ResourceType), ResourceName: req.ResourceName,
		PatternType: acl.PatternType(req.ResourcePatternType), Principal: req.Principal, Host: req.Host,
		Operation: acl.Operation(req.Operation), Permission: acl.Permission(req.PermissionType),
	}
	fail := b.aclAPIRefusal(conn, acl.OpDescribe)
	if err := filter.Validate(); fail == nil && err != nil {
		fail = newAPIError(kerr.InvalidRequest, "%v", err)
	}
	if fail != nil {
		resp.ErrorCode, resp.ErrorMessage = fail.codeAndMessage()
		return resp, nil
	}
	var resource *kmsg.DescribeACLsResponseResource
	for _, a := range b.aclStore.ACLs() {
		if !filter.Matches(a) {
			continue
		}
		// The store's order keeps each resource pattern's ACLs together.
		if resource == nil || resource.ResourceType != kmsg.ACLResourceType(a.ResourceType) ||
			resource.ResourceName != a.ResourceName || resource.ResourcePatternType != kmsg.ACLResourcePatternType(a.PatternType) {
			resp.Resources = append(resp.Resources, kmsg.NewDescribeACLsResponseResource())
			resource = &resp.Resources[len(resp.Resources)-1]
			resource.ResourceType = kmsg.ACLResourceType(a.ResourceType)
			resource.ResourceName = a.ResourceName
			resource.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
		}
		entry := kmsg.NewDescribeACLsResponseResourceACL()
		entry.Principal, entry.Host = a.Principal, a.Host
		entry.Operation, entry.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		resource.ACLs = append(resource.ACLs, entry)
	}
	return resp, nil
}
