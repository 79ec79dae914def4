package broker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
	"github.com/samsa-io/samsa/wire"
)

// Helpers.

func newCreatableTopic(name string, partitions int32, rf int16, configs map[string]string) kmsg.CreateTopicsRequestTopic {
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	return rt
}

func createTopics(t *testing.T, b *Broker, version int16, validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) []kmsg.CreateTopicsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.ValidateOnly, req.Topics = version, validateOnly, topics
	resp := serve(t, b, req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != len(topics) {
		t.Fatalf("CreateTopics answered %d topics for %d", len(resp.Topics), len(topics))
	}
	return resp.Topics
}

// requireTopicAbsent fails unless neither the store, the partition table
// nor the log directories know the topic.
func requireTopicAbsent(t *testing.T, b *Broker, name string) {
	t.Helper()
	if _, ok := b.store.Topic(name); ok {
		t.Fatalf("topic %q exists in the store", name)
	}
	if _, ok := b.replicas.Topic(name); ok {
		t.Fatalf("topic %q is in the partition table", name)
	}
	for _, tp := range b.logs.Existing() {
		if tp.Topic == name {
			t.Fatalf("topic %q has a log directory for partition %d", name, tp.Partition)
		}
	}
}

func requireCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var wantCode int16
	if want != nil {
		wantCode = want.Code
	}
	if got != wantCode {
		t.Fatalf("%s: error %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

func requireMessage(t *testing.T, what string, msg *string, contains string) {
	t.Helper()
	if msg == nil || !strings.Contains(*msg, contains) {
		got := "<nil>"
		if msg != nil {
			got = *msg
		}
		t.Fatalf("%s: error message %q, want it to contain %q", what, got, contains)
	}
}

func describeConfigs(t *testing.T, b *Broker, version int16, typ kmsg.ConfigResourceType, name string, names ...string) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = version
	req.IncludeSynonyms = version >= 1
	req.IncludeDocumentation = version >= 3
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = typ, name, names
	req.Resources = append(req.Resources, res)
	resp := serve(t, b, req).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("DescribeConfigs answered %d resources", len(resp.Resources))
	}
	return resp.Resources[0]
}

// topicConfigs describes a topic's configs by name (latest version).
func topicConfigs(t *testing.T, b *Broker, topic string) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	rr := describeConfigs(t, b, 4, kmsg.ConfigResourceTypeTopic, topic)
	requireCode(t, "describe "+topic, rr.ErrorCode, nil)
	return configsByName(rr.Configs)
}

func configsByName(cs []kmsg.DescribeConfigsResponseResourceConfig) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	m := make(map[string]kmsg.DescribeConfigsResponseResourceConfig, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

func requireConfig(t *testing.T, configs map[string]kmsg.DescribeConfigsResponseResourceConfig, name, value string, source kmsg.ConfigSource) {
	t.Helper()
	c, ok := configs[name]
	if !ok {
		t.Fatalf("%s is not described", name)
	}
	if c.Value == nil || *c.Value != value || c.Source != source {
		got := "<nil>"
		if c.Value != nil {
			got = *c.Value
		}
		t.Fatalf("%s = %q from %v, want %q from %v", name, got, c.Source, value, source)
	}
}

func alterConfigs(t *testing.T, b *Broker, version int16, validateOnly bool, resources ...kmsg.AlterConfigsRequestResource) []kmsg.AlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version, req.ValidateOnly, req.Resources = version, validateOnly, resources
	resp := serve(t, b, req).(*kmsg.AlterConfigsResponse)
	if len(resp.Resources) != len(resources) {
		t.Fatalf("AlterConfigs answered %d resources for %d", len(resp.Resources), len(resources))
	}
	return resp.Resources
}

// alterResource is an AlterConfigs resource with the given key=value
// pairs (in order).
func alterResource(typ kmsg.ConfigResourceType, name string, kv ...string) kmsg.AlterConfigsRequestResource {
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = typ, name
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = kv[i], kmsg.StringPtr(kv[i+1])
		res.Configs = append(res.Configs, c)
	}
	return res
}

func configOp(op kmsg.IncrementalAlterConfigOp, name string, value *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = name, op, value
	return c
}

func incrementalAlter(t *testing.T, b *Broker, version int16, validateOnly bool, typ kmsg.ConfigResourceType, name string, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version, req.ValidateOnly = version, validateOnly
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.Configs = typ, name, ops
	req.Resources = append(req.Resources, res)
	resp := serve(t, b, req).(*kmsg.IncrementalAlterConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("IncrementalAlterConfigs answered %d resources", len(resp.Resources))
	}
	return resp.Resources[0]
}

func deleteRecords(t *testing.T, b *Broker, version int16, topic string, partition int32, offset int64) kmsg.DeleteRecordsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version = version
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.DeleteRecordsResponse)
	return resp.Topics[0].Partitions[0]
}

func earliestOffset(t *testing.T, b *Broker, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = 7, -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = partition, listOffsetsEarliest
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	p := serve(t, b, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	requireCode(t, "list earliest offset", p.ErrorCode, nil)
	return p.Offset
}

// produceValues writes one batch of keyed records (compacted topics refuse
// records without a key); each record's key is "key-" and its value.
func produceValues(t *testing.T, b *Broker, topic string, partition int32, values ...string) {
	t.Helper()
	batch := batchtest.Batch{ProducerID: -1, BaseSequence: -1}
	for _, v := range values {
		batch.Records = append(batch.Records, batchtest.Record{Key: []byte("key-" + v), Value: []byte(v), Timestamp: 1})
	}
	// As Kafka's admin client, which may also write to internal topics.
	if p := produceForTestAs(t, b, adminClientID, 9, -1, topic, partition, batch.Bytes()); p.ErrorCode != 0 {
		t.Fatalf("produce to %s-%d: %v", topic, partition, kerr.ErrorForCode(p.ErrorCode))
	}
}

func metadataTopic(t *testing.T, b *Broker, name string) kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(name)
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.MetadataResponse).Topics[0]
}

// Advertised versions.

func TestAdminAPIsAdvertiseV0UpToTheNewestKmsgVersion(t *testing.T) {
	b := newTestBroker(t)
	resp := serve(t, b, &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "test", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse)
	ranges := make(map[int16]kmsg.ApiVersionsResponseApiKey)
	for _, k := range resp.ApiKeys {
		ranges[k.ApiKey] = k
	}
	for _, key := range []kmsg.Key{
		kmsg.CreateTopics, kmsg.DeleteTopics, kmsg.DeleteRecords, kmsg.DescribeConfigs, kmsg.AlterConfigs,
		kmsg.DescribeLogDirs, kmsg.CreatePartitions, kmsg.IncrementalAlterConfigs, kmsg.DescribeCluster,
	} {
		r, ok := ranges[int16(key)]
		want := kmsg.RequestForKey(int16(key)).MaxVersion()
		if !ok || r.MinVersion != 0 || r.MaxVersion != want {
			t.Errorf("%s advertised %+v (present %v), want v0-v%d", kmsg.NameForKey(int16(key)), r, ok, want)
		}
	}
}

// CreateTopics.

func TestCreateTopicsCreatesAUsableTopicAndAnswersItsIDAndResolvedConfigs(t *testing.T) {
	b := newTestBroker(t)
	st := createTopics(t, b, 7, false, newCreatableTopic("orders", 3, 1, map[string]string{"retention.ms": "3600000"}))[0]
	requireCode(t, "create orders", st.ErrorCode, nil)
	if st.ErrorMessage != nil {
		t.Errorf("success carries error message %q", *st.ErrorMessage)
	}
	if st.NumPartitions != 3 || st.ReplicationFactor != 1 || st.TopicID == [16]byte{} {
		t.Fatalf("answered %d partitions, replication factor %d, id %x", st.NumPartitions, st.ReplicationFactor, st.TopicID)
	}
	configs := make(map[string]kmsg.CreateTopicsResponseTopicConfig)
	for _, c := range st.Configs {
		configs[c.Name] = c
	}
	if c := configs["retention.ms"]; c.Value == nil || *c.Value != "3600000" || c.Source != int8(kmsg.ConfigSourceDynamicTopicConfig) {
		t.Errorf("retention.ms = %+v, want 3600000 from DYNAMIC_TOPIC_CONFIG", c)
	}
	if c := configs["cleanup.policy"]; c.Value == nil || *c.Value != "delete" || c.Source != int8(kmsg.ConfigSourceDefaultConfig) {
		t.Errorf("cleanup.policy = %+v, want the default delete", c)
	}
	if len(st.Configs) != len(config.TopicKeys()) {
		t.Errorf("answered %d configs, want every topic config (%d)", len(st.Configs), len(config.TopicKeys()))
	}

	mt := metadataTopic(t, b, "orders")
	if mt.ErrorCode != 0 || mt.TopicID != st.TopicID || len(mt.Partitions) != 3 {
		t.Fatalf("metadata: error %d id %x partitions %d", mt.ErrorCode, mt.TopicID, len(mt.Partitions))
	}
	// The logs exist as soon as the response is out.
	for p := int32(0); p < 3; p++ {
		produceValues(t, b, "orders", p, "x")
	}
}

