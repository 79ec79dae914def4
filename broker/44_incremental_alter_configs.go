package broker

// IncrementalAlterConfigs (KIP-339) changes only the configs named:
// SET gives a key a value, DELETE removes it (back to the inherited
// value), APPEND adds items to a LIST config and SUBTRACT removes them.
// APPEND and SUBTRACT on a config that is not a LIST are INVALID_CONFIG
// ("Can't APPEND to key ... because its type is not LIST.", Kafka's
// controller). They start from the resource's own value or, when it has
// none, from the value it inherits; Kafka's controller starts from the
// config's built-in default instead, which differs only when a broker
// default is set (cleanup.policy inheriting log.cleanup.policy=compact:
// appending delete gives compact,delete here, delete in Kafka). APPEND
// skips items already present.
//
// The resulting set is validated as a whole (INVALID_CONFIG with the
// reason) and stored in one step. A key named twice in one resource, a
// resource named twice, a null value for anything but DELETE and an
// unknown operation are INVALID_REQUEST, as in Kafka. TOPIC and BROKER
// resources work as in AlterConfigs; BROKER_LOGGER (KIP-412) is refused
// with INVALID_REQUEST since Samsa has no runtime log levels.
// validate_only checks everything and changes nothing.

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.IncrementalAlterConfigs, min: 0, max: 1, serve: typed((*Broker).handleIncrementalAlterConfigs),
		note: "SET, DELETE, APPEND, SUBTRACT"})
}

func (b *Broker) handleIncrementalAlterConfigs(ctx context.Context, conn *wire.Conn, req *kmsg.IncrementalAlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	resp.Resources = adminBatch(ctx, b, "IncrementalAlterConfigs", req.Resources, req.ValidateOnly,
		func(res *kmsg.IncrementalAlterConfigsRequestResource) resourceKey {
			return resourceKey{res.ResourceType, res.ResourceName}
		}, errDuplicateResource,
		func(res *kmsg.IncrementalAlterConfigsRequestResource, aerr *apiError) kmsg.IncrementalAlterConfigsResponseResource {
			rr := kmsg.NewIncrementalAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
			rr.ErrorCode, rr.ErrorMessage = aerr.codeAndMessage()
			return rr
		},
		func(res *kmsg.IncrementalAlterConfigsRequestResource, _ *kmsg.IncrementalAlterConfigsResponseResource) (func(error) *apiError, *apiError) {
			if aerr := b.configResourceRefusal(conn, acl.OpAlterConfigs, res.ResourceType, res.ResourceName); aerr != nil {
				return nil, aerr
			}
			return nil, b.incrementalAlterConfigs(ctx, res, req.ValidateOnly)
		})
	return resp, nil
}

// incrementalAlterConfigs applies one resource's operations.
func (b *Broker) incrementalAlterConfigs(ctx context.Context, res *kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) *apiError {
	seen := make(map[string]bool, len(res.Configs))
	var nulls []string
	for _, c := range res.Configs {
		if seen[c.Name] {
			return newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[c.Name] = true
		if c.Op < kmsg.IncrementalAlterConfigOpSet || c.Op > kmsg.IncrementalAlterConfigOpSubtract {
			return newAPIError(kerr.InvalidRequest, "Unknown operations type %d", int8(c.Op))
		}
		if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
			nulls = append(nulls, c.Name)
		}
	}
	if len(nulls) > 0 {
		return newAPIError(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}

	switch res.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if aerr := validTopicResource(res.ResourceName); aerr != nil {
			return aerr
		}
		t, ok := b.store.Topic(res.ResourceName)
		if !ok {
			return newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", res.ResourceName)
		}
		// What the topic inherits: its description without overrides.
		inherited := entryValues(b.effectiveConfig().DescribeTopic(nil))
		configs, aerr := applyConfigOps(t.Configs, res.Configs, topicKeyTypes, inherited)
		if aerr != nil {
			return aerr
		}
		return b.replaceTopicConfigs(ctx, res.ResourceName, configs, validateOnly)
	case kmsg.ConfigResourceTypeBroker:
		id, aerr := b.brokerResource(res.ResourceName)
		if aerr != nil {
			return aerr
		}
		// What the resource inherits from the layers below it: static
		// configs and defaults for the cluster-wide defaults, those and
		// the cluster-wide defaults for one broker.
		var below map[string]string
		if id != clusterDefault {
			below = b.store.BrokerConfigs(clusterDefault)
		}
		inherited := entryValues(b.cfg.DescribeBroker(nil, below))
		configs, aerr := applyConfigOps(b.store.BrokerConfigs(id), res.Configs, brokerKeyTypes, inherited)
		if aerr != nil {
			return aerr
		}
		return b.replaceBrokerConfigs(ctx, id, configs, validateOnly)
	case kmsg.ConfigResourceTypeBrokerLogger:
		return errBrokerLogger
	default:
		return newAPIError(kerr.InvalidRequest, "Unknown resource type %d", int8(res.ResourceType))
	}
}

// applyConfigOps returns current with the operations applied. types gives
// each known key's config type; inherited the value a key has when the
// resource does not set it.
func applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, types map[string]int8, inherited map[string]string) (map[string]string, *apiError) {
	out := maps.Clone(current)
	if out == nil {
		out = make(map[string]string)
	}
	for _, op := range ops {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			out[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(out, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if typ, ok := types[op.Name]; !ok || typ != config.TypeList {
				return nil, newAPIError(kerr.InvalidConfig, "Can't %s to key %s because its type is not LIST.", op.Op, op.Name)
			}
			base, ok := out[op.Name]
			if !ok {
				base = inherited[op.Name]
			}
			items := splitList(base)
			for _, item := range splitList(*op.Value) {
				i := slices.Index(items, item)
				switch {
				case op.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0:
					items = append(items, item)
				case op.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0:
					items = slices.Delete(items, i, i+1)
				}
			}
			out[op.Name] = strings.Join(items, ",")
		}
	}
	return out, nil
}

// splitList splits a LIST config value, dropping blanks and empty items.
func splitList(v string) []string {
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// entryValues maps described configs to their values.
func entryValues(entries []config.Entry) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.Value != nil {
			m[e.Name] = *e.Value
		}
	}
	return m
}

// The config types of topic and broker keys, for APPEND and SUBTRACT.
var (
	topicKeyTypes = func() map[string]int8 {
		m := make(map[string]int8)
		for _, k := range config.TopicKeys() {
			m[k.Name] = k.Type
		}
		return m
	}()
	brokerKeyTypes = func() map[string]int8 {
		m := make(map[string]int8)
		for _, k := range config.BrokerKeys() {
			m[k.Name] = k.Type
		}
		return m
	}()
)
