package broker

// DescribeClientQuotas (KIP-546), v0-v1: the quotas of the entities a
// filter matches. Each component names an entity type (user, client-id,
// ip) and how its name must match: EXACT (that name), DEFAULT (the
// type's default entity) or ANY (any entity of that type, default or
// not). Without strict, an entity may have types the filter does not
// name (a user filter also matches that user's user+client-id
// entities); with strict, it has exactly the types named. An unknown or
// repeated entity type, an EXACT match without a name, or ip combined
// with user or client-id is INVALID_REQUEST, as in Kafka. Only entities
// with quotas are listed, and only their quota keys (SCRAM credentials
// share users/<user>). With an authorizer, DESCRIBE_CONFIGS on the
// cluster is needed.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeClientQuotas, min: 0, max: 1, serve: typed((*Broker).handleDescribeClientQuotas),
		note: "match types EXACT, DEFAULT and ANY on user, client-id and ip; strict"})
}

func (b *Broker) handleDescribeClientQuotas(_ context.Context, conn *wire.Conn, req *kmsg.DescribeClientQuotasRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !b.authorizedCluster(conn, acl.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code // Kafka: DESCRIBE_CONFIGS on the cluster
		return resp, nil
	}
	filter, aerr := newQuotaFilter(req)
	if aerr != nil {
		resp.ErrorCode, resp.ErrorMessage = aerr.codeAndMessage()
		return resp, nil
	}
	entities := map[string]map[string]string{}
	for _, typ := range []string{controller.EntityUsers, controller.EntityClients, controller.EntityIPs} {
		maps.Copy(entities, b.store.ListEntityConfigs(typ))
	}
	for _, path := range slices.Sorted(maps.Keys(entities)) {
		parts, ok := quotaEntityParts(path)
		if !ok || !filter.matches(parts) {
			continue
		}
		values := quotaValues(path, entities[path])
		if len(values) == 0 {
			continue
		}
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range parts {
			entry.Entity = append(entry.Entity, kmsg.DescribeClientQuotasResponseEntryEntity{Type: p.typ, Name: p.name})
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			entry.Values = append(entry.Values, kmsg.DescribeClientQuotasResponseEntryValue{Key: k, Value: values[k]})
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return resp, nil
}

// quotaFilter is a validated DescribeClientQuotas filter, by entity type.
type quotaFilter struct {
	components map[string]kmsg.DescribeClientQuotasRequestComponent
	strict     bool
}

func newQuotaFilter(req *kmsg.DescribeClientQuotasRequest) (quotaFilter, *apiError) {
	f := quotaFilter{components: map[string]kmsg.DescribeClientQuotasRequestComponent{}, strict: req.Strict}
	for _, c := range req.Components {
		switch c.EntityType {
		case quotaEntityUser, quotaEntityClientID, quotaEntityIP:
		default:
			return f, newAPIError(kerr.InvalidRequest, "Custom entity type '%s' not supported", c.EntityType)
		}
		if _, dup := f.components[c.EntityType]; dup {
			return f, newAPIError(kerr.InvalidRequest, "Duplicate %s filter component entity type", c.EntityType)
		}
		switch c.MatchType {
		case kmsg.QuotasMatchTypeExact:
			if c.Match == nil {
				return f, newAPIError(kerr.InvalidRequest, "Exact match of %s requires a name", c.EntityType)
			}
		case kmsg.QuotasMatchTypeDefault, kmsg.QuotasMatchTypeAny:
		default:
			return f, newAPIError(kerr.InvalidRequest, "Unknown match type %d", c.MatchType)
		}
		f.components[c.EntityType] = c
	}
	_, ip := f.components[quotaEntityIP]
	if ip && len(f.components) > 1 {
		return f, newAPIError(kerr.InvalidRequest, "Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.")
	}
	return f, nil
}

// matches reports whether an entity (its parts) passes the filter.
func (f quotaFilter) matches(parts []quotaEntityPart) bool {
	have := map[string]*string{}
	for _, p := range parts {
		have[p.typ] = p.name
	}
	for typ, c := range f.components {
		name, ok := have[typ]
		if !ok {
			return false
		}
		switch c.MatchType {
		case kmsg.QuotasMatchTypeExact:
			if name == nil || *name != *c.Match {
				return false
			}
		case kmsg.QuotasMatchTypeDefault:
			if name != nil {
				return false
			}
		}
	}
	if f.strict {
		return len(have) == len(f.components)
	}
	return true
}