func TestCreateTopicsRefusesBadTopicsWithKafkasCodesAndCreatesNothing(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "taken", 1, nil)
	createTopicForTest(t, b, "metric.name", 1, nil)
	assigned := func(name string, partitions int32, rf int16, assignment map[int32][]int32) kmsg.CreateTopicsRequestTopic {
		rt := newCreatableTopic(name, partitions, rf, nil)
		for p, replicas := range assignment {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = p, replicas
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		return rt
	}
	nullConfig := newCreatableTopic("null-config", 1, 1, nil)
	nullConfig.Configs = append(nullConfig.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: "retention.ms"})
	for _, tc := range []struct {
		topic   kmsg.CreateTopicsRequestTopic
		want    *kerr.Error
		message string
	}{
		{newCreatableTopic("taken", 1, 1, nil), kerr.TopicAlreadyExists, "already exists"},
		{newCreatableTopic("", 1, 1, nil), kerr.InvalidTopicException, "empty"},
		{newCreatableTopic("..", 1, 1, nil), kerr.InvalidTopicException, ".."},
		{newCreatableTopic("has space", 1, 1, nil), kerr.InvalidTopicException, "' '"},
		{newCreatableTopic(strings.Repeat("x", 250), 1, 1, nil), kerr.InvalidTopicException, "249"},
		{newCreatableTopic("metric_name", 1, 1, nil), kerr.InvalidTopicException, "collides"},
		{newCreatableTopic("zero-partitions", 0, 1, nil), kerr.InvalidPartitions, "non-positive"},
		{newCreatableTopic("minus-two-partitions", -2, 1, nil), kerr.InvalidPartitions, "non-positive"},
		{newCreatableTopic("zero-replicas", 1, 0, nil), kerr.InvalidReplicationFactor, "larger than 0"},
		{newCreatableTopic("two-replicas", 1, 2, nil), kerr.InvalidReplicationFactor, "available broker"},
		{newCreatableTopic("bad-config", 1, 1, map[string]string{"retention.ms": "soon"}), kerr.InvalidConfig, "Invalid value soon for configuration retention.ms"},
		{newCreatableTopic("unknown-config", 1, 1, map[string]string{"no.such.config": "1"}), kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
		{newCreatableTopic("below-minimum", 1, 1, map[string]string{"segment.bytes": "13"}), kerr.InvalidConfig, "segment.bytes"},
		{nullConfig, kerr.InvalidConfig, "Null value not supported for topic configs: retention.ms"},
		{assigned("assignment-and-count", 1, -1, map[int32][]int32{0: {0}}), kerr.InvalidRequest, "numPartitions was not set to -1"},
		{assigned("assignment-and-rf", -1, 1, map[int32][]int32{0: {0}}), kerr.InvalidRequest, "replication factor was not set to -1"},
		{assigned("gap", -1, -1, map[int32][]int32{0: {0}, 2: {0}}), kerr.InvalidReplicaAssignment, "consecutive"},
		{assigned("unknown-broker", -1, -1, map[int32][]int32{0: {7}}), kerr.InvalidReplicaAssignment, "broker 7"},
		{assigned("twice-on-a-broker", -1, -1, map[int32][]int32{0: {0, 0}}), kerr.InvalidReplicaAssignment, "twice"},
		{assigned("no-replicas", -1, -1, map[int32][]int32{0: {}}), kerr.InvalidReplicaAssignment, "no replicas"},
	} {
		st := createTopics(t, b, 7, false, tc.topic)[0]
		name := shortName(tc.topic.Topic)
		requireCode(t, "create "+name, st.ErrorCode, tc.want)
		requireMessage(t, "create "+name, st.ErrorMessage, tc.message)
		if st.NumPartitions != -1 || st.ReplicationFactor != -1 || len(st.Configs) != 0 {
			t.Errorf("create %s: failure answered %d partitions, rf %d, %d configs", name, st.NumPartitions, st.ReplicationFactor, len(st.Configs))
		}
		if tc.want != kerr.TopicAlreadyExists {
			requireTopicAbsent(t, b, tc.topic.Topic)
		}
	}
	if topics := b.store.Topics(); len(topics) != 2 {
		t.Fatalf("store holds %d topics after the refused creations, want the 2 made first", len(topics))
	}
}

func shortName(s string) string {
	if len(s) > 20 {
		return s[:10] + "..."
	}
	return s
}

func TestCreateTopicsRefusesATopicNamedTwiceInOneRequest(t *testing.T) {
	b := newTestBroker(t)
	topics := createTopics(t, b, 7, false,
		newCreatableTopic("twice", 1, 1, nil), newCreatableTopic("once", 1, 1, nil), newCreatableTopic("twice", 2, 1, nil))
	requireCode(t, "first twice", topics[0].ErrorCode, kerr.InvalidRequest)
	requireCode(t, "once", topics[1].ErrorCode, nil)
	requireCode(t, "second twice", topics[2].ErrorCode, kerr.InvalidRequest)
	requireMessage(t, "twice", topics[0].ErrorMessage, "Duplicate topic name")
	requireTopicAbsent(t, b, "twice")
	if _, ok := b.store.Topic("once"); !ok {
		t.Fatal("the other topic of the request was not created")
	}
}

func TestCreateTopicsValidateOnlyAnswersLikeACreationButCreatesNothing(t *testing.T) {
	b := newTestBroker(t)
	st := createTopics(t, b, 7, true, newCreatableTopic("dry", 4, 1, map[string]string{"cleanup.policy": "compact"}))[0]
	requireCode(t, "validate dry", st.ErrorCode, nil)
	if st.NumPartitions != 4 || st.ReplicationFactor != 1 || len(st.Configs) == 0 {
		t.Fatalf("validate-only answered %d partitions, rf %d, %d configs", st.NumPartitions, st.ReplicationFactor, len(st.Configs))
	}
	requireTopicAbsent(t, b, "dry")

	st = createTopics(t, b, 7, true, newCreatableTopic("dry", 1, 1, map[string]string{"cleanup.policy": "shred"}))[0]
	requireCode(t, "validate bad config", st.ErrorCode, kerr.InvalidConfig)
	requireTopicAbsent(t, b, "dry")
}

func TestCreateTopicsMinusOneTakesBrokerDefaultsFromV4(t *testing.T) {
	b := newTestBrokerWith(t, "num.partitions=3")
	st := createTopics(t, b, 4, false, newCreatableTopic("defaults", -1, -1, nil))[0]
	requireCode(t, "v4 -1/-1", st.ErrorCode, nil)
	meta, ok := b.store.Topic("defaults")
	if !ok || len(meta.Partitions) != 3 || len(meta.Partitions[0].Replicas) != 1 {
		t.Fatalf("created %+v, want num.partitions=3 partitions with default.replication.factor=1", meta)
	}
	st = createTopics(t, b, 7, false, newCreatableTopic("defaults-v7", -1, -1, nil))[0]
	if st.ErrorCode != 0 || st.NumPartitions != 3 || st.ReplicationFactor != 1 {
		t.Fatalf("v7 -1/-1: %v, %d partitions, rf %d", kerr.ErrorForCode(st.ErrorCode), st.NumPartitions, st.ReplicationFactor)
	}

	// Before KIP-464 (v4), -1 is just an invalid count.
	requireCode(t, "v3 -1 partitions", createTopics(t, b, 3, false, newCreatableTopic("old", -1, 1, nil))[0].ErrorCode, kerr.InvalidPartitions)
	requireCode(t, "v3 -1 replicas", createTopics(t, b, 3, false, newCreatableTopic("old", 1, -1, nil))[0].ErrorCode, kerr.InvalidReplicationFactor)
	requireTopicAbsent(t, b, "old")
}

