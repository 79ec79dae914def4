package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

// A topic is usable when CreateTopics answers: the first acks=all write
// to a new RF 3 topic is acknowledged without waiting for a follower's
// long poll to the leader to run out. The long poll is set to a minute
// here, so a follower that did not cut its poll short for the new
// partition would hold the write far past the bound; every topic is
// tried on a fresh topic, as a test suite creating topics does.
func TestTheFirstWriteToANewTopicWaitsForNoLongPoll(t *testing.T) {
	c := startCluster(t, embedded.Config{Brokers: 3, Overrides: map[string]string{
		"replica.fetch.wait.max.ms": "60000",
		"replica.socket.timeout.ms": "90000",
		"replica.lag.time.max.ms":   "60000",
	}})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for i := range 30 {
		topic := fmt.Sprintf("fresh-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		if _, err := adm.CreateTopic(ctx, 1, 3, nil, topic); err != nil {
			cancel()
			t.Fatalf("create %s: %v", topic, err)
		}
		start := time.Now()
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("first")}).FirstErr()
		cancel()
		if err != nil {
			t.Fatalf("first write to %s: %v", topic, err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("first write to %s acknowledged %v after CreateTopics: it waited for a follower's long poll", topic, took)
		}
	}
}
