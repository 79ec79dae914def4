package broker

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
	"github.com/samsa-io/samsa/wire"
)

func TestProduceOutsideTheTimestampLimitsGetsInvalidTimestamp(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "clocked", 1, map[string]string{
		"message.timestamp.before.max.ms": "3600000",
		"message.timestamp.after.max.ms":  "60000",
	})
	now := time.Now().UnixMilli()
	for _, c := range []struct {
		name string
		ts   int64
		want *kerr.Error
	}{
		{"now", now, nil},
		{"two hours ago", now - 2*3600_000, kerr.InvalidTimestamp},
		{"ten minutes ahead", now + 600_000, kerr.InvalidTimestamp},
	} {
		p := produceForTest(t, b, 9, 1, "clocked", 0, encodeBatch(-1, -1, -1, c.ts, "v"))
		requireCode(t, c.name, p.ErrorCode, c.want)
	}
	// With LogAppendTime the producer's clock does not matter.
	createTopicForTest(t, b, "stamped", 1, map[string]string{
		"message.timestamp.type":          "LogAppendTime",
		"message.timestamp.before.max.ms": "1000",
	})
	p := produceForTest(t, b, 9, 1, "stamped", 0, encodeBatch(-1, -1, -1, 5, "old"))
	requireCode(t, "LogAppendTime topic", p.ErrorCode, nil)
	if p.LogAppendTime < now {
		t.Errorf("LogAppendTime answered %d, want the broker's time", p.LogAppendTime)
	}
}

func TestTopicCompressionTypeRecompressesBatches(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "zstd-topic", 1, map[string]string{"compression.type": "zstd"})
	sent := batchtest.Plain(1000, "a", "b", "c")
	sent.Codec = batchtest.Snappy
	if p := produceForTest(t, b, 9, 1, "zstd-topic", 0, sent.Bytes()); p.ErrorCode != 0 {
		t.Fatalf("produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	part := serve(t, b, fetchRequest(b, 12, "zstd-topic", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	h, err := recordbatch.ParseHeader(part.RecordBatches)
	if err != nil {
		t.Fatal(err)
	}
	if h.Compression() != recordbatch.CompressionZstd {
		t.Errorf("stored codec %d, want zstd (%d)", h.Compression(), recordbatch.CompressionZstd)
	}
	var values []string
	recordbatch.Records(part.RecordBatches, func(r recordbatch.Record) bool {
		values = append(values, string(r.Value))
		return true
	})
	if len(values) != 3 || values[0] != "a" || values[2] != "c" {
		t.Errorf("recompressed batch holds %q", values)
	}
}

// Kafka checks a recompressed batch against max.message.bytes again: a
// few KiB of gzip holding 4 MiB of zeros, for a topic that stores
// uncompressed batches, is refused with MESSAGE_TOO_LARGE and not stored.
func TestRecompressedBatchPastMaxMessageBytesGetsMessageTooLarge(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "plain-topic", 1, map[string]string{"compression.type": "uncompressed"})
	p := produceForTest(t, b, 9, 1, "plain-topic", 0, batchtest.Zeros(batchtest.Gzip, 4<<20))
	requireCode(t, "gzip batch expanding past max.message.bytes", p.ErrorCode, kerr.MessageTooLarge)
	part := serve(t, b, fetchRequest(b, 12, "plain-topic", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if part.HighWatermark != 0 || len(part.RecordBatches) != 0 {
		t.Fatalf("the refused batch was stored: high watermark %d, %d bytes", part.HighWatermark, len(part.RecordBatches))
	}
}

// A batch whose records expand past the decompression bound (256 MiB) is
// too large, not corrupt: MESSAGE_TOO_LARGE, which producers do not retry,
// where CORRUPT_MESSAGE would be retried for ever.
func TestDecompressionBombGetsMessageTooLarge(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "t", 1, map[string]string{"max.message.bytes": "10000000"})
	p := produceForTest(t, b, 9, 1, "t", 0, batchtest.Zeros(batchtest.Zstd, recordbatch.MaxDecompressedBytes+1))
	requireCode(t, "zstd batch expanding past 256 MiB", p.ErrorCode, kerr.MessageTooLarge)
}

func TestCompactedTopicRefusesRecordsWithoutAKey(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "table", 1, map[string]string{"cleanup.policy": "compact"})
	p := produceForTest(t, b, 9, 1, "table", 0, encodeBatch(-1, -1, -1, time.Now().UnixMilli(), "no key"))
	requireCode(t, "keyless record", p.ErrorCode, kerr.InvalidRecord)
	keyed := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Records: []batchtest.Record{{Key: []byte("k"), Value: []byte("v"), Timestamp: time.Now().UnixMilli()}}}
	p = produceForTest(t, b, 9, 1, "table", 0, keyed.Bytes())
	requireCode(t, "keyed record", p.ErrorCode, nil)
}

