package broker

// CreateTopics. Checks follow Kafka's controller, in its order: the
// topic name (INVALID_TOPIC_EXCEPTION, also for a name that collides with
// an existing one once '.' and '_' are unified), existence
// (TOPIC_ALREADY_EXISTS), configs (INVALID_CONFIG with the reason; a null
// value too), then partitions and replicas. A name given twice in one
// request is refused for each entry (INVALID_REQUEST) and not created.
//
// num_partitions and replication_factor of -1 take the broker's
// num.partitions and default.replication.factor (KIP-464, v4+; before v4
// they are refused as any other non-positive count). An explicit replica
// assignment requires both to be -1 (INVALID_REQUEST otherwise) and must
// number its partitions 0, 1, ... (INVALID_REPLICA_ASSIGNMENT).
//
// validate_only (v1+) runs every check and creates nothing. v5+ answers
// with the topic's partition count, replication factor and resolved
// configs (KIP-525); v7 with its topic ID (KIP-516). The logs are open
// before the response is sent, and in a cluster every live broker serves
// the topic's metadata (propagation.go), so the topic is usable at once.
//
// A failure to write the metadata, or to create the logs of the topic's
// replicas on this broker (a full or failing disk), is
// KAFKA_STORAGE_ERROR, and the topic is not created: one whose logs
// failed is deleted again with the logs that were made (admin.go).

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.CreateTopics, min: 0, max: 7, serve: typed((*Broker).handleCreateTopics),
		note: "Kafka's name rules, validate-only, per-topic configs, explicit assignments, resolved configs in the answer (KIP-525)"})
}

func (b *Broker) handleCreateTopics(ctx context.Context, conn *wire.Conn, req *kmsg.CreateTopicsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	// Kafka: CREATE on the cluster, else on each topic.
	clusterCreate := b.authorizedCluster(conn, acl.OpCreate)
	resp.Topics = adminBatch(ctx, b, "CreateTopics", req.Topics, req.ValidateOnly,
		func(rt *kmsg.CreateTopicsRequestTopic) string { return rt.Topic }, errDuplicateTopic,
		func(rt *kmsg.CreateTopicsRequestTopic, aerr *apiError) kmsg.CreateTopicsResponseTopic {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic = rt.Topic
			st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
			return st
		},
		func(rt *kmsg.CreateTopicsRequestTopic, st *kmsg.CreateTopicsResponseTopic) (func(error) *apiError, *apiError) {
			if !clusterCreate && !b.authorizedTopic(conn, acl.OpCreate, rt.Topic) {
				return nil, errTopicAuthorization
			}
			if aerr := b.createTopic(ctx, req, rt, st); aerr != nil {
				return nil, aerr
			}
			if !b.authorizedTopic(conn, acl.OpDescribeConfigs, rt.Topic) {
				// Kafka: the configs and the partition counts a creator
				// may not describe are left out, and said so.
				st.Configs, st.NumPartitions, st.ReplicationFactor = nil, -1, -1
				st.ConfigErrorCode = kerr.TopicAuthorizationFailed.Code
			}
			id := st.TopicID
			return func(syncErr error) *apiError {
				return b.undoTopicWithoutLogs(ctx, rt.Topic, id, syncErr)
			}, nil
		})
	if !req.ValidateOnly {
		created := succeeded(resp.Topics, func(t *kmsg.CreateTopicsResponseTopic) (string, int16) { return t.Topic, t.ErrorCode })
		b.awaitPeersServe(ctx, created, time.Duration(req.TimeoutMillis)*time.Millisecond)
	}
	resp.ThrottleMillis = b.throttleMutations(ctx, conn)
	return resp, nil
}

