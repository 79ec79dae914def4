package groupcoord

// OffsetDelete (KIP-496). Offsets of an Empty group can be deleted
// freely. In a group with members using the consumer protocol, partitions
// of topics the group is subscribed to answer GROUP_SUBSCRIBED_TO_TOPIC
// (when a subscription cannot be parsed, every topic counts as subscribed)
// and the others are deleted; a non-empty group of another protocol type
// answers NON_EMPTY_GROUP. A deleted partition loses its pending
// transactional offsets too (Kafka tombstones a partition that has either).
// Deleting the last offset of an Empty group deletes the group, as Kafka's
// cleanup does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.OffsetDelete, Min: 0, Max: 0, Serve: serveAs((*Coordinator).OffsetDelete),
		Note: "refused for topics a live consumer group subscribes to"})
}

// OffsetDelete serves OffsetDelete.
func (c *Coordinator) OffsetDelete(_ context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	g, err := c.groupFor(req.Group, false, false)
	if err == nil && g == nil {
		err = kerr.GroupIDNotFound
	}
	if err != nil {
		resp.ErrorCode = err.Code
		return resp
	}
	perPartition := make(map[topicPartition]*kerr.Error)
	var requested []topicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := topicPartition{t.Topic, p.Partition}
			if c.cfg.Topics != nil && !c.cfg.Topics.PartitionExists(t.Topic, p.Partition) {
				perPartition[tp] = kerr.UnknownTopicOrPartition
				continue
			}
			requested = append(requested, tp)
		}
	}
	removed, _, err := c.cleanupGroup(g, func() ([]topicPartition, *kerr.Error) {
		var eligible []topicPartition
		switch {
		case g.is(stateDead):
			return nil, kerr.GroupIDNotFound
		case g.is(stateEmpty):
			eligible = requested
		case g.protocolType == consumerProtocolType:
			for _, tp := range requested {
				if g.isSubscribedTo(tp.topic) {
					perPartition[tp] = kerr.GroupSubscribedToTopic
				} else {
					eligible = append(eligible, tp)
				}
			}
		default:
			return nil, kerr.NonEmptyGroup
		}
		var present []topicPartition
		for _, tp := range eligible {
			if _, ok := g.offsets[tp]; ok || g.hasPendingTransactionalOffsets(tp) {
				present = append(present, tp)
			}
		}
		return present, nil
	})
	if err != nil {
		resp.ErrorCode = err.Code
		return resp
	}
	if removed > 0 {
		c.log.Info().Str("group", g.id).Int("offsets", removed).Msg("deleted offsets")
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = errCode(perPartition[topicPartition{t.Topic, p.Partition}])
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
