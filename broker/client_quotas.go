package broker

// Client quota entities as DescribeClientQuotas and AlterClientQuotas
// name them (entity types "user", "client-id", "ip"; a null name is the
// default), and as the store keeps them (entity paths, controller.Entity).

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/broker/quota"
	"github.com/samsa-io/samsa/controller"
)

// Kafka's quota entity types (ClientQuotaEntity).
const (
	quotaEntityUser     = "user"
	quotaEntityClientID = "client-id"
	quotaEntityIP       = "ip"
)

// quotaEntityPart is one component of an entity: its type and name, nil
// for the default.
type quotaEntityPart struct {
	typ  string
	name *string
}

// quotaEntityPath validates an entity as Kafka's AlterClientQuotas does
// and returns its store path: user, client-id or both, or ip alone, each
// type once; an ip name must be an IP address.
func quotaEntityPath(parts []quotaEntityPart) (string, *apiError) {
	var user, client, ip *string
	seen := map[string]bool{}
	for _, p := range parts {
		if seen[p.typ] {
			return "", newAPIError(kerr.InvalidRequest, "Duplicate %s entity type in the quota entity", p.typ)
		}
		seen[p.typ] = true
		name := p.name
		if name == nil {
			d := controller.DefaultEntityName
			name = &d
		} else if *name == "" || *name == controller.DefaultEntityName {
			return "", newAPIError(kerr.InvalidRequest, "Invalid %s name %q in the quota entity", p.typ, *name)
		}
		switch p.typ {
		case quotaEntityUser:
			user = name
		case quotaEntityClientID:
			client = name
		case quotaEntityIP:
			ip = name
		default:
			return "", newAPIError(kerr.InvalidRequest, "Unhandled client quota entity type: %s", p.typ)
		}
	}
	switch {
	case len(parts) == 0:
		return "", newAPIError(kerr.InvalidRequest, "Invalid empty client quota entity")
	case ip != nil && (user != nil || client != nil):
		return "", newAPIError(kerr.InvalidRequest, "Invalid quota entity combination, IP entity should not be used with user/client ID entity.")
	case ip != nil:
		if *ip != controller.DefaultEntityName {
			if _, err := netip.ParseAddr(*ip); err != nil {
				return "", newAPIError(kerr.InvalidRequest, "%s is not a valid IP address", *ip)
			}
		}
		return controller.IPEntity(*ip).Path(), nil
	}
	return quota.EntityPath(user, client), nil
}

// quotaEntityParts names a stored entity as the quota APIs do.
func quotaEntityParts(path string) ([]quotaEntityPart, bool) {
	e, err := controller.ParseEntity(path)
	if err != nil {
		return nil, false
	}
	name := func(n string) *string {
		if n == controller.DefaultEntityName {
			return nil
		}
		return &n
	}
	switch e.Type {
	case controller.EntityIPs:
		return []quotaEntityPart{{quotaEntityIP, name(e.Name)}}, true
	case controller.EntityClients:
		return []quotaEntityPart{{quotaEntityClientID, name(e.Name)}}, true
	}
	parts := []quotaEntityPart{{quotaEntityUser, name(e.Name)}}
	if e.HasClient {
		parts = append(parts, quotaEntityPart{quotaEntityClientID, name(e.Client)})
	}
	return parts, true
}

// quotaKeysOf are the quota keys an entity may carry: the connection
// rate for an IP, the client quotas for users and client IDs.
func quotaKeysOf(path string) []string {
	if e, err := controller.ParseEntity(path); err == nil && e.Type == controller.EntityIPs {
		return []string{quota.ConnectionCreationRate}
	}
	return quota.ClientKeys
}

// quotaValues returns the quota keys of stored configs as numbers,
// leaving out other keys (SCRAM credentials share users/<user>).
func quotaValues(path string, configs map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, k := range quotaKeysOf(path) {
		if v, ok := configs[k]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = f
			}
		}
	}
	return out
}

// validQuotaKey reports whether key is a quota key of the entity at path.
func validQuotaKey(path, key string) bool { return slices.Contains(quotaKeysOf(path), key) }
