package broker

// CreateAcls: SECURITY_DISABLED for each creation until Samsa has an
// authorizer (see 29_describe_acls.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.CreateACLs, min: 0, max: 3, serve: typed((*Broker).handleCreateACLs),
		note: "SECURITY_DISABLED for each creation (no authorizer yet)"})
}

func (b *Broker) handleCreateACLs(_ context.Context, _ *wire.Conn, req *kmsg.CreateACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	for range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errNoAuthorizer.codeAndMessage()
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
