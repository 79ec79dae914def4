package broker

// DeleteAcls (v0-v3) removes the ACLs each filter selects and returns
// them, as Kafka does: SECURITY_DISABLED without an authorizer; ALTER on
// the cluster needed (CLUSTER_AUTHORIZATION_FAILED for every filter
// otherwise); a filter with an UNKNOWN value is INVALID_REQUEST, the
// others still apply. An ACL two filters select is listed under both.
// v0 has no pattern type: its filters select LITERAL ACLs.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DeleteACLs, min: 0, max: 3, serve: typed((*Broker).handleDeleteACLs),
		note: "ALTER on the cluster; every broker sees the deletion at once"})
}

func (b *Broker) handleDeleteACLs(ctx context.Context, conn *wire.Conn, req *kmsg.DeleteACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	fails := make([]*apiError, len(req.Filters))
	whole := b.aclAPIRefusal(conn, acl.OpAlter)
	var valid []acl.Filter
	var validAt []int
	for i, f := range req.Filters {
		if whole != nil {
			fails[i] = whole
			continue
		}
		filter := acl.Filter{
			ResourceType: acl.ResourceType(f.ResourceType), ResourceName: f.ResourceName,
			PatternType: acl.PatternType(f.ResourcePatternType), Principal: f.Principal, Host: f.Host,
			Operation: acl.Operation(f.Operation), Permission: acl.Permission(f.PermissionType),
		}
		if err := filter.Validate(); err != nil {
			fails[i] = newAPIError(kerr.InvalidRequest, "%v", err)
			continue
		}
		valid = append(valid, filter)
		validAt = append(validAt, i)
	}
	var matched [][]acl.Binding
	if len(valid) > 0 {
		var err error
		if matched, err = b.aclStore.DeleteACLs(ctx, valid); err != nil {
			fail := b.storeError(err)
			for _, i := range validAt {
				fails[i] = fail
			}
			matched = nil
		}
		b.refreshACLs()
	}
	for i := range resp.Results {
		resp.Results[i] = kmsg.NewDeleteACLsResponseResult()
		resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = fails[i].codeAndMessage()
	}
	for j, bindings := range matched {
		r := &resp.Results[validAt[j]]
		for _, a := range bindings {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
			m.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
			m.Principal, m.Host = a.Principal, a.Host
			m.Operation, m.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
			r.MatchingACLs = append(r.MatchingACLs, m)
		}
	}
	return resp, nil
}