func TestCreateTopicsTakesAnExplicitReplicaAssignment(t *testing.T) {
	b := newTestBroker(t)
	rt := newCreatableTopic("placed", -1, -1, nil)
	for _, p := range []int32{1, 0, 2} { // any order, as long as 0..n-1 are all there
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = p, []int32{b.cfg.BrokerID}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	st := createTopics(t, b, 5, false, rt)[0]
	if st.ErrorCode != 0 || st.NumPartitions != 3 || st.ReplicationFactor != 1 {
		t.Fatalf("explicit assignment: %v, %d partitions, rf %d", kerr.ErrorForCode(st.ErrorCode), st.NumPartitions, st.ReplicationFactor)
	}
	meta, _ := b.store.Topic("placed")
	for _, p := range meta.Partitions {
		if len(p.Replicas) != 1 || p.Replicas[0] != b.cfg.BrokerID || p.Leader != b.cfg.BrokerID {
			t.Fatalf("partition %d: replicas %v leader %d", p.Partition, p.Replicas, p.Leader)
		}
	}
	produceValues(t, b, "placed", 2, "x")
}

func TestCreateTopicsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= 7; v++ {
		name := "v" + string(rune('0'+v))
		st := createTopics(t, b, v, false, newCreatableTopic(name, 2, 1, map[string]string{"retention.ms": "1000"}))[0]
		requireCode(t, "create at "+name, st.ErrorCode, nil)
		meta, ok := b.store.Topic(name)
		if !ok || len(meta.Partitions) != 2 || meta.Configs["retention.ms"] != "1000" {
			t.Fatalf("%s: created %+v", name, meta)
		}
		if v >= 5 && (st.NumPartitions != 2 || len(st.Configs) == 0) {
			t.Errorf("%s: KIP-525 fields missing: %d partitions, %d configs", name, st.NumPartitions, len(st.Configs))
		}
		if v >= 7 && st.TopicID != meta.ID {
			t.Errorf("%s: topic id %x, store has %x", name, st.TopicID, meta.ID)
		}
		// Errors carry a message from v1 on.
		dup := createTopics(t, b, v, false, newCreatableTopic(name, 1, 1, nil))[0]
		requireCode(t, "recreate at "+name, dup.ErrorCode, kerr.TopicAlreadyExists)
		if (dup.ErrorMessage != nil) != (v >= 1) {
			t.Errorf("%s: error message %v", name, dup.ErrorMessage)
		}
	}
}

// DeleteTopics.

func deleteTopicsByName(t *testing.T, b *Broker, version int16, names ...string) []kmsg.DeleteTopicsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = version
	if version < 6 {
		req.TopicNames = names
	} else {
		for _, name := range names {
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp := serve(t, b, req).(*kmsg.DeleteTopicsResponse)
	if len(resp.Topics) != len(names) {
		t.Fatalf("DeleteTopics answered %d topics for %d", len(resp.Topics), len(names))
	}
	return resp.Topics
}

func TestDeleteTopicsRemovesTheTopicAndItsLogsAndTheNameCanBeReused(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "doomed", 2, nil)
	createTopicForTest(t, b, "kept", 1, nil)
	old, _ := b.store.Topic("doomed")
	produceValues(t, b, "doomed", 1, "a", "b")

	st := deleteTopicsByName(t, b, 6, "doomed")[0]
	requireCode(t, "delete doomed", st.ErrorCode, nil)
	if st.Topic == nil || *st.Topic != "doomed" || st.TopicID != old.ID {
		t.Fatalf("answered topic %v id %x, want doomed %x", st.Topic, st.TopicID, old.ID)
	}
	requireTopicAbsent(t, b, "doomed")
	requireCode(t, "metadata of the other topic", metadataTopic(t, b, "kept").ErrorCode, nil)
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("doomed")
	req.Topics = append(req.Topics, rt)
	if code := serve(t, b, req).(*kmsg.MetadataResponse).Topics[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("metadata of deleted topic: %v", kerr.ErrorForCode(code))
	}

	createTopicForTest(t, b, "doomed", 1, nil)
	fresh, _ := b.store.Topic("doomed")
	if fresh.ID == old.ID {
		t.Fatal("re-created topic kept the old topic ID")
	}
	if hw := serve(t, b, fetchRequest(b, 11, "doomed", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 0 {
		t.Fatalf("re-created topic starts at high watermark %d: old records survived", hw)
	}
}

func TestDeleteTopicsAnswersUnknownTopicsAndIDs(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "real", 1, nil)
	st := deleteTopicsByName(t, b, 5, "ghost")[0]
	requireCode(t, "delete ghost", st.ErrorCode, kerr.UnknownTopicOrPartition)
	requireMessage(t, "delete ghost", st.ErrorMessage, "does not host")

	real, _ := b.store.Topic("real")
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 6
	for _, rt := range []kmsg.DeleteTopicsRequestTopic{
		{TopicID: [16]byte{0xde, 0xad}}, // unknown ID
		{},                              // neither name nor ID
		{Topic: kmsg.StringPtr("real"), TopicID: real.ID},              // both
		{Topic: kmsg.StringPtr("dup")}, {Topic: kmsg.StringPtr("dup")}, // a name twice
	} {
		req.Topics = append(req.Topics, rt)
	}
	resp := serve(t, b, req).(*kmsg.DeleteTopicsResponse)
	want := []*kerr.Error{kerr.UnknownTopicID, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest}
	for i, w := range want {
		requireCode(t, "entry "+string(rune('0'+i)), resp.Topics[i].ErrorCode, w)
	}
	if resp.Topics[0].TopicID != [16]byte{0xde, 0xad} {
		t.Errorf("unknown ID answered for ID %x", resp.Topics[0].TopicID)
	}
	if _, ok := b.store.Topic("real"); !ok {
		t.Fatal("an entry naming the topic by name and ID deleted it")
	}
}

func TestDeleteTopicsByIDFromV6(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "by-id", 1, nil)
	meta, _ := b.store.Topic("by-id")
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 6
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.TopicID = meta.ID
	req.Topics = append(req.Topics, rt)
	st := serve(t, b, req).(*kmsg.DeleteTopicsResponse).Topics[0]
	requireCode(t, "delete by id", st.ErrorCode, nil)
	if st.Topic == nil || *st.Topic != "by-id" || st.TopicID != meta.ID {
		t.Fatalf("answered name %v id %x", st.Topic, st.TopicID)
	}
	requireTopicAbsent(t, b, "by-id")
	// Named by ID and by name in one request: refused, not deleted.
	createTopicForTest(t, b, "both-ways", 1, nil)
	meta, _ = b.store.Topic("both-ways")
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: meta.ID}, {Topic: kmsg.StringPtr("both-ways")}}
	resp := serve(t, b, req).(*kmsg.DeleteTopicsResponse)
	requireCode(t, "by id and by name (id)", resp.Topics[0].ErrorCode, kerr.InvalidRequest)
	requireCode(t, "by id and by name (name)", resp.Topics[1].ErrorCode, kerr.InvalidRequest)
	if _, ok := b.store.Topic("both-ways"); !ok {
		t.Fatal("topic named twice was deleted")
	}
}

func TestDeleteTopicsIsRefusedWhenDeleteTopicEnableIsFalse(t *testing.T) {
	b := newTestBrokerWith(t, "delete.topic.enable=false")
	createTopicForTest(t, b, "permanent", 1, nil)
	requireCode(t, "v3", deleteTopicsByName(t, b, 3, "permanent")[0].ErrorCode, kerr.TopicDeletionDisabled)
	requireCode(t, "v6", deleteTopicsByName(t, b, 6, "permanent")[0].ErrorCode, kerr.TopicDeletionDisabled)
	requireCode(t, "v2", deleteTopicsByName(t, b, 2, "permanent")[0].ErrorCode, kerr.InvalidRequest)
	if _, ok := b.store.Topic("permanent"); !ok {
		t.Fatal("topic deleted although delete.topic.enable=false")
	}
}

func TestDeleteTopicsDeletesInternalTopicsAsKafkaDoes(t *testing.T) {
	b := newTestBroker(t)
	if _, err := b.store.CreateTopic(context.Background(), controller.CreateTopicRequest{
		Name: "__consumer_offsets", Partitions: 1, ReplicationFactor: 1, Internal: true,
	}); err != nil {
		t.Fatal(err)
	}
	requireCode(t, "delete __consumer_offsets", deleteTopicsByName(t, b, 6, "__consumer_offsets")[0].ErrorCode, nil)
	requireTopicAbsent(t, b, "__consumer_offsets")
}

func TestDeleteTopicsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= 6; v++ {
		name := "v" + string(rune('0'+v))
		createTopicForTest(t, b, name, 1, nil)
		requireCode(t, "delete at "+name, deleteTopicsByName(t, b, v, name)[0].ErrorCode, nil)
		requireTopicAbsent(t, b, name)
	}
}

// DeleteRecords.

