package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
)

func listLatest(t *testing.T, b *Broker, topic string) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 7
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

// TestNewLeaderAnswersOffsetNotAvailableUntilItsHighWatermarkSettles: a
// broker that takes over leadership with records its followers have not
// confirmed (its high watermark below the start of its epoch) must not
// answer a latest offset lower than the previous leader's: it answers the
// retriable OFFSET_NOT_AVAILABLE until an in-sync follower catches up.
func TestNewLeaderAnswersOffsetNotAvailableUntilItsHighWatermarkSettles(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "moving", 1, nil)
	p, err := b.replicas.Lookup("moving", 0)
	if err != nil {
		t.Fatal(err)
	}
	self := b.cfg.BrokerID
	const follower = 99
	// As a follower it copied three records from the old leader, whose
	// high watermark it has not learned.
	b.replicas.ApplyState(p, controller.Partition{Replicas: []int32{follower, self}, ISR: []int32{follower, self}, Leader: follower, LeaderEpoch: 1})
	batch := encodeBatch(-1, -1, -1, 1000, "a", "b", "c")
	copy(batch[12:16], []byte{0, 0, 0, 1}) // written under epoch 1
	if _, err := p.Log().AppendAsFollower(batch); err != nil {
		t.Fatal(err)
	}
	p.Log().SetHighWatermark(0)
	// Then it is elected with the other replica still in the ISR.
	b.replicas.ApplyState(p, controller.Partition{Replicas: []int32{follower, self}, ISR: []int32{follower, self}, Leader: self, LeaderEpoch: 2})
	if got := listLatest(t, b, "moving"); got.ErrorCode != kerr.OffsetNotAvailable.Code {
		t.Fatalf("latest offset from a leader whose high watermark (0) lags its epoch start (3): error %d offset %d, want OFFSET_NOT_AVAILABLE", got.ErrorCode, got.Offset)
	}
	// The follower fetches at 3: it has everything, the high watermark
	// reaches the epoch start and the latest offset is known again.
	if err := b.replicas.FollowerFetched(p, follower, 3, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := listLatest(t, b, "moving"); got.ErrorCode != 0 || got.Offset != 3 {
		t.Fatalf("latest offset after the follower caught up: error %d offset %d, want 3", got.ErrorCode, got.Offset)
	}
}
