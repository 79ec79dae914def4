package broker

// WriteTxnMarkers: a transaction coordinator on another broker hands the
// partition leader COMMIT or ABORT markers to write. Each marker is
// appended as a control batch (fenced by producer epoch and coordinator
// epoch in the partition's producer state), answered once replicated to
// the ISR; on a __consumer_offsets partition it then completes the
// transaction's offsets. Partitions this broker does not lead answer
// NOT_LEADER_OR_FOLLOWER and the coordinator retries at the new leader.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.WriteTxnMarkers, min: 0, max: 1, serve: typed((*Broker).handleWriteTxnMarkers),
		note: "control batches appended and replicated; completes transactional offsets"})
}

func (b *Broker) handleWriteTxnMarkers(ctx context.Context, conn *wire.Conn, req *kmsg.WriteTxnMarkersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	// Kafka: CLUSTER_ACTION on the cluster, else every partition fails.
	clusterAction := b.authorizedCluster(conn, acl.OpClusterAction)
	for _, m := range req.Markers {
		var tps []txncoord.TopicPartition
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, txncoord.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
		codes := map[txncoord.TopicPartition]int16{}
		if clusterAction {
			codes = b.writeMarkersHere(ctx, txncoord.Markers{
				ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, CoordinatorEpoch: m.CoordinatorEpoch, Commit: m.Committed, Partitions: tps,
			}, tps)
		} else {
			for _, tp := range tps {
				codes[tp] = kerr.ClusterAuthorizationFailed.Code
			}
		}
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[txncoord.TopicPartition{Topic: t.Topic, Partition: p}]
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp, nil
}