func TestDeleteRecordsMovesTheLowWatermarkUpToTheHighWatermark(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "trim", 2, nil)
	for i := 0; i < 5; i++ {
		produceValues(t, b, "trim", 0, "a", "b")
	}
	produceValues(t, b, "trim", 1, "other")

	p := deleteRecords(t, b, 2, "trim", 0, 3) // inside the second batch
	if p.ErrorCode != 0 || p.LowWatermark != 3 {
		t.Fatalf("delete to 3: %v, low watermark %d", kerr.ErrorForCode(p.ErrorCode), p.LowWatermark)
	}
	if got := earliestOffset(t, b, "trim", 0); got != 3 {
		t.Fatalf("earliest offset %d after deleting to 3", got)
	}
	if got := earliestOffset(t, b, "trim", 1); got != 0 {
		t.Fatalf("untouched partition's earliest offset %d", got)
	}

	// Below the current start: nothing changes, the current start answers.
	if p := deleteRecords(t, b, 2, "trim", 0, 1); p.ErrorCode != 0 || p.LowWatermark != 3 {
		t.Fatalf("delete to 1 after 3: %v, low watermark %d", kerr.ErrorForCode(p.ErrorCode), p.LowWatermark)
	}
	// Beyond the high watermark (10), or negative: OFFSET_OUT_OF_RANGE.
	for _, offset := range []int64{11, -2} {
		p := deleteRecords(t, b, 2, "trim", 0, offset)
		requireCode(t, "delete beyond", p.ErrorCode, kerr.OffsetOutOfRange)
		if p.LowWatermark != -1 {
			t.Fatalf("refused delete answered low watermark %d, want -1", p.LowWatermark)
		}
	}
	if got := earliestOffset(t, b, "trim", 0); got != 3 {
		t.Fatalf("refused deletes moved the earliest offset to %d", got)
	}
	// -1 is the high watermark: everything goes.
	if p := deleteRecords(t, b, 2, "trim", 0, -1); p.ErrorCode != 0 || p.LowWatermark != 10 {
		t.Fatalf("delete to -1: %v, low watermark %d, want 10", kerr.ErrorForCode(p.ErrorCode), p.LowWatermark)
	}
	if got := earliestOffset(t, b, "trim", 0); got != 10 {
		t.Fatalf("earliest offset %d after deleting everything", got)
	}
	produceValues(t, b, "trim", 0, "fresh")
	fp := serve(t, b, fetchRequest(b, 11, "trim", 0, 10)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if fp.ErrorCode != 0 || fp.HighWatermark != 11 || fp.LogStartOffset != 10 || len(fp.RecordBatches) == 0 {
		t.Fatalf("fetch after delete: error %d hw %d lso %d, %d bytes", fp.ErrorCode, fp.HighWatermark, fp.LogStartOffset, len(fp.RecordBatches))
	}
}

func TestDeleteRecordsRefusesUnknownInternalAndCompactedPartitions(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "plain", 1, nil)
	createTopicForTest(t, b, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	createTopicForTest(t, b, "both", 1, map[string]string{"cleanup.policy": "compact,delete"})
	if _, err := b.store.CreateTopic(context.Background(), controller.CreateTopicRequest{
		Name: "__consumer_offsets", Partitions: 1, ReplicationFactor: 1, Internal: true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.replicas.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain", "compacted", "both", "__consumer_offsets"} {
		produceValues(t, b, name, 0, "a", "b")
	}
	for _, tc := range []struct {
		topic     string
		partition int32
		want      *kerr.Error
	}{
		{"ghost", 0, kerr.UnknownTopicOrPartition},
		{"plain", 1, kerr.UnknownTopicOrPartition},
		{"compacted", 0, kerr.PolicyViolation},
		{"__consumer_offsets", 0, kerr.InvalidTopicException},
		{"both", 0, nil},
	} {
		p := deleteRecords(t, b, 1, tc.topic, tc.partition, 1)
		requireCode(t, tc.topic, p.ErrorCode, tc.want)
		if tc.want != nil && p.LowWatermark != -1 {
			t.Errorf("%s: refused delete answered low watermark %d", tc.topic, p.LowWatermark)
		}
	}
	for _, name := range []string{"compacted", "__consumer_offsets"} {
		if got := earliestOffset(t, b, name, 0); got != 0 {
			t.Errorf("%s: refused delete moved the earliest offset to %d", name, got)
		}
	}
}

func TestDeleteRecordsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	produceValues(t, b, "t", 0, "a", "b", "c")
	for v := int16(0); v <= 2; v++ {
		if p := deleteRecords(t, b, v, "t", 0, int64(v)+1); p.ErrorCode != 0 || p.LowWatermark != int64(v)+1 {
			t.Fatalf("v%d: %v, low watermark %d", v, kerr.ErrorForCode(p.ErrorCode), p.LowWatermark)
		}
	}
}

// DescribeConfigs.

func TestDescribeConfigsOfATopicShowsOverridesDefaultsSynonymsAndDocs(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "tuned", 1, map[string]string{"retention.ms": "60000"})
	rr := describeConfigs(t, b, 4, kmsg.ConfigResourceTypeTopic, "tuned")
	requireCode(t, "describe", rr.ErrorCode, nil)
	if rr.ResourceType != kmsg.ConfigResourceTypeTopic || rr.ResourceName != "tuned" || rr.ErrorMessage != nil {
		t.Fatalf("resource %v %q message %v", rr.ResourceType, rr.ResourceName, rr.ErrorMessage)
	}
	configs := configsByName(rr.Configs)
	if len(configs) != len(config.TopicKeys()) {
		t.Fatalf("described %d configs, want every topic config (%d)", len(configs), len(config.TopicKeys()))
	}
	requireConfig(t, configs, "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, configs, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	retention := configs["retention.ms"]
	if retention.ConfigType != kmsg.ConfigTypeLong || retention.Documentation == nil || *retention.Documentation == "" || retention.ReadOnly || retention.IsSensitive {
		t.Errorf("retention.ms type %v doc %v read-only %v sensitive %v", retention.ConfigType, retention.Documentation, retention.ReadOnly, retention.IsSensitive)
	}
	syns := retention.ConfigSynonyms
	if len(syns) != 2 || syns[0].Name != "retention.ms" || syns[0].Source != kmsg.ConfigSourceDynamicTopicConfig ||
		syns[1].Name != "log.retention.hours" || syns[1].Value == nil || *syns[1].Value != "168" || syns[1].Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("retention.ms synonyms %+v, want the topic override then log.retention.hours=168 from DEFAULT_CONFIG", syns)
	}

	// config_names filters; unknown names are left out.
	rr = describeConfigs(t, b, 4, kmsg.ConfigResourceTypeTopic, "tuned", "retention.ms", "segment.bytes", "no.such.config")
	if len(rr.Configs) != 2 || configsByName(rr.Configs)["segment.bytes"].Name == "" {
		t.Fatalf("filtered describe answered %d configs: %+v", len(rr.Configs), rr.Configs)
	}
	// Without include_synonyms and include_documentation, neither comes back.
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = 4
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "tuned"
	req.Resources = append(req.Resources, res)
	plain := configsByName(serve(t, b, req).(*kmsg.DescribeConfigsResponse).Resources[0].Configs)["retention.ms"]
	if len(plain.ConfigSynonyms) != 0 || plain.Documentation != nil {
		t.Errorf("unrequested synonyms %v / documentation %v", plain.ConfigSynonyms, plain.Documentation)
	}
}

func TestDescribeConfigsOfUnknownOrInvalidTopicsAndUnsupportedResources(t *testing.T) {
	b := newTestBroker(t)
	for _, tc := range []struct {
		typ     kmsg.ConfigResourceType
		name    string
		want    *kerr.Error
		message string
	}{
		{kmsg.ConfigResourceTypeTopic, "ghost", kerr.UnknownTopicOrPartition, "does not exist"},
		{kmsg.ConfigResourceTypeTopic, "bad name", kerr.InvalidTopicException, "bad name"},
		{kmsg.ConfigResourceTypeBroker, "7", kerr.InvalidRequest, "Unexpected broker id, expected 0 or empty string, but received 7"},
		{kmsg.ConfigResourceTypeBroker, "zero", kerr.InvalidRequest, "Broker id must be an integer"},
		{kmsg.ConfigResourceTypeBrokerLogger, "0", kerr.InvalidRequest, "BROKER_LOGGER"},
		{kmsg.ConfigResourceTypeClientMetrics, "m", kerr.InvalidRequest, "Unsupported resource type: CLIENT_METRICS"},
	} {
		rr := describeConfigs(t, b, 4, tc.typ, tc.name)
		requireCode(t, tc.typ.String()+" "+tc.name, rr.ErrorCode, tc.want)
		requireMessage(t, tc.typ.String()+" "+tc.name, rr.ErrorMessage, tc.message)
		if len(rr.Configs) != 0 || rr.ResourceName != tc.name || rr.ResourceType != tc.typ {
			t.Errorf("%v %s: %d configs, resource %v %q", tc.typ, tc.name, len(rr.Configs), rr.ResourceType, rr.ResourceName)
		}
	}
}

