package compattests

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// valuesRecords makes one record per value for partition 0 of topic.
func valueRecords(topic string, values ...string) []*kgo.Record {
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Value: []byte(v)}
	}
	return recs
}

func numbered(prefix string, n int) []string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return vs
}

func TestConsumeFromEarliestReadsEveryRecordOfEveryPartition(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.admin(t), "earliest", 4, nil)
	producer := b.client(t, kgo.DefaultProduceTopic("earliest"))
	want := map[string]bool{}
	var recs []*kgo.Record
	for i := range 200 {
		v := fmt.Sprintf("v%d", i)
		want[v] = true
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%17), Value: []byte(v)})
	}
	produceSync(t, producer, recs...)

	// A plain consumer, the way an application would start one.
	consumer := b.client(t, kgo.ConsumeTopics("earliest"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := testContext(t, 30*time.Second)
	lastOffset := map[int32]int64{}
	for len(want) > 0 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d records never arrived", len(want))
		}
		if err := fetches.Err(); err != nil {
			t.Fatal(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if last, ok := lastOffset[r.Partition]; ok && r.Offset != last+1 {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, last)
			} else if !ok && r.Offset != 0 {
				t.Errorf("partition %d: first record at offset %d, want 0", r.Partition, r.Offset)
			}
			lastOffset[r.Partition] = r.Offset
			if !want[string(r.Value)] {
				t.Errorf("unexpected or repeated record %q", r.Value)
			}
			delete(want, string(r.Value))
		})
	}
	// Keyed records of one key land in one partition.
	got := readAll(t, b, "earliest")
	keyPartition := map[string]int32{}
	for p, recs := range got {
		for _, r := range recs {
			if q, ok := keyPartition[string(r.Key)]; ok && q != p {
				t.Errorf("key %s is in partitions %d and %d", r.Key, q, p)
			}
			keyPartition[string(r.Key)] = p
		}
	}
}

func TestConsumeFromLatestSeesOnlyNewRecords(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.admin(t), "latest", 1, nil)
	producer := b.client(t, kgo.DefaultProduceTopic("latest"))
	produceSync(t, producer, valueRecords("latest", numbered("old", 50)...)...)

	consumer := b.client(t, kgo.ConsumeTopics("latest"), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The consumer resolves "latest" asynchronously, so keep producing new
	// records until it has seen a few: every record it sees must be new.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "new-%d", i)}).FirstErr(); err != nil && ctx.Err() == nil {
				t.Errorf("produce new record: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	var seen []*kgo.Record
	for len(seen) < 5 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumer from latest saw %d new records in 30s", len(seen))
		}
		if err := fetches.Err(); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, fetches.Records()...)
	}
	for i, r := range seen {
		if !strings.HasPrefix(string(r.Value), "new-") || r.Offset < 50 {
			t.Fatalf("consumer from latest got %q at offset %d; only records produced after it started are new", r.Value, r.Offset)
		}
		if i > 0 && r.Offset != seen[i-1].Offset+1 {
			t.Fatalf("offset %d follows %d", r.Offset, seen[i-1].Offset)
		}
	}
}

func TestConsumeFromTimestampStartsAtFirstRecordAtOrAfterIt(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "by-time", 1, nil)
	producer := b.client(t, kgo.DefaultProduceTopic("by-time"))
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	// Ten records one second apart, sent one per batch and then ten in one
	// batch, so lookups land both on batch boundaries and inside a batch.
	var recs []*kgo.Record
	for i := range 20 {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "t%d", i), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	for _, r := range recs[:10] {
		produceSync(t, producer, r)
	}
	produceSync(t, producer, recs[10:]...)

	ctx := testContext(t, 30*time.Second)
	for _, c := range []struct {
		afterMilli int64
		wantOffset int64
	}{
		{base.UnixMilli() - 1, 0},
		{base.UnixMilli(), 0},
		{base.UnixMilli() + 4500, 5}, // between two single-record batches
		{base.UnixMilli() + 5000, 5}, // exactly a record's timestamp
		{base.UnixMilli() + 13200, 14},
		{base.UnixMilli() + 19000, 19},
	} {
		listed, err := adm.ListOffsetsAfterMilli(ctx, c.afterMilli, "by-time")
		if err != nil {
			t.Fatal(err)
		}
		o, ok := listed.Lookup("by-time", 0)
		if !ok || o.Err != nil || o.Offset != c.wantOffset {
			t.Errorf("ListOffsetsAfterMilli(base%+d ms) = %+v, want offset %d", c.afterMilli-base.UnixMilli(), o, c.wantOffset)
		}

		consumer := b.client(t, kgo.ConsumeTopics("by-time"), kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(c.afterMilli)))
		fetches := consumer.PollFetches(ctx)
		if err := fetches.Err(); err != nil {
			t.Fatal(err)
		}
		first := fetches.Records()
		if len(first) == 0 || first[0].Offset != c.wantOffset || string(first[0].Value) != fmt.Sprintf("t%d", c.wantOffset) {
			t.Errorf("consumer reset AfterMilli(base%+d ms) started at %v, want offset %d", c.afterMilli-base.UnixMilli(), describeFirst(first), c.wantOffset)
		}
		consumer.Close()
	}

	// After the last timestamp there is no such record: Kafka answers
	// offset -1 (kadm) and the end offset is where a consumer would start.
	listed, err := adm.ListOffsetsAfterMilli(ctx, base.UnixMilli()+60000, "by-time")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := listed.Lookup("by-time", 0); o.Err != nil || (o.Offset != -1 && o.Offset != 20) {
		t.Errorf("ListOffsetsAfterMilli past the newest record = %+v, want -1 (or the end offset 20)", o)
	}
}

