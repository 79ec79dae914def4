package broker

// ListOffsets. Special timestamps: -2 earliest (log start offset),
// -1 latest (high watermark; last stable offset for read_committed),
// -3 the record with the largest timestamp (v7+, KIP-734), -4 earliest
// local (v8+, KIP-405: without tiered storage, the log start offset), -5
// latest tiered (v9+, KIP-1005: nothing is tiered, so -1). Any other
// timestamp finds the first record whose timestamp is at or after it; none
// gives offset -1 and timestamp -1, as in Kafka. v4+ requests carry the
// client's leader epoch for fencing (KIP-320). A new leader whose high
// watermark has not yet reached the start of its epoch answers a latest
// lookup (and a timestamp lookup it cannot answer below the high
// watermark) with the retriable OFFSET_NOT_AVAILABLE, as Kafka does, so
// the latest offset never appears to go backwards across a leader change.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.ListOffsets, min: 1, max: 10, serve: typed((*Broker).handleListOffsets),
		note: "earliest, latest, by timestamp, max timestamp (KIP-734), earliest-local (-4)"})
}

const (
	listOffsetsLatest        = -1
	listOffsetsEarliest      = -2
	listOffsetsMaxTimestamp  = -3
	listOffsetsEarliestLocal = -4
	listOffsetsLatestTiered  = -5
)

func (b *Broker) handleListOffsets(_ context.Context, conn *wire.Conn, req *kmsg.ListOffsetsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	mayDescribe := b.topicCheck(conn, acl.OpDescribe) // Kafka: DESCRIBE on each topic
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		seen := make(map[int32]int, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			if _, dup := seen[rp.Partition]; dup {
				// Kafka rejects a partition listed twice.
				sp.ErrorCode = kerr.InvalidRequest.Code
				st.Partitions[seen[rp.Partition]].ErrorCode = kerr.InvalidRequest.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			seen[rp.Partition] = len(st.Partitions)
			if mayDescribe(rt.Topic) {
				b.listPartitionOffset(req, rt.Topic, rp, &sp)
			} else {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (b *Broker) listPartitionOffset(req *kmsg.ListOffsetsRequest, topic string, rp *kmsg.ListOffsetsRequestTopicPartition, sp *kmsg.ListOffsetsResponseTopicPartition) {
	p, err := b.replicas.LookupLeader(topic, rp.Partition)
	if err != nil {
		sp.ErrorCode = errCode(err)
		return
	}
	epoch := p.LeaderEpoch()
	if req.Version >= 4 && rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch != epoch {
		if rp.CurrentLeaderEpoch < epoch {
			sp.ErrorCode = kerr.FencedLeaderEpoch.Code
		} else {
			sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
		}
		return
	}
	offsets := p.Log().Offsets()
	// read_committed sees only below the last stable offset.
	hw := p.HighWatermark()
	if req.IsolationLevel == 1 {
		hw = p.Log().LastStableOffset()
	}
	unsettled := p.OffsetsUnsettled()
	switch ts := rp.Timestamp; {
	case ts == listOffsetsLatest:
		if unsettled {
			sp.ErrorCode = kerr.OffsetNotAvailable.Code
			return
		}
		sp.Offset = hw
		sp.LeaderEpoch = epoch
	case ts == listOffsetsEarliest || (ts == listOffsetsEarliestLocal && req.Version >= 8):
		sp.Offset = offsets.LogStartOffset
		sp.LeaderEpoch = epoch
	case ts == listOffsetsMaxTimestamp && req.Version >= 7:
		m, err := p.Log().MaxTimestamp()
		if err != nil {
			b.logger.Error().Err(err).Str("topic", topic).Int32("partition", rp.Partition).Msg("max timestamp lookup")
			sp.ErrorCode = storageError(err).Code
			return
		}
		if m.Offset >= 0 && m.Offset < hw {
			sp.Offset, sp.Timestamp, sp.LeaderEpoch = m.Offset, m.Timestamp, epoch
		} else if unsettled {
			sp.ErrorCode = kerr.OffsetNotAvailable.Code
		}
	case ts == listOffsetsLatestTiered && req.Version >= 9:
		// No tiered storage: no offset has been tiered.
	case ts < 0:
		sp.ErrorCode = kerr.InvalidRequest.Code
	default:
		found, ok, err := p.Log().OffsetForTimestamp(ts)
		if err != nil {
			b.logger.Error().Err(err).Str("topic", topic).Int32("partition", rp.Partition).Msg("timestamp lookup")
			sp.ErrorCode = storageError(err).Code
			return
		}
		if ok && found.Offset < hw {
			sp.Offset, sp.Timestamp, sp.LeaderEpoch = found.Offset, found.Timestamp, epoch
		} else if unsettled {
			sp.ErrorCode = kerr.OffsetNotAvailable.Code
		}
	}
}