// When the topic keeps the producer's codec (compression.type=producer,
// Kafka's default, or the batch's own codec named), a compressed batch
// is stored as it came: its compressed records and CRC-32C unchanged,
// only the base offset and partition leader epoch (outside the CRC) set
// by the leader, as Kafka's in-place offset assignment does.
func TestCompressedBatchInTheTopicsCodecIsStoredAsSent(t *testing.T) {
	b := newTestBroker(t)
	for _, codec := range []string{"producer", "zstd"} {
		topic := "keeps-" + codec
		createTopicForTest(t, b, topic, 1, map[string]string{"compression.type": codec})
		for i := range 2 {
			sent := batchtest.Plain(1000, "a", "b", "c")
			sent.Codec = batchtest.Zstd
			raw := sent.Bytes()
			if p := produceForTest(t, b, 9, 1, topic, 0, bytes.Clone(raw)); p.ErrorCode != 0 || p.BaseOffset != int64(3*i) {
				t.Fatalf("%s: produce %d: offset %d, %v", topic, i, p.BaseOffset, kerr.ErrorForCode(p.ErrorCode))
			}
		}
		part := serve(t, b, fetchRequest(b, 12, topic, 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
		stored := part.RecordBatches
		for i := range 2 {
			sent := batchtest.Plain(1000, "a", "b", "c")
			sent.Codec = batchtest.Zstd
			want := sent.Bytes()
			if len(stored) < len(want) {
				t.Fatalf("%s: batch %d: %d bytes stored, want %d", topic, i, len(stored), len(want))
			}
			got := stored[:len(want)]
			stored = stored[len(want):]
			h, err := recordbatch.ParseHeader(got)
			if err != nil || h.BaseOffset != int64(3*i) || h.Compression() != recordbatch.CompressionZstd {
				t.Fatalf("%s: batch %d: %+v, %v", topic, i, h, err)
			}
			// Past the base offset (0-8), length (8-12) and leader epoch
			// (12-16), every byte is the producer's.
			if !bytes.Equal(got[16:], want[16:]) || !bytes.Equal(got[8:12], want[8:12]) {
				t.Errorf("%s: batch %d was rewritten: stored % x, sent % x", topic, i, got, want)
			}
		}
		if len(stored) != 0 {
			t.Errorf("%s: %d bytes stored past the two batches", topic, len(stored))
		}
	}
}

// An acks=all produce whose followers have not caught up appends at once
// and leaves its wait to the connection's writer (Response.Finish): the
// records are in the leader's log when the handler returns, so the
// producer's next pipelined request appends behind them meanwhile, and
// the answer comes once the in-sync follower fetched past them, or at
// the request's timeout.
func TestAcksAllProduceAppendsAtOnceAndAnswersOnceReplicated(t *testing.T) {
	b := newTestBroker(t)
	const follower = 99
	p := ledWithFollower(t, b, "replicated", follower)

	first := rawProduce(t, b, 5000, "a", "b")
	second := rawProduce(t, b, 5000, "c")
	if first.Finish == nil || second.Finish == nil {
		t.Fatal("acks=all answered before the follower fetched")
	}
	if leo := p.Log().Offsets().LogEndOffset; leo != 3 {
		t.Fatalf("log end offset %d before the first answer, want 3: both requests appended at once", leo)
	}
	if err := b.replicas.FollowerFetched(p, follower, 3, b.now()); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		resp *wire.Response
		base int64
	}{{first, 0}, {second, 2}} {
		if got := produceAnswer(t, c.resp); got.ErrorCode != 0 || got.BaseOffset != c.base {
			t.Errorf("request %d: error %d, base offset %d; want none and %d", i+1, got.ErrorCode, got.BaseOffset, c.base)
		}
	}

	// Not replicated within the request's timeout: REQUEST_TIMED_OUT,
	// and the records stay in the leader's log, as in Kafka.
	late := produceAnswer(t, rawProduce(t, b, 50, "d"))
	requireCode(t, "not replicated in time", late.ErrorCode, kerr.RequestTimedOut)
	if leo := p.Log().Offsets().LogEndOffset; leo != 4 {
		t.Errorf("log end offset %d after the timed-out write, want 4", leo)
	}
}

// rawProduce sends an acks=all produce of values to partition 0 of
// "replicated" and returns the response unfinished.
func rawProduce(t *testing.T, b *Broker, timeoutMs int32, values ...string) *wire.Response {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, timeoutMs
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "replicated"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = encodeBatch(-1, -1, -1, time.Now().UnixMilli(), values...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := b.ServeKafka(context.Background(), &wire.Conn{}, &wire.Request{
		APIKey: req.Key(), APIVersion: req.Version, CorrelationID: 1, KnownKey: true, Body: req.AppendTo(nil),
	})
	if err != nil || resp == nil {
		t.Fatalf("produce: %v", err)
	}
	return resp
}

// produceAnswer finishes a v9 produce response and decodes its one
// partition.
func produceAnswer(t *testing.T, resp *wire.Response) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	kresp := kmsg.NewPtrProduceResponse()
	kresp.Version = 9
	if err := kresp.ReadFrom(flattenParts(t, resp.Complete().Parts)); err != nil {
		t.Fatal(err)
	}
	return kresp.Topics[0].Partitions[0]
}
