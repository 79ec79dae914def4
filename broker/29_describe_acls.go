package broker

// DescribeAcls, CreateAcls and DeleteAcls as Kafka answers them when no
// authorizer is configured (authorizer.class.name empty, Kafka's
// default): SECURITY_DISABLED with Kafka's message, for the request as a
// whole (DescribeAcls) or for each creation and each filter.
// Samsa has no authorizer yet, so every connection may do everything, as
// on such a Kafka broker; admin tools show users the reason.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeACLs, min: 0, max: 3, serve: typed((*Broker).handleDescribeACLs),
		note: "SECURITY_DISABLED, as Kafka answers without an authorizer (`authorizer.class.name` unset, its default): every client may do everything"})
}

// errNoAuthorizer is Kafka's answer to the ACL APIs without an authorizer.
var errNoAuthorizer = newAPIError(kerr.SecurityDisabled, "No Authorizer is configured on the broker")

func (b *Broker) handleDescribeACLs(_ context.Context, _ *wire.Conn, req *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	resp.ErrorCode, resp.ErrorMessage = errNoAuthorizer.codeAndMessage()
	return resp, nil
}
