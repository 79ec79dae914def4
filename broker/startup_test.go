package broker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

// A metadata change published while the broker starts, after its first
// pass over the partition table read the store, still reaches it: a
// topic created then is served without waiting for some later change.
// (Brokers restarting together see this: the controller moves leader
// epochs while each one opens its logs.)
func TestAChangeWhileTheBrokerStartsIsApplied(t *testing.T) {
	b := newTestBrokerFrom(t, func(o *Options) {
		o.Store = &changeAfterFirstRead{Store: o.Store}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := b.replicas.Lookup("created-during-start", 0); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("the topic created while the broker started is not served 5 s later: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// changeAfterFirstRead creates a topic right after the first read of the
// store's topics.
type changeAfterFirstRead struct {
	controller.Store
	once sync.Once
}

func (s *changeAfterFirstRead) Topics() []controller.Topic {
	topics := s.Store.Topics()
	s.once.Do(func() {
		if _, err := s.Store.CreateTopic(context.Background(), controller.CreateTopicRequest{
			Name: "created-during-start", Partitions: 1, ReplicationFactor: 1,
		}); err != nil {
			panic(err)
		}
	})
	return topics
}
