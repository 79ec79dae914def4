package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
)

// A partition this broker follows answers Produce and Fetch with
// NOT_LEADER_OR_FOLLOWER and KIP-951's hint naming the leader it follows,
// with that leader's endpoint: the hint comes from the partition table
// that decided this broker does not lead, not from a second source that
// may say otherwise (here the store, which still names this broker).
func TestNotLeaderHintNamesTheLeaderThePartitionFollows(t *testing.T) {
	const leader, epoch = 99, 7
	d := &cutOffDialer{}
	b := newTestBrokerFrom(t, func(o *Options) {
		o.Store = peersStore{Store: o.Store, peers: []controller.Broker{{ID: leader, Host: "peer-99.invalid", Port: 9092}}, controller: -1}
		o.Dial = d.dial
	})
	createTopicForTest(t, b, "orders", 1, nil)
	p, err := b.replicas.Lookup("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	self := b.cfg.BrokerID
	b.replicas.ApplyState(p, controller.Partition{Replicas: []int32{leader, self}, ISR: []int32{leader, self}, Leader: leader, LeaderEpoch: epoch})

	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 10, 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "orders"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = encodeBatch(-1, -1, -1, 1000, "a")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	presp := serve(t, b, req).(*kmsg.ProduceResponse)
	pp := presp.Topics[0].Partitions[0]
	requireCode(t, "produce to a follower", pp.ErrorCode, kerr.NotLeaderForPartition)
	if pp.CurrentLeader.LeaderID != leader || pp.CurrentLeader.LeaderEpoch != epoch {
		t.Fatalf("produce hint: leader %d epoch %d, want %d and %d", pp.CurrentLeader.LeaderID, pp.CurrentLeader.LeaderEpoch, leader, epoch)
	}
	if len(presp.Brokers) != 1 || presp.Brokers[0].NodeID != leader || presp.Brokers[0].Host != "peer-99.invalid" {
		t.Fatalf("produce hint endpoints %+v, want broker %d's", presp.Brokers, leader)
	}

	fresp := serve(t, b, fetchRequest(b, 16, "orders", 0, 0)).(*kmsg.FetchResponse)
	fp := fresp.Topics[0].Partitions[0]
	requireCode(t, "fetch from a follower", fp.ErrorCode, kerr.NotLeaderForPartition)
	if fp.CurrentLeader.LeaderID != leader || fp.CurrentLeader.LeaderEpoch != epoch {
		t.Fatalf("fetch hint: leader %d epoch %d, want %d and %d", fp.CurrentLeader.LeaderID, fp.CurrentLeader.LeaderEpoch, leader, epoch)
	}
	if len(fresp.Brokers) != 1 || fresp.Brokers[0].NodeID != leader {
		t.Fatalf("fetch hint endpoints %+v, want broker %d's", fresp.Brokers, leader)
	}
}