func TestDescribeConfigsOfTheBrokerAndOfTheClusterDefaults(t *testing.T) {
	b := newTestBrokerWith(t, "num.partitions=4")
	rr := describeConfigs(t, b, 4, kmsg.ConfigResourceTypeBroker, "0")
	requireCode(t, "describe broker 0", rr.ErrorCode, nil)
	configs := configsByName(rr.Configs)
	if len(configs) != len(config.BrokerKeys()) {
		t.Fatalf("described %d broker configs, want %d", len(configs), len(config.BrokerKeys()))
	}
	requireConfig(t, configs, "num.partitions", "4", kmsg.ConfigSourceStaticBrokerConfig)
	requireConfig(t, configs, "log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig)
	if !configs["num.partitions"].ReadOnly || configs["log.retention.ms"].ReadOnly {
		t.Errorf("read-only: num.partitions %v (want true), log.retention.ms %v (want false)",
			configs["num.partitions"].ReadOnly, configs["log.retention.ms"].ReadOnly)
	}

	// The empty name asks for the cluster-wide dynamic defaults only.
	rr = describeConfigs(t, b, 4, kmsg.ConfigResourceTypeBroker, "")
	requireCode(t, "describe cluster defaults", rr.ErrorCode, nil)
	if len(rr.Configs) != 0 {
		t.Fatalf("cluster defaults before any were set: %+v", rr.Configs)
	}
	requireCode(t, "set cluster default", alterConfigs(t, b, 2, false,
		alterResource(kmsg.ConfigResourceTypeBroker, "", "log.retention.ms", "7200000"))[0].ErrorCode, nil)
	rr = describeConfigs(t, b, 4, kmsg.ConfigResourceTypeBroker, "")
	if len(rr.Configs) != 1 {
		t.Fatalf("cluster defaults: %+v", rr.Configs)
	}
	requireConfig(t, configsByName(rr.Configs), "log.retention.ms", "7200000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	requireConfig(t, configsByName(describeConfigs(t, b, 4, kmsg.ConfigResourceTypeBroker, "0").Configs),
		"log.retention.ms", "7200000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
}

func TestDescribeConfigsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, map[string]string{"retention.ms": "60000"})
	for v := int16(0); v <= 4; v++ {
		rr := describeConfigs(t, b, v, kmsg.ConfigResourceTypeTopic, "t")
		requireCode(t, "describe", rr.ErrorCode, nil)
		configs := configsByName(rr.Configs)
		override, def := configs["retention.ms"], configs["cleanup.policy"]
		if override.Value == nil || *override.Value != "60000" {
			t.Fatalf("v%d: retention.ms %v", v, override.Value)
		}
		switch {
		case v == 0:
			// v0 has is_default instead of a source.
			if override.IsDefault || !def.IsDefault {
				t.Errorf("v0: is_default retention.ms %v cleanup.policy %v", override.IsDefault, def.IsDefault)
			}
		default:
			if override.Source != kmsg.ConfigSourceDynamicTopicConfig || def.Source != kmsg.ConfigSourceDefaultConfig || len(override.ConfigSynonyms) == 0 {
				t.Errorf("v%d: sources %v %v, %d synonyms", v, override.Source, def.Source, len(override.ConfigSynonyms))
			}
		}
		if v >= 3 && (override.ConfigType != kmsg.ConfigTypeLong || override.Documentation == nil) {
			t.Errorf("v%d: type %v documentation %v", v, override.ConfigType, override.Documentation)
		}
	}
}

// AlterConfigs.

func TestAlterConfigsReplacesEveryOverrideOfATopic(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "tuned", 1, map[string]string{"retention.ms": "60000", "cleanup.policy": "compact"})
	rr := alterConfigs(t, b, 2, false, alterResource(kmsg.ConfigResourceTypeTopic, "tuned", "segment.bytes", "1048576", "max.message.bytes", "2000"))[0]
	requireCode(t, "alter tuned", rr.ErrorCode, nil)
	if rr.ResourceName != "tuned" || rr.ResourceType != kmsg.ConfigResourceTypeTopic {
		t.Fatalf("answered resource %v %q", rr.ResourceType, rr.ResourceName)
	}
	configs := topicConfigs(t, b, "tuned")
	requireConfig(t, configs, "segment.bytes", "1048576", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, configs, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, configs, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	// The partitions use the new configuration before the response is out.
	p, err := b.replicas.Lookup("tuned", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tc := p.Config(); tc.SegmentBytes != 1048576 || tc.MaxMessageBytes != 2000 || tc.Compact {
		t.Fatalf("partition config after alter: segment.bytes %d max.message.bytes %d compact %v", tc.SegmentBytes, tc.MaxMessageBytes, tc.Compact)
	}
	big := encodeBatch(-1, -1, -1, 1, string(make([]byte, 3000)))
	requireCode(t, "produce over the new max.message.bytes", produceForTest(t, b, 9, 1, "tuned", 0, big).ErrorCode, kerr.MessageTooLarge)
}

func TestAlterConfigsRefusesBadConfigsAndChangesNothing(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "strict", 1, map[string]string{"retention.ms": "60000"})
	dupKeys := alterResource(kmsg.ConfigResourceTypeTopic, "strict", "retention.ms", "1", "retention.ms", "2")
	nullValue := alterResource(kmsg.ConfigResourceTypeTopic, "strict")
	nullValue.Configs = append(nullValue.Configs, kmsg.AlterConfigsRequestResourceConfig{Name: "retention.ms"})
	for _, tc := range []struct {
		res     kmsg.AlterConfigsRequestResource
		want    *kerr.Error
		message string
	}{
		{alterResource(kmsg.ConfigResourceTypeTopic, "strict", "retention.ms", "not-a-number"), kerr.InvalidConfig, "Invalid value not-a-number for configuration retention.ms"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "strict", "cleanup.policy", "shred"), kerr.InvalidConfig, "cleanup.policy"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "strict", "segment.bytes", "13"), kerr.InvalidConfig, "segment.bytes"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "strict", "no.such.config", "1"), kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
		{dupKeys, kerr.InvalidRequest, "duplicate config keys"},
		{nullValue, kerr.InvalidRequest, "Null value not supported for : retention.ms"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "ghost", "retention.ms", "1"), kerr.UnknownTopicOrPartition, "does not exist"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "bad name", "retention.ms", "1"), kerr.InvalidTopicException, "bad name"},
		{alterResource(kmsg.ConfigResourceTypeTopic, "", "retention.ms", "1"), kerr.InvalidRequest, "Default topic resources"},
		{alterResource(kmsg.ConfigResourceTypeBroker, "0", "num.partitions", "3"), kerr.InvalidConfig, "Cannot update these configs dynamically: Set(num.partitions)"},
		{alterResource(kmsg.ConfigResourceTypeBroker, "0", "log.retention.ms", "forever"), kerr.InvalidConfig, "log.retention.ms"},
		{alterResource(kmsg.ConfigResourceTypeBroker, "0", "no.such.config", "1"), kerr.InvalidConfig, "Unknown broker config name: no.such.config"},
		{alterResource(kmsg.ConfigResourceTypeBroker, "3", "log.retention.ms", "1000"), kerr.InvalidRequest, "Unexpected broker id, expected 0, but received 3"},
		{alterResource(kmsg.ConfigResourceTypeBroker, "me", "log.retention.ms", "1000"), kerr.InvalidRequest, "must be an integer"},
		{alterResource(kmsg.ConfigResourceTypeBrokerLogger, "0", "root", "DEBUG"), kerr.InvalidRequest, "resource type 8"},
	} {
		rr := alterConfigs(t, b, 2, false, tc.res)[0]
		what := tc.res.ResourceType.String() + " " + tc.res.ResourceName
		requireCode(t, what, rr.ErrorCode, tc.want)
		requireMessage(t, what, rr.ErrorMessage, tc.message)
	}
	requireConfig(t, topicConfigs(t, b, "strict"), "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	if got := b.store.BrokerConfigs(0); len(got) != 0 {
		t.Fatalf("refused broker alterations stored %v", got)
	}
}

func TestAlterConfigsRefusesEveryCopyOfAResourceNamedTwice(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	createTopicForTest(t, b, "other", 1, nil)
	resources := alterConfigs(t, b, 1, false,
		alterResource(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "1000"),
		alterResource(kmsg.ConfigResourceTypeTopic, "other", "retention.ms", "2000"),
		alterResource(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "3000"))
	requireCode(t, "first t", resources[0].ErrorCode, kerr.InvalidRequest)
	requireCode(t, "other", resources[1].ErrorCode, nil)
	requireCode(t, "second t", resources[2].ErrorCode, kerr.InvalidRequest)
	requireMessage(t, "t", resources[0].ErrorMessage, "at most once")
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, topicConfigs(t, b, "other"), "retention.ms", "2000", kmsg.ConfigSourceDynamicTopicConfig)
}

