package broker

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
)

// Every broker of a ZooKeeper cluster learns of a new topic from its own
// watches, a few milliseconds apart. A client that creates a topic and
// writes to it at once asks some broker for the topic's metadata; if that
// broker has not seen it yet, the client hears UNKNOWN_TOPIC_OR_PARTITION
// and waits out its retry backoff (250 ms for kgo and the Java producer)
// before it asks again. So CreateTopics and CreatePartitions answer once
// every live broker's metadata names a leader for each new partition (or
// at the request's timeout, or after propagationWaitMax: the change is
// made either way, and the answer is a success). Kafka's ZooKeeper-era
// controller pushed UpdateMetadata to every broker at once; this is what
// makes the same promise here: a topic is usable when CreateTopics
// answers.

// propagationWaitMax bounds how long an admin request waits for the
// other brokers to serve its change.
const propagationWaitMax = 10 * time.Second

// servedTopic is what a broker must answer for a topic: its ID (not that
// of a deleted topic of the same name) and at least this many partitions.
type servedTopic struct {
	id         controller.TopicID
	partitions int
}

// awaitPeersServe waits until every other live broker answers Metadata
// for each of topics as the store holds it now (its ID, and at least its
// partitions, each with a leader), or timeout passes (zero or less: no
// wait). A broker that cannot be asked (unreachable, or refusing the
// request) is not waited for.
func (b *Broker) awaitPeersServe(ctx context.Context, topics []string, timeout time.Duration) {
	if len(topics) == 0 || timeout <= 0 || b.standalone() {
		return
	}
	want := make(map[string]servedTopic, len(topics))
	for _, name := range topics {
		if t, ok := b.store.Topic(name); ok {
			want[name] = servedTopic{id: t.ID, partitions: len(t.Partitions)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, min(timeout, propagationWaitMax))
	defer cancel()
	var wg sync.WaitGroup
	for _, br := range b.store.Brokers() {
		if br.ID == b.cfg.BrokerID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.awaitPeerServes(ctx, br.ID, want)
		}()
	}
	wg.Wait()
}

// succeeded names the topics an admin response answered without error.
func succeeded[T any](answers []T, topic func(*T) (name string, code int16)) []string {
	var names []string
	for i := range answers {
		if name, code := topic(&answers[i]); code == 0 {
			names = append(names, name)
		}
	}
	return names
}

// awaitPeerServes polls broker id's Metadata until it serves want, 1 ms
// apart at first, doubling up to 50 ms.
func (b *Broker) awaitPeerServes(ctx context.Context, id int32, want map[string]servedTopic) {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.AllowAutoTopicCreation = false // asking must not create it
	for name := range want {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		kresp, err := b.peers.request(ctx, id, req)
		if err != nil {
			return
		}
		if served, ok := servesTopics(kresp.(*kmsg.MetadataResponse), want); served || !ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// servesTopics reports whether a Metadata response names a leader for
// every partition of want, under the topic's ID; ok is false when the
// broker refused to describe a topic (it will not tell, however long one
// waits).
func servesTopics(resp *kmsg.MetadataResponse, want map[string]servedTopic) (served, ok bool) {
	seen := 0
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		w, wanted := want[*t.Topic]
		if !wanted {
			continue
		}
		if t.ErrorCode == kerr.TopicAuthorizationFailed.Code {
			return false, false
		}
		if t.ErrorCode != 0 || t.TopicID != w.id || len(t.Partitions) < w.partitions {
			return false, true
		}
		for _, p := range t.Partitions {
			if p.Leader < 0 {
				return false, true
			}
		}
		seen++
	}
	return seen == len(want), true
}
