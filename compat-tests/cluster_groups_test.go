package compattests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupConsumerKeepsConsumingAcrossACoordinatorMove kills the broker
// coordinating a consumer group (the leader of its __consumer_offsets
// partition) while a kgo group member consumes and commits. Coordination
// moves with that partition's leadership: the member finds the new
// coordinator, keeps its committed offsets, and consumes every record,
// those produced before the kill and after.
func TestGroupConsumerKeepsConsumingAcrossACoordinatorMove(t *testing.T) {
	c := startCluster(t, 3)
	const topic, group, partitions = "moving", "movers", 6
	c.createTopic(t, topic, partitions, 3, nil)
	producer := c.client(t, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	produce := func(prefix string, n int) {
		var recs []*kgo.Record
		for i := range n {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "%s-%d", prefix, i), Value: fmt.Appendf(nil, "%s-%d", prefix, i)})
		}
		produceSync(t, producer, recs...)
	}
	produce("before", 600)

	var mu sync.Mutex
	seen := map[string]bool{}
	consumer := c.client(t,
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.AutoCommitInterval(200*time.Millisecond),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := consumer.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				seen[string(r.Value)] = true
				mu.Unlock()
			})
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		if n := count(); n < 600 {
			return fmt.Errorf("consumed %d of the first 600 records", n)
		}
		return nil
	})

	adm := c.admin(t)
	coord := adm.FindGroupCoordinators(testContext(t, 10*time.Second), group)
	old := coord[group].NodeID
	if err := coord[group].Err; err != nil || old <= 0 {
		t.Fatalf("coordinator of %s: %d, %v", group, old, err)
	}
	c.broker(old).Kill()
	t.Logf("killed broker %d, the coordinator of %s", old, group)
	produce("after", 600)
	checkFor(t, 90*time.Second, 200*time.Millisecond, func() error {
		if n := count(); n < 1200 {
			return fmt.Errorf("consumed %d of 1200 records", n)
		}
		return nil
	})
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		resp := c.admin(t).FindGroupCoordinators(testContext(t, 10*time.Second), group)
		if id := resp[group].NodeID; resp[group].Err != nil || id == old {
			return fmt.Errorf("the coordinator is still %d (%v)", id, resp[group].Err)
		}
		return nil
	})
	mu.Lock()
	for _, prefix := range []string{"before", "after"} {
		for i := range 600 {
			if v := fmt.Sprintf("%s-%d", prefix, i); !seen[v] {
				t.Errorf("the group never consumed %s", v)
			}
		}
	}
	mu.Unlock()
	cancel()
	<-done
	c.broker(old).Restart()
}
