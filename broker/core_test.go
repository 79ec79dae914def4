package broker

import (
	"context"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

// serve sends req through the broker's dispatch as the wire layer would
// and decodes the response.
func serve(t testing.TB, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	return serveAs(t, b, "", req)
}

// serveAs is serve with the request header's client ID set.
func serveAs(t testing.TB, b *Broker, clientID string, req kmsg.Request) kmsg.Response {
	t.Helper()
	return serveOn(t, b, &wire.Conn{}, clientID, req)
}

// serveOn is serveAs on a given connection (its principal and address).
func serveOn(t testing.TB, b *Broker, conn *wire.Conn, clientID string, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := b.ServeKafka(context.Background(), conn, &wire.Request{
		APIKey: req.Key(), APIVersion: req.GetVersion(), CorrelationID: 1, KnownKey: true,
		ClientID: clientID, HasClientID: clientID != "", Body: req.AppendTo(nil),
	})
	if err != nil {
		t.Fatalf("serve %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	if resp == nil {
		return nil
	}
	body := flattenParts(t, resp.Complete().Parts)
	if resp.Done != nil {
		resp.Done()
	}
	kresp := req.ResponseKind()
	if err := kresp.ReadFrom(body); err != nil {
		t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return kresp
}

func serveRaw(b *Broker, key, version int16, body []byte) (*wire.Response, error) {
	resp, err := b.ServeKafka(context.Background(), &wire.Conn{}, &wire.Request{
		APIKey: key, APIVersion: version, CorrelationID: 1, KnownKey: true, Body: body,
	})
	return resp.Complete(), err
}

// encodeBatch builds a v2 record batch of the given values with a valid
// CRC.
func encodeBatch(producerID int64, producerEpoch int16, baseSequence int32, timestamp int64, values ...string) []byte {
	var records []byte
	for i, v := range values {
		var rec []byte
		rec = append(rec, 0)                         // attributes
		rec = kbin.AppendVarlong(rec, 0)             // timestamp delta
		rec = kbin.AppendVarint(rec, int32(i))       // offset delta
		rec = kbin.AppendVarint(rec, -1)             // null key
		rec = kbin.AppendVarintBytes(rec, []byte(v)) // value
		rec = kbin.AppendVarint(rec, 0)              // headers
		records = kbin.AppendVarint(records, int32(len(rec)))
		records = append(records, rec...)
	}
	batch := kmsg.RecordBatch{
		FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2,
		LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: timestamp, MaxTimestamp: timestamp,
		ProducerID: producerID, ProducerEpoch: producerEpoch, FirstSequence: baseSequence,
		NumRecords: int32(len(values)), Records: records,
	}
	raw := batch.AppendTo(nil)
	// batch length counts the bytes after the length field.
	copy(raw[8:12], kbin.AppendInt32(nil, int32(len(raw)-12)))
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	copy(raw[17:21], kbin.AppendUint32(nil, crc))
	return raw
}

func createTopicForTest(t testing.TB, b *Broker, name string, partitions int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.CreateTopicsResponse)
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create topic %s: %v", name, kerr.ErrorForCode(code))
	}
}

// ledWithFollower creates topic with one partition that b leads, with
// follower (a broker that does not exist) in its ISR: nothing fetches,
// so the high watermark moves only when the test says the follower did
// (FollowerFetched).
func ledWithFollower(t *testing.T, b *Broker, topic string, follower int32) *replica.Partition {
	t.Helper()
	createTopicForTest(t, b, topic, 1, nil)
	p, err := b.replicas.Lookup(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	self := b.cfg.BrokerID
	b.replicas.ApplyState(p, controller.Partition{Replicas: []int32{self, follower}, ISR: []int32{self, follower}, Leader: self, LeaderEpoch: 1})
	return p
}

func produceForTest(t *testing.T, b *Broker, version int16, acks int16, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	return produceForTestAs(t, b, "", version, acks, topic, partition, records)
}

// produceForTestAs is produceForTest with the request's client ID set
// (adminClientID may write to internal topics).
func produceForTestAs(t *testing.T, b *Broker, clientID string, version int16, acks int16, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = version, acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	if meta, ok := b.replicas.Topic(topic); ok {
		rt.TopicID = meta.ID
	}
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := serveAs(t, b, clientID, req)
	if resp == nil {
		return kmsg.ProduceResponseTopicPartition{}
	}
	return resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// fetchRequest builds a sessionless fetch; v13+ names the topic by the ID
// the broker gave it.
func fetchRequest(b *Broker, version int16, topic string, partition int32, offset int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes, req.SessionEpoch = version, -1, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	if meta, ok := b.replicas.Topic(topic); ok {
		rt.TopicID = meta.ID
	}
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestProduceThenFetchReturnsTheProducersBytes(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "orders", 2, nil)
	first := encodeBatch(-1, -1, -1, 1000, "a", "b", "c")
	second := encodeBatch(-1, -1, -1, 2000, "d")
	if p := produceForTest(t, b, 9, 1, "orders", 1, append([]byte(nil), first...)); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first produce: error %d base %d", p.ErrorCode, p.BaseOffset)
	}
	if p := produceForTest(t, b, 9, -1, "orders", 1, append([]byte(nil), second...)); p.ErrorCode != 0 || p.BaseOffset != 3 {
		t.Fatalf("second produce: error %d base %d", p.ErrorCode, p.BaseOffset)
	}
	for _, version := range []int16{4, 11, 12, 16} {
		resp := serve(t, b, fetchRequest(b, version, "orders", 1, 0)).(*kmsg.FetchResponse)
		part := resp.Topics[0].Partitions[0]
		if part.ErrorCode != 0 || part.HighWatermark != 4 {
			t.Fatalf("v%d fetch: error %d hw %d", version, part.ErrorCode, part.HighWatermark)
		}
		// Stored verbatim: only base offset and leader epoch differ.
		want := append(append([]byte(nil), first...), second...)
		copy(want[len(first):len(first)+8], kbin.AppendInt64(nil, 3))
		copy(want[12:16], kbin.AppendInt32(nil, 0))
		copy(want[len(first)+12:len(first)+16], kbin.AppendInt32(nil, 0))
		if string(part.RecordBatches) != string(want) {
			t.Fatalf("v%d fetch returned\n%x\nwant\n%x", version, part.RecordBatches, want)
		}
	}
}

func TestProduceErrors(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, map[string]string{"max.message.bytes": "200"})
	good := encodeBatch(-1, -1, -1, 1, "x")
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff
	big := encodeBatch(-1, -1, -1, 1, string(make([]byte, 300)))
	cases := []struct {
		name    string
		acks    int16
		topic   string
		part    int32
		records []byte
		want    *kerr.Error
	}{
		{"unknown topic", 1, "nope", 0, good, kerr.UnknownTopicOrPartition},
		{"unknown partition", 1, "t", 7, good, kerr.UnknownTopicOrPartition},
		{"corrupt crc", 1, "t", 0, corrupt, kerr.CorruptMessage},
		{"batch over max.message.bytes", 1, "t", 0, big, kerr.MessageTooLarge},
		{"acks 2", 2, "t", 0, good, kerr.InvalidRequiredAcks},
	}
	for _, tc := range cases {
		p := produceForTest(t, b, 9, tc.acks, tc.topic, tc.part, append([]byte(nil), tc.records...))
		if p.ErrorCode != tc.want.Code {
			t.Errorf("%s: error %v, want %v", tc.name, kerr.ErrorForCode(p.ErrorCode), tc.want)
		}
	}
	// Nothing from the failed requests was written.
	if hw := serve(t, b, fetchRequest(b, 11, "t", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 0 {
		t.Fatalf("high watermark %d after failed produces, want 0", hw)
	}
}

func TestProduceWithAcksZeroGetsNoResponse(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 0
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = encodeBatch(-1, -1, -1, 1, "x")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := serveRaw(b, req.Key(), req.Version, req.AppendTo(nil))
	if err != nil || resp != nil {
		t.Fatalf("acks=0 produce answered %v, %v; want no response", resp, err)
	}
	if hw := serve(t, b, fetchRequest(b, 11, "t", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 1 {
		t.Fatalf("high watermark %d, want 1", hw)
	}
}

func TestFailedAcksZeroProduceClosesTheConnection(t *testing.T) {
	// acks=0 has no response to carry the error: Kafka closes the
	// connection so the producer notices. Nothing is written.
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	corrupt := encodeBatch(-1, -1, -1, 1, "x")
	corrupt[len(corrupt)-1] ^= 0xff
	for name, rp := range map[string]struct {
		topic string
		batch []byte
	}{"bad CRC": {"t", corrupt}, "unknown topic": {"nope", encodeBatch(-1, -1, -1, 1, "x")}} {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = 9, 0
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = rp.topic
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = rp.batch
		rt.Partitions = append(rt.Partitions, p)
		req.Topics = append(req.Topics, rt)
		resp, err := serveRaw(b, req.Key(), req.Version, req.AppendTo(nil))
		if err == nil || resp != nil {
			t.Fatalf("%s: acks=0 produce answered %v, %v; want an error that closes the connection", name, resp, err)
		}
	}
	if hw := serve(t, b, fetchRequest(b, 11, "t", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 0 {
		t.Fatalf("high watermark %d after a refused write, want 0", hw)
	}
}

func TestProduceV13NamesTopicsByID(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	if p := produceForTest(t, b, 13, 1, "t", 0, encodeBatch(-1, -1, -1, 1, "x")); p.ErrorCode != 0 {
		t.Fatalf("v13 produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 13, 1
	rt := kmsg.NewProduceRequestTopic()
	rt.TopicID = [16]byte{0xde, 0xad}
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = encodeBatch(-1, -1, -1, 1, "x")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if code := serve(t, b, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: %v", kerr.ErrorForCode(code))
	}
}

func TestIdempotentDuplicateGetsOriginalOffset(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	init := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4}).(*kmsg.InitProducerIDResponse)
	if init.ErrorCode != 0 || init.ProducerID < 0 {
		t.Fatalf("init producer id: %v id %d", kerr.ErrorForCode(init.ErrorCode), init.ProducerID)
	}
	pid := init.ProducerID
	if p := produceForTest(t, b, 9, -1, "t", 0, encodeBatch(pid, 0, 0, 1, "a", "b")); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first: %v base %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := produceForTest(t, b, 9, -1, "t", 0, encodeBatch(pid, 0, 2, 1, "c")); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("second: %v base %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := produceForTest(t, b, 9, -1, "t", 0, encodeBatch(pid, 0, 0, 1, "a", "b")); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("duplicate: %v base %d, want the original offset 0", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := produceForTest(t, b, 9, -1, "t", 0, encodeBatch(pid, 0, 7, 1, "z")); p.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", kerr.ErrorForCode(p.ErrorCode))
	}
	second := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4}).(*kmsg.InitProducerIDResponse)
	if second.ProducerID == pid {
		t.Fatalf("second InitProducerID reused id %d", pid)
	}
}

func TestApiVersionsAdvertisesRoutesAndFallsBack(t *testing.T) {
	b := newTestBroker(t)
	resp := serve(t, b, &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "test", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions v3: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	ranges := make(map[int16]kmsg.ApiVersionsResponseApiKey)
	for _, k := range resp.ApiKeys {
		ranges[k.ApiKey] = k
	}
	if r := ranges[int16(kmsg.Produce)]; r.MinVersion != 3 {
		t.Fatalf("produce range %+v", r)
	}
	// Every advertised version must be accepted by dispatch.
	for key, r := range ranges {
		for v := r.MinVersion; v <= r.MaxVersion; v++ {
			if kreq := kmsg.RequestForKey(key); kreq == nil || kreq.MaxVersion() < v {
				t.Fatalf("advertised %s v%d that kmsg cannot parse", kmsg.NameForKey(key), v)
			}
		}
	}

	fallback, err := serveRaw(b, int16(kmsg.ApiVersions), 127, nil)
	if err != nil {
		t.Fatal(err)
	}
	v0 := kmsg.NewPtrApiVersionsResponse()
	v0.Version = 0
	if err := v0.ReadFrom(flattenParts(t, fallback.Parts)); err != nil {
		t.Fatalf("fallback is not a v0 response: %v", err)
	}
	if v0.ErrorCode != kerr.UnsupportedVersion.Code || len(v0.ApiKeys) != len(resp.ApiKeys) {
		t.Fatalf("fallback: error %d, %d keys", v0.ErrorCode, len(v0.ApiKeys))
	}
}

func TestUnsupportedKeyOrVersionClosesTheConnection(t *testing.T) {
	// Kafka closes the connection rather than answer in a schema it does
	// not know; only ApiVersions is answered at any version (KIP-511).
	b := newTestBroker(t)
	for _, tc := range []struct{ key, version int16 }{{int16(kmsg.Produce), 2}, {int16(kmsg.Fetch), 3}, {int16(kmsg.Metadata), 99}, {9999, 0}} {
		resp, err := serveRaw(b, tc.key, tc.version, nil)
		if err == nil || !errors.Is(err, errUnsupportedRequest) {
			t.Fatalf("key %d v%d: answered %v, error %v; want errUnsupportedRequest (the connection closes)", tc.key, tc.version, resp, err)
		}
	}
}

func TestFetchWaitsForMinBytesUntilDataArrives(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	req := fetchRequest(b, 11, "t", 0, 0)
	req.MinBytes, req.MaxWaitMillis = 1, 5000
	done := make(chan *kmsg.FetchResponse, 1)
	go func() { done <- serve(t, b, req).(*kmsg.FetchResponse) }()
	select {
	case <-done:
		t.Fatal("fetch with min bytes answered before any data existed")
	case <-time.After(100 * time.Millisecond):
	}
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 1, "x"))
	select {
	case resp := <-done:
		if len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Fatal("woken fetch returned no records")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("fetch not woken by the append")
	}
}

func TestFetchMaxWaitExpiresWithEmptyResponse(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	req := fetchRequest(b, 11, "t", 0, 0)
	req.MinBytes, req.MaxWaitMillis = 1, 150
	start := time.Now()
	resp := serve(t, b, req).(*kmsg.FetchResponse)
	if elapsed := time.Since(start); elapsed < 140*time.Millisecond {
		t.Fatalf("answered after %v, before max wait", elapsed)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
	}
}

func TestFetchFirstBatchIsWholeEvenWhenLargerThanMaxBytes(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 2, nil)
	big := encodeBatch(-1, -1, -1, 1, string(make([]byte, 1000)))
	produceForTest(t, b, 9, 1, "t", 0, append([]byte(nil), big...))
	produceForTest(t, b, 9, 1, "t", 1, append([]byte(nil), big...))
	req := fetchRequest(b, 11, "t", 0, 0)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.PartitionMaxBytes = 1, 100
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
	req.MaxBytes = 100
	req.Topics[0].Partitions[0].PartitionMaxBytes = 100
	resp := serve(t, b, req).(*kmsg.FetchResponse)
	if got := len(resp.Topics[0].Partitions[0].RecordBatches); got != len(big) {
		t.Fatalf("first partition returned %d bytes, want the whole %d-byte batch", got, len(big))
	}
	if got := len(resp.Topics[0].Partitions[1].RecordBatches); got != 0 {
		t.Fatalf("second partition returned %d bytes past max bytes", got)
	}
}

func TestFetchOffsetOutOfRange(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 1, "x"))
	p := serve(t, b, fetchRequest(b, 11, "t", 0, 5)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 0 || p.HighWatermark != 1 {
		t.Fatalf("fetch past the end: error %d lso %d hw %d", p.ErrorCode, p.LogStartOffset, p.HighWatermark)
	}
}

func TestIncrementalFetchSessionSendsOnlyChangedPartitions(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 2, nil)
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 1, "x"))

	full := fetchRequest(b, 12, "t", 0, 0)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.PartitionMaxBytes = 1, 1<<20
	full.Topics[0].Partitions = append(full.Topics[0].Partitions, rp)
	full.SessionID, full.SessionEpoch = 0, 0
	resp := serve(t, b, full).(*kmsg.FetchResponse)
	if resp.SessionID == 0 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("full fetch: session %d, %d partitions", resp.SessionID, len(resp.Topics[0].Partitions))
	}
	session := resp.SessionID

	// Partition 0 moves on to offset 1; nothing changed anywhere.
	inc := kmsg.NewPtrFetchRequest()
	inc.Version, inc.ReplicaID, inc.MaxBytes = 12, -1, 1<<20
	inc.SessionID, inc.SessionEpoch = session, 1
	it := kmsg.NewFetchRequestTopic()
	it.Topic = "t"
	ip := kmsg.NewFetchRequestTopicPartition()
	ip.Partition, ip.FetchOffset, ip.PartitionMaxBytes = 0, 1, 1<<20
	it.Partitions = append(it.Partitions, ip)
	inc.Topics = append(inc.Topics, it)
	resp = serve(t, b, inc).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 0 {
		t.Fatalf("incremental fetch with no news: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}

	// New data on partition 1 only: only it comes back.
	produceForTest(t, b, 9, 1, "t", 1, encodeBatch(-1, -1, -1, 1, "y"))
	inc.SessionEpoch = 2
	inc.Topics = nil
	resp = serve(t, b, inc).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("incremental fetch: %+v", resp.Topics)
	}

	// A stale epoch is refused; an unknown session too.
	resp = serve(t, b, inc).(*kmsg.FetchResponse)
	if resp.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("stale epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	inc.SessionID = session + 1000
	resp = serve(t, b, inc).(*kmsg.FetchResponse)
	if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func TestListOffsetsEarliestLatestAndByTimestamp(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, nil)
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 1000, "a", "b"))
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 5000, "c"))
	produceForTest(t, b, 9, 1, "t", 0, encodeBatch(-1, -1, -1, 3000, "d"))
	for _, tc := range []struct {
		ts         int64
		wantOffset int64
		wantTS     int64
	}{
		{-2, 0, -1}, {-1, 4, -1}, {-3, 2, 5000}, {1000, 0, 1000}, {1001, 2, 5000}, {4000, 2, 5000}, {6000, -1, -1},
	} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version, req.ReplicaID = 7, -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = tc.ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		p := serve(t, b, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.Offset != tc.wantOffset || p.Timestamp != tc.wantTS {
			t.Errorf("timestamp %d: error %d offset %d ts %d, want offset %d ts %d", tc.ts, p.ErrorCode, p.Offset, p.Timestamp, tc.wantOffset, tc.wantTS)
		}
	}
}

