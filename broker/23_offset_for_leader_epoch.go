package broker

// OffsetForLeaderEpoch (KIP-101, KIP-279). For a requested leader
// epoch, the answer is the largest epoch at or below it that this log
// knows, with the offset where the next epoch starts (or the log end
// offset for the latest epoch). An epoch older than everything known gives
// the requested epoch and the start of the oldest known one; a newer one,
// or an empty history, UNDEFINED (-1, -1), with no error, as Kafka's
// LeaderEpochFileCache answers. Only the leader answers. Consumers
// (replica id -1) use it to detect log truncation after an unclean leader
// change; followers use it to truncate before they replicate.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.OffsetForLeaderEpoch, min: 0, max: 4, serve: typed((*Broker).handleOffsetForLeaderEpoch),
		note: "answered from the leader-epoch checkpoint (KIP-101, KIP-279)"})
}

func (b *Broker) handleOffsetForLeaderEpoch(_ context.Context, conn *wire.Conn, req *kmsg.OffsetForLeaderEpochRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	// Kafka: CLUSTER_ACTION on the cluster (a follower) covers every
	// topic; otherwise DESCRIBE on each topic.
	clusterAction := b.authorizedCluster(conn, acl.OpClusterAction)
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		allowed := clusterAction || b.authorizedTopic(conn, acl.OpDescribe, rt.Topic)
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			if !allowed {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, err := b.replicas.LookupLeader(rt.Topic, rp.Partition)
			switch {
			case err != nil:
				sp.ErrorCode = errCode(err)
			case req.Version >= 2 && rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch < p.LeaderEpoch():
				sp.ErrorCode = kerr.FencedLeaderEpoch.Code
			case req.Version >= 2 && rp.CurrentLeaderEpoch > p.LeaderEpoch():
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
			default:
				sp.LeaderEpoch, sp.EndOffset = p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
