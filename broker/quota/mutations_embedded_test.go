package quota_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-io/samsa/broker/embedded"
)

func createTopicsRequest(version int16, topic string, partitions int32) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = version
	req.TimeoutMillis = 5000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, rt)
	return req
}

func TestControllerMutationRateThrottlesThenRefusesTopicCreation(t *testing.T) {
	c := startCluster(t, embedded.Config{Overrides: shortWindow})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("creator"))}, set("controller_mutation_rate", 5))

	// The bucket holds 5/s × 2 × 1 s = 10 partitions. A request made
	// under the quota may take more, and is throttled for the overdraft.
	// Each request goes on a new client: the throttle mutes the
	// connection that made it.
	creator := func() *kgo.Client { return newClient(t, c.Seeds(), kgo.ClientID("creator")) }
	resp, err := createTopicsRequest(7, "first", 20).RequestWith(testContext(t), creator())
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("first creation: %v", err)
	}
	if resp.ThrottleMillis < 1500 || resp.ThrottleMillis > 2000 {
		t.Errorf("10 partitions over a 5/s quota: throttle_time_ms %d, want about 2000", resp.ThrottleMillis)
	}
	// Over the quota: v6+ is refused, older versions only throttled.
	resp, err = createTopicsRequest(7, "second", 1).RequestWith(testContext(t), creator())
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].ErrorCode; code != kerr.ThrottlingQuotaExceeded.Code {
		t.Errorf("v7 over the quota: %v, want THROTTLING_QUOTA_EXCEEDED", kerr.ErrorForCode(code))
	}
	// kgo sends the newest version both sides know, unless told older.
	old := newClient(t, c.Seeds(), kgo.ClientID("creator"), kgo.MaxVersions(kversion.V2_6_0()))
	resp, err = createTopicsRequest(5, "third", 1).RequestWith(testContext(t), old)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil || resp.ThrottleMillis == 0 {
		t.Errorf("v5 over the quota: %v, throttle_time_ms %d; want created and throttled", err, resp.ThrottleMillis)
	}
	// Another client ID is not limited.
	resp, err = createTopicsRequest(7, "fourth", 50).RequestWith(testContext(t), newClient(t, c.Seeds()))
	if err != nil || resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis != 0 {
		t.Errorf("another client: %v %v throttle %d, want created unthrottled", err, kerr.ErrorForCode(resp.Topics[0].ErrorCode), resp.ThrottleMillis)
	}
}
