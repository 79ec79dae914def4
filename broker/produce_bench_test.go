package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
	"github.com/samsa-io/samsa/wire"
)

// BenchmarkProduceHundredRecordBatch measures the produce path from a
// decoded request frame to the appended batch: one 100-record batch of
// 100-byte values, acks=1, as kgo sends them.
func BenchmarkProduceHundredRecordBatch(b *testing.B) {
	br := newTestBroker(b)
	createTopicForTest(b, br, "bench", 1, nil)
	batch := batchtest.Batch{ProducerID: -1, BaseSequence: -1}
	value := make([]byte, 100)
	for i := range 100 {
		batch.Records = append(batch.Records, batchtest.Record{Value: value, Timestamp: 1_700_000_000_000 + int64(i)})
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "bench"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch.Bytes()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	body := req.AppendTo(nil)
	frame := make([]byte, len(body))
	conn := &wire.Conn{}
	b.SetBytes(int64(len(rp.Records)))
	b.ReportAllocs()
	for b.Loop() {
		copy(frame, body) // the handler rewrites offsets in place
		resp, err := br.ServeKafka(context.Background(), conn, &wire.Request{APIKey: 0, APIVersion: 9, KnownKey: true, Body: frame})
		if err != nil || resp == nil {
			b.Fatal(err)
		}
	}
}
