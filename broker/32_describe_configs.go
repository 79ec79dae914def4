package broker

// DescribeConfigs describes TOPIC and BROKER resources.
//
// A topic resource lists every topic config: its own overrides
// (DYNAMIC_TOPIC_CONFIG) or the value inherited from the broker, with the
// source of the broker key it comes from. An invalid name is
// INVALID_TOPIC_EXCEPTION, a missing topic UNKNOWN_TOPIC_OR_PARTITION.
//
// A broker resource named by this broker's ID lists every broker key with
// its effective value; the empty name asks for the cluster-wide dynamic
// defaults only (Kafka's behaviour). Another broker's ID, or a name that
// is not a number, is INVALID_REQUEST. BROKER_LOGGER (KIP-412) is refused
// with INVALID_REQUEST: Samsa has no runtime log levels.
//
// config_names filters the answer (null or empty: all; unknown names are
// left out). Synonyms are sent when asked (v1+), documentation when asked
// (v3+); v0 has no config source, only is_default.

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeConfigs, min: 0, max: 4, serve: typed((*Broker).handleDescribeConfigs),
		note: "topics and brokers, synonyms, documentation and types"})
}

func (b *Broker) handleDescribeConfigs(_ context.Context, conn *wire.Conn, req *kmsg.DescribeConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for i := range req.Resources {
		res := &req.Resources[i]
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		aerr := b.configResourceRefusal(conn, acl.OpDescribeConfigs, res.ResourceType, res.ResourceName)
		var entries []config.Entry
		if aerr == nil {
			entries, aerr = b.describeResource(res.ResourceType, res.ResourceName)
		}
		if aerr != nil {
			rr.ErrorCode, rr.ErrorMessage = aerr.codeAndMessage()
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		wanted := make(map[string]bool, len(res.ConfigNames))
		for _, name := range res.ConfigNames {
			wanted[name] = true
		}
		for _, e := range entries {
			if len(wanted) > 0 && !wanted[e.Name] {
				continue
			}
			rr.Configs = append(rr.Configs, describedConfig(e, req.IncludeSynonyms, req.IncludeDocumentation))
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// describeResource returns every config entry of one resource.
func (b *Broker) describeResource(typ kmsg.ConfigResourceType, name string) ([]config.Entry, *apiError) {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if err := controller.ValidateTopicName(name); err != nil {
			return nil, newAPIError(kerr.InvalidTopicException, "%v", err)
		}
		t, ok := b.store.Topic(name)
		if !ok {
			return nil, newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", name)
		}
		return b.effectiveConfig().DescribeTopic(t.Configs), nil
	case kmsg.ConfigResourceTypeBroker:
		dynamicDefault := b.store.BrokerConfigs(clusterDefault)
		if name == "" {
			return b.cfg.DescribeClusterDefaults(dynamicDefault), nil
		}
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			return nil, newAPIError(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
		}
		if int32(id) != b.cfg.BrokerID {
			return nil, newAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d or empty string, but received %s", b.cfg.BrokerID, name)
		}
		return b.cfg.DescribeBroker(b.store.BrokerConfigs(b.cfg.BrokerID), dynamicDefault), nil
	case kmsg.ConfigResourceTypeBrokerLogger:
		return nil, errBrokerLogger
	default:
		return nil, newAPIError(kerr.InvalidRequest, "Unsupported resource type: %s", resourceTypeName(typ))
	}
}

// describedConfig turns a config entry into the response's form.
func describedConfig(e config.Entry, synonyms, documentation bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = e.Name
	c.Value = e.Value
	c.ReadOnly = e.ReadOnly
	c.IsDefault = e.Source == config.SourceDefault // v0's stand-in for the source
	c.Source = kmsg.ConfigSource(e.Source)
	c.IsSensitive = e.Sensitive
	c.ConfigType = kmsg.ConfigType(e.Type)
	if synonyms {
		for _, s := range e.Synonyms {
			cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			cs.Name, cs.Value, cs.Source = s.Name, s.Value, kmsg.ConfigSource(s.Source)
			c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
		}
	}
	if documentation && e.Doc != "" {
		doc := e.Doc
		c.Documentation = &doc
	}
	return c
}

// resourceTypeName names a config resource type for error messages.
func resourceTypeName(typ kmsg.ConfigResourceType) string {
	if s := typ.String(); s != "UNKNOWN" {
		return s
	}
	return strconv.Itoa(int(typ))
}