func TestMetadataAutoCreatesTopics(t *testing.T) {
	b := newTestBroker(t)
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation = 12, true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("fresh")
	req.Topics = append(req.Topics, rt)
	// As in Kafka, the request that creates the topic is told to retry...
	resp := serve(t, b, req).(*kmsg.MetadataResponse)
	mt := resp.Topics[0]
	if mt.ErrorCode != kerr.LeaderNotAvailable.Code || len(mt.Partitions) != 0 {
		t.Fatalf("creating request: error %v, partitions %+v; want LEADER_NOT_AVAILABLE and none", kerr.ErrorForCode(mt.ErrorCode), mt.Partitions)
	}
	// ...and the next one finds it ready.
	resp = serve(t, b, req).(*kmsg.MetadataResponse)
	mt = resp.Topics[0]
	if mt.ErrorCode != 0 || len(mt.Partitions) != int(b.cfg.NumPartitions) || mt.Partitions[0].Leader != b.cfg.BrokerID {
		t.Fatalf("auto-created topic: error %d, partitions %+v", mt.ErrorCode, mt.Partitions)
	}
	if len(resp.Brokers) != 1 || resp.ClusterID == nil || *resp.ClusterID == "" {
		t.Fatalf("brokers %+v cluster %v", resp.Brokers, resp.ClusterID)
	}

	req.AllowAutoTopicCreation = false
	rt.Topic = kmsg.StringPtr("other")
	req.Topics = []kmsg.MetadataRequestTopic{rt}
	if code := serve(t, b, req).(*kmsg.MetadataResponse).Topics[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("no auto-create: %v", kerr.ErrorForCode(code))
	}
}
