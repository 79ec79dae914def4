package broker

// AlterClientQuotas (KIP-546), v0-v1: sets and removes the quotas of
// user, client-id and user+client-id entities (producer_byte_rate,
// consumer_byte_rate, request_percentage, controller_mutation_rate) and
// of IP entities (connection_creation_rate, KIP-612); a null entity name
// is the default. Each entry is checked and applied on its own, with
// Kafka's INVALID_REQUEST for an unknown entity type, a duplicate or
// mixed entity (ip with user or client-id), an unknown key, a negative
// value, or a fractional value for the whole-number keys (the byte and
// connection rates). validate_only checks without storing.
//
// The quotas are stored where Kafka's ZooKeeper mode keeps them
// (/config/users/<user>, /config/clients/<client-id>,
// /config/users/<user>/clients/<client-id>, /config/ips/<ip>), in one
// atomic step per entity that keeps the entity's other keys (SCRAM
// credentials); every broker applies the change when the store reports
// it. With an authorizer, ALTER_CONFIGS on the cluster is needed.

import (
	"context"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/quota"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.AlterClientQuotas, min: 0, max: 1, serve: typed((*Broker).handleAlterClientQuotas),
		note: "user, client-id, user+client-id and ip entities with their defaults; producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate, connection_creation_rate; validate_only; stored as Kafka stores them (/config/users, /config/clients, /config/ips)"})
}

func (b *Broker) handleAlterClientQuotas(ctx context.Context, conn *wire.Conn, req *kmsg.AlterClientQuotasRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	allowed := b.authorizedCluster(conn, acl.OpAlterConfigs) // Kafka: ALTER_CONFIGS on the cluster
	for _, entry := range req.Entries {
		if !allowed {
			re := kmsg.NewAlterClientQuotasResponseEntry()
			for _, c := range entry.Entity {
				re.Entity = append(re.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: c.Type, Name: c.Name})
			}
			re.ErrorCode = kerr.ClusterAuthorizationFailed.Code
			resp.Entries = append(resp.Entries, re)
			continue
		}
		re := kmsg.NewAlterClientQuotasResponseEntry()
		parts := make([]quotaEntityPart, 0, len(entry.Entity))
		for _, c := range entry.Entity {
			re.Entity = append(re.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: c.Type, Name: c.Name})
			parts = append(parts, quotaEntityPart{typ: c.Type, name: c.Name})
		}
		re.ErrorCode, re.ErrorMessage = b.alterClientQuota(ctx, parts, entry.Ops, req.ValidateOnly).codeAndMessage()
		resp.Entries = append(resp.Entries, re)
	}
	return resp, nil
}

// alterClientQuota validates and applies one entry.
func (b *Broker) alterClientQuota(ctx context.Context, parts []quotaEntityPart, ops []kmsg.AlterClientQuotasRequestEntryOp, validateOnly bool) *apiError {
	path, aerr := quotaEntityPath(parts)
	if aerr != nil {
		return aerr
	}
	set := map[string]string{}
	var remove []string
	for _, op := range ops {
		if !validQuotaKey(path, op.Key) {
			return newAPIError(kerr.InvalidRequest, "Invalid configuration key %s", op.Key)
		}
		if op.Remove {
			remove = append(remove, op.Key)
			delete(set, op.Key)
			continue
		}
		v, err := quotaValue(op.Key, op.Value)
		if err != nil {
			return newAPIError(kerr.InvalidRequest, "%v", err)
		}
		set[op.Key] = v
	}
	if validateOnly {
		return nil
	}
	if err := b.store.AlterEntityConfigs(ctx, path, set, remove); err != nil {
		return newAPIError(kerr.UnknownServerError, "Store the quotas of %s: %v", path, err)
	}
	return nil
}

// quotaValue checks a quota value as Kafka's ConfigDef would for the
// key's type and returns it as stored.
func quotaValue(key string, v float64) (string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return "", fmt.Errorf("Invalid value %v for %s: it must be a non-negative number", v, key)
	}
	s := quota.FormatValue(key, v)
	if _, err := quota.ParseValue(key, s); err != nil {
		return "", err
	}
	if key != quota.RequestPercentage && key != quota.ControllerMutationRate && v != math.Trunc(v) {
		return "", fmt.Errorf("Configuration %s must be a whole number, not %v", key, v)
	}
	return s, nil
}
