package broker

// CreateAcls (v0-v3) adds ACLs, as Kafka does: SECURITY_DISABLED without
// an authorizer; ALTER on the cluster needed (CLUSTER_AUTHORIZATION_FAILED
// for every creation otherwise); each creation validated on its own
// (INVALID_REQUEST: an UNKNOWN or ANY value, a MATCH or ANY pattern type,
// a principal that is not Type:name, a Cluster ACL not on
// "kafka-cluster"), the valid ones stored together. An ACL that exists
// already is not added twice and succeeds. v0 has no pattern type: its
// ACLs are LITERAL.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.CreateACLs, min: 0, max: 3, serve: typed((*Broker).handleCreateACLs),
		note: "ALTER on the cluster; stored in ZooKeeper as Kafka stores ACLs, or in the single broker's metadata"})
}

func (b *Broker) handleCreateACLs(ctx context.Context, conn *wire.Conn, req *kmsg.CreateACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	fails := make([]*apiError, len(req.Creations))
	whole := b.aclAPIRefusal(conn, acl.OpAlter)
	var valid []acl.Binding
	var validAt []int
	for i, c := range req.Creations {
		if whole != nil {
			fails[i] = whole
			continue
		}
		binding := acl.Binding{
			ResourceType: acl.ResourceType(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: acl.PatternType(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: acl.Operation(c.Operation), Permission: acl.Permission(c.PermissionType),
		}
		if err := binding.Validate(); err != nil {
			fails[i] = newAPIError(kerr.InvalidRequest, "%v", err)
			continue
		}
		valid = append(valid, binding)
		validAt = append(validAt, i)
	}
	if len(valid) > 0 {
		if err := b.aclStore.CreateACLs(ctx, valid); err != nil {
			fail := b.storeError(err)
			for _, i := range validAt {
				fails[i] = fail
			}
		}
		b.refreshACLs()
	}
	for i := range resp.Results {
		resp.Results[i] = kmsg.NewCreateACLsResponseResult()
		resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = fails[i].codeAndMessage()
	}
	return resp, nil
}
