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

// fetchBytes meters the bytes of the Fetch responses a client reads:
// what consumer_byte_rate counts.
type fetchBytes struct{ m *meter }

func (f fetchBytes) OnBrokerRead(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == 1 && err == nil {
		f.m.add(time.Now(), int64(n))
	}
}

// A consumer over its consumer_byte_rate gets empty, throttled fetches
// (Kafka's rule), so over a short run with the two-sample window the
// other specs use it moves a fixed share of its quota: the window's
// minimum span drops from elapsed+1 s to 1 s at the first full sample,
// and it waits a whole second (87.5% over each 2 s, as Kafka's Rate
// gives). With a six-sample window and fetches small against a
// second's quota it reads its quota within 10% over a 30 s run (the
// burst of a new client aside): this spec runs 30 s.
func TestConsumerIsThrottledToItsConsumerByteRate(t *testing.T) {
	const secs = 30
	c := startCluster(t, embedded.Config{Overrides: map[string]string{"quota.window.num": "6", "quota.window.size.seconds": "1"}})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	createTopic(t, adm, "throttled")
	// Enough records that the consumer never runs out.
	producer := newClient(t, c.Seeds(), kgo.DefaultProduceTopic("throttled"),
		kgo.ProducerBatchMaxBytes(5<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := incompressible(4 << 10)
	var records []*kgo.Record
	for range 2 * quotaRate * (secs + 10) / len(value) {
		records = append(records, &kgo.Record{Value: value})
	}
	if err := producer.ProduceSync(testContext(t), records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("slow-consumer"))}, set("consumer_byte_rate", quotaRate))

	hook := &throttleHook{}
	start := time.Now()
	m := &meter{start: start, end: start.Add(secs * time.Second)}
	consumer := newClient(t, c.Seeds(), kgo.ClientID("slow-consumer"), kgo.ConsumeTopics("throttled"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(hook, fetchBytes{m}),
		kgo.FetchMaxBytes(16<<10), kgo.FetchMaxPartitionBytes(16<<10))
	ctx, cancel := context.WithDeadline(context.Background(), m.end)
	defer cancel()
	for ctx.Err() == nil {
		consumer.PollFetches(ctx)
	}
	// At least 90% of the quota over the run, and never more than 110%
	// of what the quota allows: the rate over the run plus the burst of
	// a new client (quota × 5 windows, Kafka's samples-1), which lands
	// in the run or not depending on where its cycles fall.
	m.mu.Lock()
	defer m.mu.Unlock()
	rate, allowed := float64(quotaRate*secs), float64(quotaRate*(secs+5))
	if got := float64(m.bytes); got < 0.9*rate || got > 1.1*allowed {
		t.Errorf("the consumer read %.0f bytes of fetch responses in %ds (%.1f%% of its quota of %d B/s), want at least 90%% of %.0f and at most 110%% of %.0f",
			got, secs, 100*got/rate, quotaRate, rate, allowed)
	}
	if hook.n.Load() == 0 {
		t.Error("the consumer was never told throttle_time_ms")
	}
}
