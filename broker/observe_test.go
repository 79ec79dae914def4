package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// countingObserver counts error codes by API and code.
type countingObserver struct{ errors map[[2]int16]int }

func (o *countingObserver) RequestServed(int16, time.Duration) {}
func (o *countingObserver) ResponseError(key, code int16)      { o.errors[[2]int16{key, code}]++ }

// Every partition in error counts once, as Kafka's ErrorsPerSec does,
// at any depth of the response; reading a produce response's codes
// allocates nothing, as it runs on the produce path.
func TestObserveErrorsCountsEachPartitionInErrorWithoutAllocating(t *testing.T) {
	obs := &countingObserver{errors: map[[2]int16]int{}}
	b := &Broker{observer: obs}
	resp := kmsg.NewPtrProduceResponse()
	for _, codes := range [][]int16{{0, kerr.NotLeaderForPartition.Code}, {kerr.NotLeaderForPartition.Code, kerr.MessageTooLarge.Code, 0}} {
		topic := kmsg.NewProduceResponseTopic()
		for _, code := range codes {
			p := kmsg.NewProduceResponseTopicPartition()
			p.ErrorCode = code
			topic.Partitions = append(topic.Partitions, p)
		}
		resp.Topics = append(resp.Topics, topic)
	}
	b.observeErrors(resp)
	produce := int16(kmsg.Produce)
	if got := obs.errors[[2]int16{produce, kerr.NotLeaderForPartition.Code}]; got != 2 {
		t.Errorf("NOT_LEADER_OR_FOLLOWER counted %d times, want 2", got)
	}
	if got := obs.errors[[2]int16{produce, kerr.MessageTooLarge.Code}]; got != 1 {
		t.Errorf("MESSAGE_TOO_LARGE counted %d times, want 1", got)
	}
	if len(obs.errors) != 2 {
		t.Errorf("counted %v, want the two codes only (NONE is not an error)", obs.errors)
	}

	b.observer = noObserver{}
	if allocs := testing.AllocsPerRun(100, func() { b.observeErrors(resp) }); allocs != 0 {
		t.Errorf("%v allocations per produce response observed, want 0", allocs)
	}
}
