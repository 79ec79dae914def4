package broker

// DeleteRecords moves a partition's log start offset (its low
// watermark) forward: the records before the offset are no longer
// readable, and segments wholly below it are deleted. Offset -1 means the
// high watermark. An offset above the high watermark, or negative, is
// OFFSET_OUT_OF_RANGE and changes nothing; one at or below the current log
// start offset changes nothing and answers the current low watermark.
//
// As in Kafka, an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION
// first; then the partitions of internal topics (__consumer_offsets,
// __transaction_state: controller.Topic.Internal, derived from the name
// in one place) refuse it on every broker with INVALID_TOPIC_EXCEPTION
// (ReplicaManager: "Cannot delete records of internal topic"), and so do
// topics whose cleanup.policy does not include delete (POLICY_VIOLATION).
// A failed partition answers low watermark -1.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DeleteRecords, min: 0, max: 2, serve: typed((*Broker).handleDeleteRecords),
		note: "moves the log start offset; refused on compact-only and internal topics, as in Kafka"})
}

func (b *Broker) handleDeleteRecords(_ context.Context, conn *wire.Conn, req *kmsg.DeleteRecordsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	mayDelete := b.topicCheck(conn, acl.OpDelete) // Kafka: DELETE on each topic
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			if !mayDelete(rt.Topic) {
				sp.LowWatermark, sp.ErrorCode = -1, kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			lowWatermark, err := b.deleteRecords(rt.Topic, rp.Partition, rp.Offset)
			sp.LowWatermark, sp.ErrorCode = lowWatermark, errCode(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// deleteRecords deletes the records of one partition below offset and
// returns the new low watermark, or -1 with a Kafka error.
func (b *Broker) deleteRecords(topic string, index int32, offset int64) (int64, error) {
	meta, ok := b.replicas.Topic(topic)
	if !ok || index < 0 || int(index) >= len(meta.Partitions) {
		return -1, kerr.UnknownTopicOrPartition
	}
	if meta.Internal {
		return -1, kerr.InvalidTopicException
	}
	p, err := b.replicas.LookupLeader(topic, index)
	if err != nil {
		return -1, err
	}
	if !p.Config().Delete {
		return -1, kerr.PolicyViolation
	}
	if offset == -1 {
		offset = p.HighWatermark()
	}
	if offset < 0 {
		return -1, kerr.OffsetOutOfRange
	}
	lowWatermark, err := p.Log().DeleteRecords(offset)
	if err != nil {
		code := storageError(err)
		if code == kerr.KafkaStorageError {
			b.logger.Error().Err(err).Str("topic", topic).Int32("partition", index).Msg("delete records failed")
		}
		return -1, code
	}
	return lowWatermark, nil
}