func TestAlterConfigsValidateOnlyChangesNothing(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, map[string]string{"retention.ms": "60000"})
	resources := alterConfigs(t, b, 0, true,
		alterResource(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "1000"),
		alterResource(kmsg.ConfigResourceTypeBroker, "0", "log.retention.ms", "1000"))
	requireCode(t, "validate topic", resources[0].ErrorCode, nil)
	requireCode(t, "validate broker", resources[1].ErrorCode, nil)
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	if got := b.store.BrokerConfigs(0); len(got) != 0 {
		t.Fatalf("validate-only stored broker configs %v", got)
	}
	requireCode(t, "validate bad value", alterConfigs(t, b, 0, true,
		alterResource(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "soon"))[0].ErrorCode, kerr.InvalidConfig)
}

func TestAlterConfigsOfTheBrokerIsInheritedByTopicsWithoutTheirOwn(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "inherits", 1, nil)
	createTopicForTest(t, b, "overrides", 1, map[string]string{"retention.ms": "60000"})
	requireCode(t, "alter broker 0", alterConfigs(t, b, 2, false,
		alterResource(kmsg.ConfigResourceTypeBroker, "0", "log.retention.ms", "7200000", "message.max.bytes", "5000"))[0].ErrorCode, nil)

	requireConfig(t, configsByName(describeConfigs(t, b, 4, kmsg.ConfigResourceTypeBroker, "0").Configs),
		"log.retention.ms", "7200000", kmsg.ConfigSourceDynamicBrokerConfig)
	requireConfig(t, topicConfigs(t, b, "inherits"), "retention.ms", "7200000", kmsg.ConfigSourceDynamicBrokerConfig)
	requireConfig(t, topicConfigs(t, b, "overrides"), "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	p, _ := b.replicas.Lookup("inherits", 0)
	if tc := p.Config(); tc.RetentionMs != 7200000 || tc.MaxMessageBytes != 5000 {
		t.Fatalf("partition config: retention.ms %d max.message.bytes %d", tc.RetentionMs, tc.MaxMessageBytes)
	}

	// Non-incremental: leaving the key out removes it again.
	requireCode(t, "clear broker 0", alterConfigs(t, b, 2, false, alterResource(kmsg.ConfigResourceTypeBroker, "0"))[0].ErrorCode, nil)
	requireConfig(t, topicConfigs(t, b, "inherits"), "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
}

func TestAlterConfigsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	for v := int16(0); v <= 2; v++ {
		value := string(rune('1'+v)) + "000"
		requireCode(t, "alter", alterConfigs(t, b, v, false, alterResource(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", value))[0].ErrorCode, nil)
		requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", value, kmsg.ConfigSourceDynamicTopicConfig)
	}
}

// IncrementalAlterConfigs.

func TestIncrementalAlterConfigsSetAndDeleteLeaveOtherConfigsAlone(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "tuned", 1, map[string]string{"cleanup.policy": "compact"})
	rr := incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "tuned",
		configOp(kmsg.IncrementalAlterConfigOpSet, "retention.ms", kmsg.StringPtr("120000")))
	requireCode(t, "set", rr.ErrorCode, nil)
	configs := topicConfigs(t, b, "tuned")
	requireConfig(t, configs, "retention.ms", "120000", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, configs, "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)

	rr = incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "tuned",
		configOp(kmsg.IncrementalAlterConfigOpDelete, "retention.ms", nil))
	requireCode(t, "delete", rr.ErrorCode, nil)
	configs = topicConfigs(t, b, "tuned")
	requireConfig(t, configs, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, configs, "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)
	if p, _ := b.replicas.Lookup("tuned", 0); p.Config().RetentionMs != 604800000 || !p.Config().Compact {
		t.Fatalf("partition config: %+v", p.Config())
	}
}

func TestIncrementalAlterConfigsAppendsToAndSubtractsFromListConfigsOnly(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	step := func(op kmsg.IncrementalAlterConfigOp, value, want string) {
		t.Helper()
		rr := incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "t", configOp(op, "cleanup.policy", kmsg.StringPtr(value)))
		requireCode(t, op.String()+" "+value, rr.ErrorCode, nil)
		requireConfig(t, topicConfigs(t, b, "t"), "cleanup.policy", want, kmsg.ConfigSourceDynamicTopicConfig)
	}
	step(kmsg.IncrementalAlterConfigOpAppend, "compact", "delete,compact") // from the inherited delete
	step(kmsg.IncrementalAlterConfigOpAppend, "compact", "delete,compact") // already there
	step(kmsg.IncrementalAlterConfigOpSubtract, "delete", "compact")
	step(kmsg.IncrementalAlterConfigOpSubtract, "delete", "compact") // not there
	step(kmsg.IncrementalAlterConfigOpAppend, "delete", "compact,delete")

	for _, op := range []kmsg.IncrementalAlterConfigOp{kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract} {
		rr := incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "t", configOp(op, "retention.ms", kmsg.StringPtr("1")))
		requireCode(t, op.String()+" retention.ms", rr.ErrorCode, kerr.InvalidConfig)
		requireMessage(t, op.String()+" retention.ms", rr.ErrorMessage, "Can't "+op.String()+" to key retention.ms because its type is not LIST.")
	}
	// Subtracting the last policy leaves an empty list, which is refused.
	rr := incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "t",
		configOp(kmsg.IncrementalAlterConfigOpSubtract, "cleanup.policy", kmsg.StringPtr("compact,delete")))
	requireCode(t, "subtract everything", rr.ErrorCode, kerr.InvalidConfig)
	requireConfig(t, topicConfigs(t, b, "t"), "cleanup.policy", "compact,delete", kmsg.ConfigSourceDynamicTopicConfig)
}

func TestIncrementalAlterConfigsRefusesMalformedRequestsAndChangesNothing(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, map[string]string{"retention.ms": "60000"})
	set := func(name, value string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		return configOp(kmsg.IncrementalAlterConfigOpSet, name, kmsg.StringPtr(value))
	}
	for _, tc := range []struct {
		what    string
		typ     kmsg.ConfigResourceType
		name    string
		ops     []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want    *kerr.Error
		message string
	}{
		{"key twice", kmsg.ConfigResourceTypeTopic, "t",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("retention.ms", "1"), configOp(kmsg.IncrementalAlterConfigOpDelete, "retention.ms", nil)},
			kerr.InvalidRequest, "duplicate config keys"},
		{"null set", kmsg.ConfigResourceTypeTopic, "t",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{configOp(kmsg.IncrementalAlterConfigOpSet, "retention.ms", nil)},
			kerr.InvalidRequest, "Null value not supported for : retention.ms"},
		{"unknown op", kmsg.ConfigResourceTypeTopic, "t",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{configOp(9, "retention.ms", kmsg.StringPtr("1"))},
			kerr.InvalidRequest, "Unknown operations type 9"},
		{"bad value", kmsg.ConfigResourceTypeTopic, "t",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("retention.ms", "soon")},
			kerr.InvalidConfig, "Invalid value soon for configuration retention.ms"},
		{"unknown key", kmsg.ConfigResourceTypeTopic, "t",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("no.such.config", "1")},
			kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
		{"unknown topic", kmsg.ConfigResourceTypeTopic, "ghost",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("retention.ms", "1")},
			kerr.UnknownTopicOrPartition, "does not exist"},
		{"other broker", kmsg.ConfigResourceTypeBroker, "5",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("log.retention.ms", "1")},
			kerr.InvalidRequest, "Unexpected broker id"},
		{"static broker key", kmsg.ConfigResourceTypeBroker, "0",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("log.dirs", "/tmp")},
			kerr.InvalidConfig, "Cannot update these configs dynamically"},
		{"broker logger", kmsg.ConfigResourceTypeBrokerLogger, "0",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("root", "DEBUG")},
			kerr.InvalidRequest, "BROKER_LOGGER"},
		{"group", kmsg.ConfigResourceTypeGroupConfig, "g",
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{set("x", "1")},
			kerr.InvalidRequest, "Unknown resource type 32"},
	} {
		rr := incrementalAlter(t, b, 1, false, tc.typ, tc.name, tc.ops...)
		requireCode(t, tc.what, rr.ErrorCode, tc.want)
		requireMessage(t, tc.what, rr.ErrorMessage, tc.message)
	}
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	if got := b.store.BrokerConfigs(0); len(got) != 0 {
		t.Fatalf("refused broker alterations stored %v", got)
	}

	// A resource named twice is refused in both places.
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version = 1
	for i := 0; i < 2; i++ {
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		res.Configs = append(res.Configs, set("retention.ms", "1"))
		req.Resources = append(req.Resources, res)
	}
	resp := serve(t, b, req).(*kmsg.IncrementalAlterConfigsResponse)
	for i, rr := range resp.Resources {
		requireCode(t, "resource twice", rr.ErrorCode, kerr.InvalidRequest)
		if i > 1 {
			t.Fatal("more resources answered than asked")
		}
	}
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
}

