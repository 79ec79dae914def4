package broker

// DescribeCluster (KIP-700): the cluster ID, the controller and the
// live brokers, as Metadata gives them. A broker answers only for the
// brokers endpoint type (1, KIP-919): asking it for controllers (2) is
// MISMATCHED_ENDPOINT_TYPE, any other type UNSUPPORTED_ENDPOINT_TYPE (v0
// has no endpoint type and always asks for brokers). No broker is fenced
// (v2). Authorized operations are not computed until ACLs
// exist: the field keeps Kafka's "not requested" value.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeCluster, min: 0, max: 2, serve: typed((*Broker).handleDescribeCluster)})
}

// endpointTypeBrokers is DescribeCluster's endpoint type for brokers;
// endpointTypeControllers the one for KRaft controllers.
const (
	endpointTypeBrokers     int8 = 1
	endpointTypeControllers int8 = 2
)

func (b *Broker) handleDescribeCluster(_ context.Context, conn *wire.Conn, req *kmsg.DescribeClusterRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	var aerr *apiError
	switch req.EndpointType {
	case endpointTypeBrokers:
	case endpointTypeControllers:
		aerr = newAPIError(kerr.MismatchedEndpointType, "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
	default:
		aerr = newAPIError(kerr.UnsupportedEndpointType, "Unsupported endpoint type %d", req.EndpointType)
	}
	if aerr != nil {
		resp.ErrorCode, resp.ErrorMessage = aerr.codeAndMessage()
		return resp, nil
	}

	resp.EndpointType = endpointTypeBrokers
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = b.clusterAuthorizedOperations(conn)
	}
	resp.ClusterID = b.store.ClusterID()
	controllerID := b.store.ControllerID()
	resp.ControllerID = -1 // Kafka: -1 unless the controller is among the brokers listed
	for _, br := range b.store.Brokers() {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = brokerEndpoint(br, conn.Listener)
		resp.Brokers = append(resp.Brokers, rb)
		if br.ID == controllerID {
			resp.ControllerID = controllerID
		}
	}
	return resp, nil
}