func TestListOffsetsEarliestLatestAndMaxTimestamp(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "offsets", 2, nil)
	ctx := testContext(t, 30*time.Second)

	// An empty partition: earliest = latest = 0, no max timestamp.
	starts, err := adm.ListStartOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		s, _ := starts.Lookup("offsets", p)
		e, _ := ends.Lookup("offsets", p)
		if s.Err != nil || e.Err != nil || s.Offset != 0 || e.Offset != 0 {
			t.Errorf("empty partition %d: earliest %+v latest %+v, want 0 and 0", p, s, e)
		}
	}

	producer := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	// Partition 0: seven single-record batches; the newest timestamp is on
	// offset 3, not the last one.
	for i, sec := range []int{1, 2, 3, 50, 4, 5, 6} {
		produceSync(t, producer, &kgo.Record{Topic: "offsets", Partition: 0, Value: fmt.Appendf(nil, "r%d", i), Timestamp: base.Add(time.Duration(sec) * time.Second)})
	}

	starts, _ = adm.ListStartOffsets(ctx, "offsets")
	ends, _ = adm.ListEndOffsets(ctx, "offsets")
	if s, _ := starts.Lookup("offsets", 0); s.Offset != 0 {
		t.Errorf("earliest of partition 0 = %+v, want 0", s)
	}
	if e, _ := ends.Lookup("offsets", 0); e.Offset != 7 {
		t.Errorf("latest of partition 0 = %+v, want 7", e)
	}
	if e, _ := ends.Lookup("offsets", 1); e.Offset != 0 {
		t.Errorf("latest of untouched partition 1 = %+v, want 0", e)
	}

	// Max timestamp (KIP-734, ListOffsets v7+, timestamp -3).
	maxTs, err := adm.ListMaxTimestampOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := maxTs.Lookup("offsets", 0); o.Err != nil || o.Offset != 3 || o.Timestamp != base.Add(50*time.Second).UnixMilli() {
		t.Errorf("max timestamp of partition 0 = %+v, want offset 3 with timestamp base+50s", o)
	}

	// The same questions as raw ListOffsets, as a non-kadm client asks them.
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "offsets"
	for _, ts := range []int64{-2, -1, -3} {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = 0
		rp.Timestamp = ts
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{rp}
		req.Topics = []kmsg.ListOffsetsRequestTopic{rt}
		resp, err := req.RequestWith(ctx, producer)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("ListOffsets(%d): malformed response %+v", ts, resp)
		}
		p := resp.Topics[0].Partitions[0]
		want := map[int64]int64{-2: 0, -1: 7, -3: 3}[ts]
		if p.ErrorCode != 0 || p.Offset != want {
			t.Errorf("raw ListOffsets v%d timestamp %d: offset %d error %d, want offset %d", resp.Version, ts, p.Offset, p.ErrorCode, want)
		}
	}

	// A missing partition is an error in the answer, not a broken connection.
	listed, err := adm.ListEndOffsets(ctx, "no-such-topic")
	if err == nil && listed.Error() == nil {
		t.Errorf("ListEndOffsets of a missing topic succeeded: %+v", listed)
	}
}

func describeFirst(recs []*kgo.Record) string {
	if len(recs) == 0 {
		return "nothing"
	}
	return fmt.Sprintf("offset %d (%q)", recs[0].Offset, recs[0].Value)
}