// createTopic validates and (unless validate_only) creates one topic,
// filling in the v5+ fields of st on success.
func (b *Broker) createTopic(ctx context.Context, req *kmsg.CreateTopicsRequest, rt *kmsg.CreateTopicsRequestTopic, st *kmsg.CreateTopicsResponseTopic) *apiError {
	if err := controller.ValidateTopicName(rt.Topic); err != nil {
		return newAPIError(kerr.InvalidTopicException, "%v", err)
	}
	if _, ok := b.store.Topic(rt.Topic); ok {
		return newAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", rt.Topic)
	}

	configs := make(map[string]string, len(rt.Configs))
	var nulls []string
	for _, c := range rt.Configs {
		if c.Value == nil {
			nulls = append(nulls, c.Name)
			continue
		}
		configs[c.Name] = *c.Value
	}
	if len(nulls) > 0 {
		return newAPIError(kerr.InvalidConfig, "Null value not supported for topic configs: %s", strings.Join(nulls, ","))
	}
	if err := config.ValidateTopicConfigs(configs); err != nil {
		return newAPIError(kerr.InvalidConfig, "%v", err)
	}

	cfg := b.effectiveConfig()
	create := controller.CreateTopicRequest{
		Name:         rt.Topic,
		Configs:      configs,
		ValidateOnly: req.ValidateOnly,
	}
	if len(rt.ReplicaAssignment) > 0 {
		assignment, aerr := explicitAssignment(rt)
		if aerr != nil {
			return aerr
		}
		create.Assignment = assignment
	} else {
		defaults := req.Version >= 4 // KIP-464
		switch {
		case defaults && rt.ReplicationFactor == -1:
			create.ReplicationFactor = cfg.DefaultReplicationFactor
		case rt.ReplicationFactor < 1 && defaults:
			return newAPIError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
		case rt.ReplicationFactor < 1:
			return newAPIError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0.")
		default:
			create.ReplicationFactor = rt.ReplicationFactor
		}
		switch {
		case defaults && rt.NumPartitions == -1:
			create.Partitions = cfg.NumPartitions
		case rt.NumPartitions < 1:
			return newAPIError(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
		default:
			create.Partitions = rt.NumPartitions
		}
	}

	if !req.ValidateOnly {
		partitions := max(int(create.Partitions), len(create.Assignment))
		if aerr := b.admitMutations(ctx, partitions, req.Version >= 6); aerr != nil {
			return aerr
		}
	}
	t, err := b.store.CreateTopic(ctx, create)
	if err != nil {
		return b.storeError(err)
	}
	st.TopicID = t.ID
	st.NumPartitions = int32(len(t.Partitions))
	if len(t.Partitions) > 0 {
		st.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
	}
	for _, e := range cfg.DescribeTopic(t.Configs) {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Source, e.Sensitive
		st.Configs = append(st.Configs, c)
	}
	return nil
}

// explicitAssignment turns a request's replica assignment into the
// store's, one replica list per partition in partition order.
func explicitAssignment(rt *kmsg.CreateTopicsRequestTopic) ([][]int32, *apiError) {
	if rt.ReplicationFactor != -1 {
		return nil, newAPIError(kerr.InvalidRequest, "A manual partition assignment was specified, but replication factor was not set to -1.")
	}
	if rt.NumPartitions != -1 {
		return nil, newAPIError(kerr.InvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1.")
	}
	byPartition := make(map[int32][]int32, len(rt.ReplicaAssignment))
	for _, a := range rt.ReplicaAssignment {
		if _, dup := byPartition[a.Partition]; dup {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "Found multiple manual partition assignments for partition %d", a.Partition)
		}
		byPartition[a.Partition] = a.Replicas
	}
	indexes := make([]int32, 0, len(byPartition))
	for p := range byPartition {
		indexes = append(indexes, p)
	}
	sort.Slice(indexes, func(i, j int) bool { return indexes[i] < indexes[j] })
	assignment := make([][]int32, len(indexes))
	for i, p := range indexes {
		if p != int32(i) {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence")
		}
		assignment[i] = append([]int32(nil), byPartition[p]...)
	}
	return assignment, nil
}
