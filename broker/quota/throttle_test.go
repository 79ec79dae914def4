package quota_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

// The throttling specs hold a client to its quota for four seconds and
// compare what it moved with what Kafka's quota allows in that time. A
// new client is measured over at least quota.window.num - 1 windows, so
// it starts with a burst of that many seconds of its quota, which it
// repays later, as in Kafka: over a run it moves its quota for the run
// plus the burst. Two samples of one second keep the burst to one second
// and let four seconds show the steady rate.
const (
	quotaRate = 256 << 10
	run       = 4 * time.Second
	burst     = quotaRate // quota × (quota.window.num - 1) × quota.window.size.seconds
)

var shortWindow = map[string]string{"quota.window.num": "2", "quota.window.size.seconds": "1"}

// throttleHook records the throttles a client was told.
type throttleHook struct{ n atomic.Int64 }

func (h *throttleHook) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	if d > 0 {
		h.n.Add(1)
	}
}

// meter counts bytes and the window they count in.
type meter struct {
	mu         sync.Mutex
	start, end time.Time
	bytes      int64
}

func (m *meter) add(now time.Time, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !now.Before(m.start) && now.Before(m.end) {
		m.bytes += n
	}
}

// checkMoved checks that what m counted is between low and 110% of what
// the quota allows over the run: the run at the quota, plus the burst.
func checkMoved(t *testing.T, what string, m *meter, low float64) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	allowed := quotaRate*m.end.Sub(m.start).Seconds() + burst
	if got := float64(m.bytes); got < low*allowed || got > 1.1*allowed {
		t.Errorf("%s moved %.0f bytes in %v, want %.0f%% to 110%% of the %.0f its quota of %d B/s allows", what, got, m.end.Sub(m.start), 100*low, allowed, quotaRate)
	}
}

// incompressible returns n random bytes: quotas count the bytes on the
// wire, which compression would make far fewer than the values.
func incompressible(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func createTopic(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	if _, err := adm.CreateTopic(testContext(t), 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

func TestProducerIsThrottledToItsProducerByteRate(t *testing.T) {
	c := startCluster(t, embedded.Config{Overrides: shortWindow})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	createTopic(t, adm, "throttled")
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("slow-producer"))}, set("producer_byte_rate", quotaRate))

	hook := &throttleHook{}
	producer := newClient(t, c.Seeds(), kgo.ClientID("slow-producer"), kgo.DefaultProduceTopic("throttled"),
		kgo.WithHooks(hook), kgo.ProducerBatchMaxBytes(64<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := incompressible(4 << 10)
	start := time.Now()
	m := &meter{start: start, end: start.Add(run)}
	ctx, cancel := context.WithDeadline(context.Background(), m.end)
	defer cancel()
	for ctx.Err() == nil {
		producer.Produce(ctx, &kgo.Record{Value: value}, func(r *kgo.Record, err error) {
			if err == nil {
				m.add(time.Now(), int64(len(r.Value)))
			}
		})
	}
	checkMoved(t, "the producer", m, 0.9)
	if hook.n.Load() == 0 {
		t.Error("the producer was never told throttle_time_ms")
	}
}

func TestConsumerIsThrottledToItsConsumerByteRate(t *testing.T) {
	c := startCluster(t, embedded.Config{Overrides: shortWindow})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	createTopic(t, adm, "throttled")
	// Enough records that the consumer never runs out: its burst and
	// twice what the quota lets it read in the whole test.
	// Small batches, and small fetches below: a fetch over the quota
	// returns nothing (as in Kafka), so a fetch that is a large share of
	// a second's quota would leave much of the quota unused in a test
	// this short.
	producer := newClient(t, c.Seeds(), kgo.DefaultProduceTopic("throttled"),
		kgo.ProducerBatchMaxBytes(5<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := incompressible(4 << 10)
	var records []*kgo.Record
	for range 2 * (burst + quotaRate*int(run/time.Second)) / len(value) {
		records = append(records, &kgo.Record{Value: value})
	}
	if err := producer.ProduceSync(testContext(t), records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("slow-consumer"))}, set("consumer_byte_rate", quotaRate))

	hook := &throttleHook{}
	consumer := newClient(t, c.Seeds(), kgo.ClientID("slow-consumer"), kgo.ConsumeTopics("throttled"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(hook),
		kgo.FetchMaxBytes(64<<10), kgo.FetchMaxPartitionBytes(64<<10))
	start := time.Now()
	m := &meter{start: start, end: start.Add(run)}
	ctx, cancel := context.WithDeadline(context.Background(), m.end)
	defer cancel()
	for ctx.Err() == nil {
		fs := consumer.PollFetches(ctx)
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) { m.add(now, int64(len(r.Value))) })
	}
	// Never over. Under, by up to a fifth in a run this short: a fetch
	// over the quota returns nothing and the consumer asks again after
	// the throttle (Kafka's rule), so each throttled round trip and the
	// partial batch closing each fetch (counted, as Kafka counts the
	// response's bytes, and dropped by the client) cost some of the quota.
	checkMoved(t, "the consumer", m, 0.6)
	if hook.n.Load() == 0 {
		t.Error("the consumer was never told throttle_time_ms")
	}
}
