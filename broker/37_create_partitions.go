package broker

// CreatePartitions raises a topic's partition count to count. A
// count that is not larger than the current one is INVALID_PARTITIONS; an
// explicit assignment must give one replica list per new partition
// (INVALID_REPLICA_ASSIGNMENT otherwise, also for unknown or repeated
// brokers). An unknown topic is UNKNOWN_TOPIC_OR_PARTITION and a topic
// named twice INVALID_REQUEST, as in Kafka. validate_only checks
// everything and changes nothing. The new partitions' logs exist before
// the response is sent, so they take records at once.
//
// A failure to write the metadata, or to create the new partitions' logs
// on this broker, is KAFKA_STORAGE_ERROR. A single broker then takes the
// new partitions back, with the logs that were made; a cluster keeps
// them, as Kafka never removes partitions, and the broker creates their
// logs as soon as it can (admin.go).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.CreatePartitions, min: 0, max: 3, serve: typed((*Broker).handleCreatePartitions)})
}

func (b *Broker) handleCreatePartitions(ctx context.Context, conn *wire.Conn, req *kmsg.CreatePartitionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	resp.Topics = adminBatch(ctx, b, "CreatePartitions", req.Topics, req.ValidateOnly,
		func(rt *kmsg.CreatePartitionsRequestTopic) string { return rt.Topic }, errDuplicateTopic,
		func(rt *kmsg.CreatePartitionsRequestTopic, aerr *apiError) kmsg.CreatePartitionsResponseTopic {
			st := kmsg.NewCreatePartitionsResponseTopic()
			st.Topic = rt.Topic
			st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
			return st
		},
		func(rt *kmsg.CreatePartitionsRequestTopic, _ *kmsg.CreatePartitionsResponseTopic) (func(error) *apiError, *apiError) {
			if !b.authorizedTopic(conn, acl.OpAlter, rt.Topic) {
				return nil, errTopicAuthorization // Kafka: ALTER on the topic
			}
			before, aerr := b.createPartitions(ctx, rt, req.ValidateOnly, req.Version >= 3)
			if aerr != nil {
				return nil, aerr
			}
			from := int32(len(before.Partitions))
			return func(syncErr error) *apiError {
				return b.undoPartitionsWithoutLogs(ctx, rt.Topic, before.ID, from, rt.Count, syncErr)
			}, nil
		})
	if !req.ValidateOnly {
		grown := succeeded(resp.Topics, func(t *kmsg.CreatePartitionsResponseTopic) (string, int16) { return t.Topic, t.ErrorCode })
		b.awaitPeersServe(ctx, grown, time.Duration(req.TimeoutMillis)*time.Millisecond)
	}
	resp.ThrottleMillis = b.throttleMutations(ctx, conn)
	return resp, nil
}

// createPartitions validates and (unless validateOnly) adds the
// partitions of one topic, and returns the topic as it was before.
func (b *Broker) createPartitions(ctx context.Context, rt *kmsg.CreatePartitionsRequestTopic, validateOnly, strictQuota bool) (controller.Topic, *apiError) {
	t, ok := b.store.Topic(rt.Topic)
	if !ok {
		return t, newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", rt.Topic)
	}
	current := int32(len(t.Partitions))
	switch {
	case rt.Count < current:
		return t, newAPIError(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.", rt.Topic, current, rt.Count)
	case rt.Count == current:
		return t, newAPIError(kerr.InvalidPartitions, "Topic already has %d partition(s).", current)
	}
	var assignment [][]int32
	if rt.Assignment != nil {
		if adding := rt.Count - current; int32(len(rt.Assignment)) != adding {
			return t, newAPIError(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", adding, len(rt.Assignment))
		}
		for _, a := range rt.Assignment {
			assignment = append(assignment, append([]int32(nil), a.Replicas...))
		}
	}
	if !validateOnly {
		if aerr := b.admitMutations(ctx, int(rt.Count-current), strictQuota); aerr != nil {
			return t, aerr
		}
	}
	if err := b.store.CreatePartitions(ctx, rt.Topic, rt.Count, assignment, validateOnly); err != nil {
		return t, b.storeError(err)
	}
	return t, nil
}
