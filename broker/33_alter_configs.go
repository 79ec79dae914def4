package broker

// AlterConfigs, the original, non-incremental API: the configs given
// replace the resource's whole set of dynamic configs, so a key left out
// goes back to its default. (Kafka deprecates it for that reason in favour
// of IncrementalAlterConfigs; admin tools still send it.)
//
// TOPIC resources set the topic's overrides; BROKER resources set this
// broker's dynamic configs (named by its ID) or the cluster-wide defaults
// (the empty name). A refused value or key is INVALID_CONFIG with the
// reason; null values, keys named twice and resources named twice are
// INVALID_REQUEST, as in Kafka. Other resource types, BROKER_LOGGER
// included (AlterConfigs never supported it), are INVALID_REQUEST.
// validate_only checks everything and changes nothing.

import (
	"context"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.AlterConfigs, min: 0, max: 2, serve: typed((*Broker).handleAlterConfigs),
		note: "topic and broker (dynamic) configs"})
}

func (b *Broker) handleAlterConfigs(ctx context.Context, conn *wire.Conn, req *kmsg.AlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	resp.Resources = adminBatch(ctx, b, "AlterConfigs", req.Resources, req.ValidateOnly,
		func(res *kmsg.AlterConfigsRequestResource) resourceKey {
			return resourceKey{res.ResourceType, res.ResourceName}
		}, errDuplicateResource,
		func(res *kmsg.AlterConfigsRequestResource, aerr *apiError) kmsg.AlterConfigsResponseResource {
			rr := kmsg.NewAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
			rr.ErrorCode, rr.ErrorMessage = aerr.codeAndMessage()
			return rr
		},
		func(res *kmsg.AlterConfigsRequestResource, _ *kmsg.AlterConfigsResponseResource) (func(error) *apiError, *apiError) {
			if aerr := b.configResourceRefusal(conn, acl.OpAlterConfigs, res.ResourceType, res.ResourceName); aerr != nil {
				return nil, aerr
			}
			return nil, b.alterConfigs(ctx, res, req.ValidateOnly)
		})
	return resp, nil
}

// alterConfigs replaces one resource's dynamic configs.
func (b *Broker) alterConfigs(ctx context.Context, res *kmsg.AlterConfigsRequestResource, validateOnly bool) *apiError {
	configs := make(map[string]string, len(res.Configs))
	var nulls []string
	for _, c := range res.Configs {
		if _, dup := configs[c.Name]; dup {
			return newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		if c.Value == nil {
			nulls = append(nulls, c.Name)
			configs[c.Name] = ""
			continue
		}
		configs[c.Name] = *c.Value
	}
	if len(nulls) > 0 {
		return newAPIError(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	switch res.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		return b.replaceTopicConfigs(ctx, res.ResourceName, configs, validateOnly)
	case kmsg.ConfigResourceTypeBroker:
		id, aerr := b.brokerResource(res.ResourceName)
		if aerr != nil {
			return aerr
		}
		return b.replaceBrokerConfigs(ctx, id, configs, validateOnly)
	default:
		return newAPIError(kerr.InvalidRequest, "Unknown resource type %d", int8(res.ResourceType))
	}
}
