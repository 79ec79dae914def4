package broker

// FindCoordinator. v0-v3 ask for one key, v4+ for several (KIP-699).
// A group's coordinator is the leader of its __consumer_offsets partition,
// which is created on the first request, as in Kafka; until it has a
// leader the answer is COORDINATOR_NOT_AVAILABLE and clients retry.
// A transactional ID's coordinator (key type 1) is the leader of its
// __transaction_state partition, created on first use likewise. Other key
// types are INVALID_REQUEST.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.FindCoordinator, min: 0, max: 6, serve: typed((*Broker).handleFindCoordinator),
		note: "groups and transactional IDs; batched keys (v4+, KIP-699); the coordinator is the leader of the key's `__consumer_offsets` or `__transaction_state` partition, created on first use"})
}

func (b *Broker) handleFindCoordinator(ctx context.Context, conn *wire.Conn, req *kmsg.FindCoordinatorRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	find := func(key string) kmsg.FindCoordinatorResponseCoordinator {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Port = key, -1, -1
		if req.CoordinatorType != 0 && req.CoordinatorType != 1 {
			c.ErrorCode = kerr.InvalidRequest.Code
			return c
		}
		// Kafka: DESCRIBE on the group or the transactional ID.
		if req.CoordinatorType == 1 && !b.authorized(conn, acl.OpDescribe, acl.ResourceTransactionalID, key) {
			c.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return c
		}
		if req.CoordinatorType == 0 && !b.authorized(conn, acl.OpDescribe, acl.ResourceGroup, key) {
			c.ErrorCode = kerr.GroupAuthorizationFailed.Code
			return c
		}
		var br controller.Broker
		var err *kerr.Error
		if req.CoordinatorType == 1 {
			br, err = b.txnCoordinatorFor(ctx, key)
		} else {
			br, err = b.coordinatorFor(ctx, key)
		}
		if err != nil {
			c.ErrorCode = err.Code
			msg := err.Message
			c.ErrorMessage = &msg
			return c
		}
		c.NodeID, c.Host, c.Port, _ = brokerEndpoint(br, conn.Listener)
		return c
	}
	if req.Version >= 4 {
		for _, key := range req.CoordinatorKeys {
			resp.Coordinators = append(resp.Coordinators, find(key))
		}
		return resp, nil
	}
	c := find(req.CoordinatorKey)
	resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
	if req.Version >= 1 {
		resp.ErrorMessage = c.ErrorMessage
	}
	return resp, nil
}
