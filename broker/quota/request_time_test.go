package quota_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
)

func TestClientOverItsRequestPercentageIsToldToWaitAtMostAWindow(t *testing.T) {
	c := startCluster(t, embedded.Config{Overrides: shortWindow})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	createTopic(t, adm, "busy")
	// A millionth of a thread: any request takes it over.
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("busy"))}, set("request_percentage", 0.0001))

	busy := newClient(t, c.Seeds(), kgo.ClientID("busy"))
	var throttle int32
	for range 3 {
		req := kmsg.NewPtrMetadataRequest()
		resp, err := req.RequestWith(testContext(t), busy)
		if err != nil {
			t.Fatal(err)
		}
		throttle = max(throttle, resp.ThrottleMillis)
	}
	if throttle <= 0 || throttle > 1000 {
		t.Errorf("Metadata over request_percentage: throttle_time_ms %d, want above 0 and at most the 1 s window", throttle)
	}
	// Produce counts its serving time too (the client ID's rate is
	// already over from the Metadata requests).
	hook := &throttleHook{}
	producer := newClient(t, c.Seeds(), kgo.ClientID("busy"), kgo.DefaultProduceTopic("busy"), kgo.WithHooks(hook))
	if err := producer.ProduceSync(testContext(t), &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if hook.n.Load() == 0 {
		t.Error("a producer over request_percentage was never told throttle_time_ms")
	}
	// Other clients are not throttled.
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(testContext(t), newClient(t, c.Seeds()))
	if err != nil || resp.ThrottleMillis != 0 {
		t.Errorf("another client: %v, throttle_time_ms %d, want 0", err, resp.ThrottleMillis)
	}
}
