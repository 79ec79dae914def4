package broker

// CreatePartitions v0-v3 raises a topic's partition count to count. A
// count that is not larger than the current one is INVALID_PARTITIONS; an
// explicit assignment must give one replica list per new partition
// (INVALID_REPLICA_ASSIGNMENT otherwise, also for unknown or repeated
// brokers). An unknown topic is UNKNOWN_TOPIC_OR_PARTITION and a topic
// named twice INVALID_REQUEST, as in Kafka. validate_only checks
// everything and changes nothing. The new partitions' logs exist before
// the response is sent, so they take records at once.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func (b *Broker) handleCreatePartitions(ctx context.Context, _ *wire.Conn, req *kmsg.CreatePartitionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	occurrences := make(map[string]int, len(req.Topics))
	for _, rt := range req.Topics {
		occurrences[rt.Topic]++
	}
	created := false
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var aerr *apiError
		if occurrences[rt.Topic] > 1 {
			aerr = newAPIError(kerr.InvalidRequest, "Duplicate topic name.")
		} else {
			aerr = b.createPartitions(ctx, rt, req.ValidateOnly)
		}
		st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
		created = created || (aerr == nil && !req.ValidateOnly)
		resp.Topics = append(resp.Topics, st)
	}
	if created {
		b.syncAfterAdmin("CreatePartitions")
	}
	return resp, nil
}

// createPartitions validates and (unless validateOnly) adds the
// partitions of one topic.
func (b *Broker) createPartitions(ctx context.Context, rt *kmsg.CreatePartitionsRequestTopic, validateOnly bool) *apiError {
	t, ok := b.store.Topic(rt.Topic)
	if !ok {
		return newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", rt.Topic)
	}
	current := int32(len(t.Partitions))
	switch {
	case rt.Count < current:
		return newAPIError(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.", rt.Topic, current, rt.Count)
	case rt.Count == current:
		return newAPIError(kerr.InvalidPartitions, "Topic already has %d partition(s).", current)
	}
	var assignment [][]int32
	if rt.Assignment != nil {
		if adding := rt.Count - current; int32(len(rt.Assignment)) != adding {
			return newAPIError(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", adding, len(rt.Assignment))
		}
		for _, a := range rt.Assignment {
			assignment = append(assignment, append([]int32(nil), a.Replicas...))
		}
	}
	if err := b.store.CreatePartitions(ctx, rt.Topic, rt.Count, assignment, validateOnly); err != nil {
		return b.storeError(err)
	}
	return nil
}