func TestIncrementalAlterConfigsValidateOnlyChangesNothing(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	rr := incrementalAlter(t, b, 0, true, kmsg.ConfigResourceTypeTopic, "t",
		configOp(kmsg.IncrementalAlterConfigOpSet, "retention.ms", kmsg.StringPtr("1000")))
	requireCode(t, "validate", rr.ErrorCode, nil)
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	if meta, _ := b.store.Topic("t"); len(meta.Configs) != 0 {
		t.Fatalf("validate-only stored %v", meta.Configs)
	}
}

func TestIncrementalAlterConfigsOfBrokerAndClusterDefaults(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	requireCode(t, "cluster default", incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeBroker, "",
		configOp(kmsg.IncrementalAlterConfigOpSet, "log.retention.ms", kmsg.StringPtr("3600000"))).ErrorCode, nil)
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "3600000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)

	requireCode(t, "broker 0", incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeBroker, "0",
		configOp(kmsg.IncrementalAlterConfigOpSet, "log.retention.ms", kmsg.StringPtr("7200000")),
		configOp(kmsg.IncrementalAlterConfigOpAppend, "log.cleanup.policy", kmsg.StringPtr("compact"))).ErrorCode, nil)
	configs := topicConfigs(t, b, "t")
	requireConfig(t, configs, "retention.ms", "7200000", kmsg.ConfigSourceDynamicBrokerConfig)
	requireConfig(t, configs, "cleanup.policy", "delete,compact", kmsg.ConfigSourceDynamicBrokerConfig)
	if got := b.store.BrokerConfigs(0); got["log.retention.ms"] != "7200000" || got["log.cleanup.policy"] != "delete,compact" || len(got) != 2 {
		t.Fatalf("broker 0 dynamic configs %v", got)
	}

	requireCode(t, "delete on broker 0", incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeBroker, "0",
		configOp(kmsg.IncrementalAlterConfigOpDelete, "log.retention.ms", nil)).ErrorCode, nil)
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "3600000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	if got := b.store.BrokerConfigs(0); len(got) != 1 {
		t.Fatalf("deleting one broker config left %v", got)
	}
}

// The log cleaner's backoff and buffer are dynamic broker configs in Kafka
// (LogCleaner's reconfigurable configs): a change reaches the cleaner at
// once and DescribeConfigs does not call them read-only.
func TestLogCleanerConfigsAreDynamic(t *testing.T) {
	b := newTestBroker(t)
	requireCode(t, "broker 0", incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeBroker, "0",
		configOp(kmsg.IncrementalAlterConfigOpSet, "log.cleaner.backoff.ms", kmsg.StringPtr("15001")),
		configOp(kmsg.IncrementalAlterConfigOpSet, "log.cleaner.dedupe.buffer.size", kmsg.StringPtr("67108864"))).ErrorCode, nil)
	backoff, maxKeys := b.logs.Cleaner()
	if backoff != 15001*time.Millisecond || maxKeys != 67108864/64 {
		t.Fatalf("cleaner backoff %v, max keys %d; want 15.001s and %d", backoff, maxKeys, 67108864/64)
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = 4
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	rr.ConfigNames = []string{"log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size"}
	req.Resources = append(req.Resources, rr)
	for _, c := range serve(t, b, req).(*kmsg.DescribeConfigsResponse).Resources[0].Configs {
		if c.ReadOnly || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
			t.Errorf("%s: read-only %v, source %v; want dynamic", c.Name, c.ReadOnly, c.Source)
		}
	}
}

// CreatePartitions.

func createPartitions(t *testing.T, b *Broker, version int16, validateOnly bool, topic string, count int32, assignment ...[]int32) kmsg.CreatePartitionsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version, req.ValidateOnly = version, validateOnly
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	for _, replicas := range assignment {
		a := kmsg.NewCreatePartitionsRequestTopicAssignment()
		a.Replicas = replicas
		rt.Assignment = append(rt.Assignment, a)
	}
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.CreatePartitionsResponse).Topics[0]
}

func TestCreatePartitionsAddsPartitionsThatTakeRecordsAtOnce(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "grow", 2, nil)
	produceValues(t, b, "grow", 0, "kept")
	st := createPartitions(t, b, 3, false, "grow", 5)
	requireCode(t, "grow to 5", st.ErrorCode, nil)
	if st.ErrorMessage != nil {
		t.Errorf("success carries message %q", *st.ErrorMessage)
	}
	if mt := metadataTopic(t, b, "grow"); len(mt.Partitions) != 5 {
		t.Fatalf("metadata lists %d partitions", len(mt.Partitions))
	}
	for p := int32(2); p < 5; p++ {
		produceValues(t, b, "grow", p, "new")
	}
	if hw := serve(t, b, fetchRequest(b, 11, "grow", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 1 {
		t.Fatalf("existing partition's high watermark %d after growing", hw)
	}
	// An explicit assignment of the new partitions.
	requireCode(t, "grow to 6 on broker 0", createPartitions(t, b, 3, false, "grow", 6, []int32{0}).ErrorCode, nil)
	produceValues(t, b, "grow", 5, "x")
}

func TestCreatePartitionsRefusesWhatKafkaRefuses(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 3, nil)
	for _, tc := range []struct {
		what       string
		topic      string
		count      int32
		assignment [][]int32
		want       *kerr.Error
		message    string
	}{
		{"same count", "t", 3, nil, kerr.InvalidPartitions, "already has 3"},
		{"fewer", "t", 1, nil, kerr.InvalidPartitions, "would not be an increase"},
		{"unknown topic", "ghost", 4, nil, kerr.UnknownTopicOrPartition, "does not exist"},
		{"too few assignments", "t", 5, [][]int32{{0}}, kerr.InvalidReplicaAssignment, "add 2 additional partition(s), but only 1"},
		{"unknown broker", "t", 4, [][]int32{{9}}, kerr.InvalidReplicaAssignment, "broker 9"},
		{"broker twice", "t", 4, [][]int32{{0, 0}}, kerr.InvalidReplicaAssignment, "twice"},
	} {
		st := createPartitions(t, b, 3, false, tc.topic, tc.count, tc.assignment...)
		requireCode(t, tc.what, st.ErrorCode, tc.want)
		requireMessage(t, tc.what, st.ErrorMessage, tc.message)
	}
	// validate_only checks and changes nothing.
	requireCode(t, "validate grow", createPartitions(t, b, 3, true, "t", 10).ErrorCode, nil)
	requireCode(t, "validate shrink", createPartitions(t, b, 3, true, "t", 2).ErrorCode, kerr.InvalidPartitions)
	// A topic named twice is refused.
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version = 3
	req.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 4}, {Topic: "t", Count: 5}}
	for _, st := range serve(t, b, req).(*kmsg.CreatePartitionsResponse).Topics {
		requireCode(t, "topic twice", st.ErrorCode, kerr.InvalidRequest)
	}
	if meta, _ := b.store.Topic("t"); len(meta.Partitions) != 3 {
		t.Fatalf("refused requests changed the partition count to %d", len(meta.Partitions))
	}
	if _, err := b.replicas.Lookup("t", 3); err == nil {
		t.Fatal("a refused request opened a log for partition 3")
	}
}

func TestCreatePartitionsServesEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	for v := int16(0); v <= 3; v++ {
		requireCode(t, "grow", createPartitions(t, b, v, false, "t", int32(v)+2).ErrorCode, nil)
		if meta, _ := b.store.Topic("t"); len(meta.Partitions) != int(v)+2 {
			t.Fatalf("v%d: %d partitions", v, len(meta.Partitions))
		}
	}
}

// DescribeCluster.

func TestDescribeClusterAnswersTheClusterIDControllerAndBrokers(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.Version = v
		req.IncludeClusterAuthorizedOperations = true
		req.IncludeFencedBrokers = true
		resp := serve(t, b, req).(*kmsg.DescribeClusterResponse)
		requireCode(t, "describe cluster", resp.ErrorCode, nil)
		if resp.ClusterID != b.store.ClusterID() || resp.ClusterID == "" || resp.ControllerID != b.cfg.BrokerID {
			t.Fatalf("v%d: cluster %q controller %d, want %q and %d", v, resp.ClusterID, resp.ControllerID, b.store.ClusterID(), b.cfg.BrokerID)
		}
		if len(resp.Brokers) != 1 {
			t.Fatalf("v%d: brokers %+v", v, resp.Brokers)
		}
		br := resp.Brokers[0]
		if br.NodeID != b.cfg.BrokerID || br.Host != "127.0.0.1" || br.Port != 9092 || br.Rack != nil || br.IsFenced {
			t.Fatalf("v%d: broker %+v", v, br)
		}
		// Without an authorizer Kafka reports every cluster operation:
		// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
		// ALTER_CONFIGS and IDEMPOTENT_WRITE (bits 5, 7-12).
		const everyClusterOperation = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
		if resp.EndpointType != 1 || resp.ClusterAuthorizedOperations != everyClusterOperation {
			t.Fatalf("v%d: endpoint type %d, authorized operations %d", v, resp.EndpointType, resp.ClusterAuthorizedOperations)
		}
	}
}

