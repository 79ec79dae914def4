package broker

// DeleteAcls: SECURITY_DISABLED for each filter until Samsa has an
// authorizer (see 29_describe_acls.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DeleteACLs, min: 0, max: 3, serve: typed((*Broker).handleDeleteACLs),
		note: "SECURITY_DISABLED for each filter (no authorizer yet)"})
}

func (b *Broker) handleDeleteACLs(_ context.Context, _ *wire.Conn, req *kmsg.DeleteACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	for range req.Filters {
		r := kmsg.NewDeleteACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errNoAuthorizer.codeAndMessage()
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
