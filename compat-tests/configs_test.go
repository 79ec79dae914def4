package compattests

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicConfig describes one config of a topic.
func topicConfig(t *testing.T, adm *kadm.Client, topic, name string) kadm.Config {
	t.Helper()
	described, err := adm.DescribeTopicConfigs(testContext(t, 20*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := described.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %s: %v %v", topic, err, rc.Err)
	}
	c, ok := configByName(rc.Configs)[name]
	if !ok {
		t.Fatalf("describe %s does not list %s", topic, name)
	}
	return c
}

func TestAlterTopicConfigsSetAndDeleteShowInDescribe(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "tuned", 1, nil)
	ctx := testContext(t, 30*time.Second)

	if c := topicConfig(t, adm, "tuned", "retention.ms"); c.MaybeValue() != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("default retention.ms = %q from %v, want 604800000 from DEFAULT_CONFIG", c.MaybeValue(), c.Source)
	}

	alter := func(cs ...kadm.AlterConfig) {
		t.Helper()
		resp, err := adm.AlterTopicConfigs(ctx, cs, "tuned")
		if err != nil {
			t.Fatal(err)
		}
		if r, err := resp.On("tuned", nil); err != nil || r.Err != nil {
			t.Fatalf("AlterTopicConfigs %+v: %v %v (%s)", cs, err, r.Err, r.ErrMessage)
		}
	}
	alter(
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("120000")},
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	)
	if c := topicConfig(t, adm, "tuned", "retention.ms"); c.MaybeValue() != "120000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("after set, retention.ms = %q from %v, want 120000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
	}
	if c := topicConfig(t, adm, "tuned", "cleanup.policy"); c.MaybeValue() != "compact" {
		t.Errorf("after set, cleanup.policy = %q, want compact", c.MaybeValue())
	}

	// Incremental: changing one config leaves the other alone.
	alter(kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"})
	if c := topicConfig(t, adm, "tuned", "retention.ms"); c.MaybeValue() != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("after delete, retention.ms = %q from %v, want 604800000 from DEFAULT_CONFIG", c.MaybeValue(), c.Source)
	}
	if c := topicConfig(t, adm, "tuned", "cleanup.policy"); c.MaybeValue() != "compact" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("deleting retention.ms changed cleanup.policy to %q from %v", c.MaybeValue(), c.Source)
	}
}

func TestAlterBrokerLogRetentionMsIsInheritedByTopics(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	ctx := testContext(t, 30*time.Second)
	createTopic(t, adm, "inherits", 1, nil)
	createTopic(t, adm, "overrides", 1, map[string]string{"retention.ms": "60000"})

	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("ListBrokers = %v, %v", brokers, err)
	}
	node := brokers[0].NodeID
	resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("7200000")},
	}, node)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := resp.On(strconv.Itoa(int(node)), nil); err != nil || r.Err != nil {
		t.Fatalf("AlterBrokerConfigs log.retention.ms: %v %v (%s)", err, r.Err, r.ErrMessage)
	}

	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		described, err := adm.DescribeBrokerConfigs(ctx, node)
		if err != nil {
			return err
		}
		rc, err := described.On(strconv.Itoa(int(node)), nil)
		if err != nil {
			return err
		}
		c := configByName(rc.Configs)["log.retention.ms"]
		if c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
			return errors.New("broker log.retention.ms = " + c.MaybeValue() + " from " + c.Source.String() + ", want 7200000 from DYNAMIC_BROKER_CONFIG")
		}
		return nil
	})
	if c := topicConfig(t, adm, "inherits", "retention.ms"); (c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig) &&
		!kfakeLacks(t, "broker configs inherited by topics") {
		t.Errorf("topic without its own retention.ms shows %q from %v, want the broker's 7200000 from DYNAMIC_BROKER_CONFIG", c.MaybeValue(), c.Source)
	}
	if c := topicConfig(t, adm, "overrides", "retention.ms"); c.MaybeValue() != "60000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("topic with its own retention.ms shows %q from %v, want 60000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
	}

	// Deleting the broker config goes back to the default.
	resp, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "log.retention.ms"}}, node)
	if err != nil || resp[0].Err != nil {
		t.Fatalf("delete broker log.retention.ms: %v %+v", err, resp)
	}
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		described, err := adm.DescribeTopicConfigs(ctx, "inherits")
		if err != nil {
			return err
		}
		rc, _ := described.On("inherits", nil)
		if c := configByName(rc.Configs)["retention.ms"]; c.MaybeValue() != "604800000" {
			return errors.New("retention.ms is " + c.MaybeValue() + " after deleting the broker override, want 604800000")
		}
		return nil
	})
}

func TestInvalidConfigValuesAreRejectedWithInvalidConfig(t *testing.T) {
	skipOnKfake(t, "kfake does not validate config values")
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	ctx := testContext(t, 30*time.Second)
	createTopic(t, adm, "strict", 1, nil)

	for _, c := range []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("not-a-number")},
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("shred")},
		{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("13")}, // below Kafka's minimum of 14
		{Op: kadm.SetConfig, Name: "no.such.config", Value: kadm.StringPtr("1")},
	} {
		resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{c}, "strict")
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := resp.On("strict", nil); !errors.Is(r.Err, kerr.InvalidConfig) {
			t.Errorf("set %s=%s: %v, want INVALID_CONFIG", c.Name, *c.Value, r.Err)
		}
	}
	if c := topicConfig(t, adm, "strict", "retention.ms"); c.MaybeValue() != "604800000" {
		t.Errorf("rejected alterations changed retention.ms to %q", c.MaybeValue())
	}

	// The same values are refused at creation, and the topic is not made.
	_, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, "never")
	if !errors.Is(err, kerr.InvalidConfig) {
		t.Errorf("create with retention.ms=soon: %v, want INVALID_CONFIG", err)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("never") {
		t.Error("a topic refused for its config exists anyway")
	}

	// A broker config with a bad value is refused too.
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("ListBrokers = %v, %v", brokers, err)
	}
	resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("forever")},
	}, brokers[0].NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp) != 1 || !errors.Is(resp[0].Err, kerr.InvalidConfig) && !errors.Is(resp[0].Err, kerr.InvalidRequest) {
		t.Errorf("broker log.retention.ms=forever: %+v, want INVALID_CONFIG", resp)
	}
}