func TestDescribeClusterRefusesEndpointTypesOtherThanBrokers(t *testing.T) {
	b := newTestBroker(t)
	for _, tc := range []struct {
		endpointType int8
		want         *kerr.Error
	}{{2, kerr.MismatchedEndpointType}, {3, kerr.UnsupportedEndpointType}, {0, kerr.UnsupportedEndpointType}} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.Version, req.EndpointType = 1, tc.endpointType
		resp := serve(t, b, req).(*kmsg.DescribeClusterResponse)
		requireCode(t, "endpoint type", resp.ErrorCode, tc.want)
		if resp.ErrorMessage == nil || len(resp.Brokers) != 0 {
			t.Fatalf("endpoint type %d: message %v, brokers %+v", tc.endpointType, resp.ErrorMessage, resp.Brokers)
		}
	}
}

// DescribeLogDirs.

func describeLogDirs(t *testing.T, b *Broker, version int16, topics []kmsg.DescribeLogDirsRequestTopic) kmsg.DescribeLogDirsResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Version, req.Topics = version, topics
	return *serve(t, b, req).(*kmsg.DescribeLogDirsResponse)
}

func TestDescribeLogDirsListsEveryPartitionWithItsSize(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "a", 2, nil)
	createTopicForTest(t, b, "b", 1, nil)
	produceValues(t, b, "a", 1, "some", "records")
	wantDir, err := filepath.Abs(b.cfg.LogDirs[0])
	if err != nil {
		t.Fatal(err)
	}
	for v := int16(0); v <= 5; v++ {
		resp := describeLogDirs(t, b, v, nil)
		requireCode(t, "describe log dirs", resp.ErrorCode, nil)
		if len(resp.Dirs) != 1 {
			t.Fatalf("v%d: %d dirs", v, len(resp.Dirs))
		}
		d := resp.Dirs[0]
		requireCode(t, "log dir", d.ErrorCode, nil)
		if d.Dir != wantDir {
			t.Fatalf("v%d: dir %q, want %q", v, d.Dir, wantDir)
		}
		sizes := make(map[string]int64)
		for _, dt := range d.Topics {
			for _, dp := range dt.Partitions {
				sizes[dt.Topic+"-"+string(rune('0'+dp.Partition))] = dp.Size
				if dp.OffsetLag != 0 || dp.IsFuture {
					t.Errorf("v%d: %s-%d lag %d future %v", v, dt.Topic, dp.Partition, dp.OffsetLag, dp.IsFuture)
				}
			}
		}
		p, _ := b.replicas.Lookup("a", 1)
		if len(sizes) != 3 || sizes["a-1"] != p.Log().Size() || sizes["a-1"] == 0 || sizes["a-0"] != 0 {
			t.Fatalf("v%d: sizes %v, want a-0, a-1 (%d bytes) and b-0", v, sizes, p.Log().Size())
		}
		if v >= 4 && (d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes) {
			t.Fatalf("v%d: total %d usable %d", v, d.TotalBytes, d.UsableBytes)
		}
		if v < 4 && (d.TotalBytes != -1 || d.UsableBytes != -1) {
			t.Fatalf("v%d carried total/usable bytes %d/%d", v, d.TotalBytes, d.UsableBytes)
		}
	}
}

func TestDescribeLogDirsListsOnlyTheRequestedPartitions(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "a", 3, nil)
	createTopicForTest(t, b, "b", 1, nil)
	resp := describeLogDirs(t, b, 4, []kmsg.DescribeLogDirsRequestTopic{
		{Topic: "a", Partitions: []int32{2, 0, 7}},
		{Topic: "ghost", Partitions: []int32{0}},
	})
	d := resp.Dirs[0]
	if len(d.Topics) != 1 || d.Topics[0].Topic != "a" || len(d.Topics[0].Partitions) != 2 ||
		d.Topics[0].Partitions[0].Partition != 0 || d.Topics[0].Partitions[1].Partition != 2 {
		t.Fatalf("filtered log dirs: %+v", d.Topics)
	}
	// An empty (not null) list asks for nothing, but still lists the dirs.
	resp = describeLogDirs(t, b, 4, []kmsg.DescribeLogDirsRequestTopic{})
	if len(resp.Dirs) != 1 || len(resp.Dirs[0].Topics) != 0 {
		t.Fatalf("empty request: %+v", resp.Dirs)
	}
}

// The four batch APIs share one skeleton (adminBatch); these pin the
// duplicate handling of the two that had no such test.

func TestCreatePartitionsRefusesATopicNamedTwiceInOneRequest(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "twice", 1, nil)
	createTopicForTest(t, b, "once", 1, nil)
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version = 3
	for _, name := range []string{"twice", "once", "twice"} {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, 3
		req.Topics = append(req.Topics, rt)
	}
	topics := serve(t, b, req).(*kmsg.CreatePartitionsResponse).Topics
	if len(topics) != 3 {
		t.Fatalf("CreatePartitions answered %d topics for 3", len(topics))
	}
	requireCode(t, "first twice", topics[0].ErrorCode, kerr.InvalidRequest)
	requireCode(t, "once", topics[1].ErrorCode, nil)
	requireCode(t, "second twice", topics[2].ErrorCode, kerr.InvalidRequest)
	requireMessage(t, "twice", topics[0].ErrorMessage, "Duplicate topic name")
	if tp, _ := b.store.Topic("twice"); len(tp.Partitions) != 1 {
		t.Errorf("topic named twice has %d partitions, want 1 (unchanged)", len(tp.Partitions))
	}
	if tp, _ := b.store.Topic("once"); len(tp.Partitions) != 3 {
		t.Errorf("the other topic of the request has %d partitions, want 3", len(tp.Partitions))
	}
}

func TestIncrementalAlterConfigsRefusesEveryCopyOfAResourceNamedTwice(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	createTopicForTest(t, b, "other", 1, nil)
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version = 1
	for _, r := range []struct{ name, value string }{{"t", "1000"}, {"other", "2000"}, {"t", "3000"}} {
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, r.name
		res.Configs = append(res.Configs, configOp(kmsg.IncrementalAlterConfigOpSet, "retention.ms", kmsg.StringPtr(r.value)))
		req.Resources = append(req.Resources, res)
	}
	resources := serve(t, b, req).(*kmsg.IncrementalAlterConfigsResponse).Resources
	if len(resources) != 3 {
		t.Fatalf("IncrementalAlterConfigs answered %d resources for 3", len(resources))
	}
	requireCode(t, "first t", resources[0].ErrorCode, kerr.InvalidRequest)
	requireCode(t, "other", resources[1].ErrorCode, nil)
	requireCode(t, "second t", resources[2].ErrorCode, kerr.InvalidRequest)
	requireMessage(t, "t", resources[0].ErrorMessage, "at most once")
	requireConfig(t, topicConfigs(t, b, "t"), "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, topicConfigs(t, b, "other"), "retention.ms", "2000", kmsg.ConfigSourceDynamicTopicConfig)
}

func TestAnAdminRequestWhoseClientLeftChangesNothingMore(t *testing.T) {
	// The client of a CreateTopics (or DeleteTopics) of thousands is gone,
	// or the broker stops: the topics not reached are answered
	// REQUEST_TIMED_OUT and not created, so the request neither outlives
	// its client nor holds up a shutdown.
	b := newTestBroker(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	for _, name := range []string{"a", "b", "c"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := b.ServeKafka(gone, &wire.Conn{}, &wire.Request{APIKey: req.Key(), APIVersion: req.Version, KnownKey: true, Body: req.AppendTo(nil)})
	if err != nil {
		t.Fatal(err)
	}
	created := kmsg.NewPtrCreateTopicsResponse()
	created.Version = req.Version
	body := flattenParts(t, resp.Parts)
	if err := created.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	for _, st := range created.Topics {
		requireCode(t, "CreateTopics of "+st.Topic+" after its client left", st.ErrorCode, kerr.RequestTimedOut)
		if _, ok := b.store.Topic(st.Topic); ok {
			t.Errorf("topic %s was created for a client that had left", st.Topic)
		}
	}
}
