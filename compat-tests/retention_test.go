package compattests

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRetentionDeletesOldSegmentsAndAdvancesEarliestOffset(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withOverride("log.retention.check.interval.ms", "200"))
	adm := b.admin(t)
	for _, c := range []struct {
		topic   string
		configs map[string]string
	}{
		// Kafka's smallest segment.bytes is 14 (before 4.0); 1024 makes a
		// segment hold a few of the batches below.
		{"by-size", map[string]string{"segment.bytes": "1024", "retention.bytes": "2048"}},
		{"by-time", map[string]string{"segment.bytes": "1024", "retention.ms": "1000"}},
	} {
		t.Run(c.topic, func(t *testing.T) {
			createTopic(t, adm, c.topic, 1, c.configs)
			producer := b.client(t, kgo.DefaultProduceTopic(c.topic))
			const n = 100
			for i := range n {
				// One record per batch, so segments roll between batches.
				produceSync(t, producer, &kgo.Record{Value: fmt.Appendf(bytes.Repeat([]byte{'x'}, 200), "-%d", i)})
			}
			ctx := testContext(t, 30*time.Second)
			var earliest int64
			checkFor(t, 20*time.Second, 100*time.Millisecond, func() error {
				starts, err := adm.ListStartOffsets(ctx, c.topic)
				if err != nil {
					return err
				}
				o, _ := starts.Lookup(c.topic, 0)
				if o.Err != nil {
					return o.Err
				}
				if o.Offset == 0 {
					return errors.New("earliest offset is still 0: no segment was deleted")
				}
				earliest = o.Offset
				return nil
			})
			ends, err := adm.ListEndOffsets(ctx, c.topic)
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := ends.Lookup(c.topic, 0); o.Offset != n {
				t.Errorf("end offset after retention = %d, want %d: retention must not move the end", o.Offset, n)
			}
			if earliest > n {
				t.Fatalf("earliest offset %d is past the end %d", earliest, n)
			}
			// Whatever is left is the newest records, readable from the new
			// start.
			got := readAll(t, b, c.topic)[0]
			if len(got) > 0 {
				if got[0].Offset < earliest {
					t.Errorf("read offset %d, before the earliest offset %d", got[0].Offset, earliest)
				}
				requireContiguous(t, "after retention", got, got[0].Offset)
				if last := got[len(got)-1]; !bytes.HasSuffix(last.Value, fmt.Appendf(nil, "-%d", n-1)) || last.Offset != n-1 {
					t.Errorf("newest record after retention is offset %d, want %d", last.Offset, n-1)
				}
			}
			t.Logf("earliest offset advanced to %d; %d records left", earliest, len(got))
		})
	}
}

func TestDeleteRecordsMovesLowWatermarkAndConsumersStartThere(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "trim", 2, nil)
	producer := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, &kgo.Record{Topic: "trim", Partition: 0, Value: fmt.Appendf(nil, "r%d", i)})
	}
	// Several batches, so the cut falls inside one.
	for i := 0; i < len(recs); i += 15 {
		produceSync(t, producer, recs[i:min(i+15, len(recs))]...)
	}
	produceSync(t, producer, &kgo.Record{Topic: "trim", Partition: 1, Value: []byte("other")})
	ctx := testContext(t, 30*time.Second)

	var offsets kadm.Offsets
	offsets.Add(kadm.Offset{Topic: "trim", Partition: 0, At: 40})
	resp, err := adm.DeleteRecords(ctx, offsets)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := resp.Lookup("trim", 0)
	if !ok || r.Err != nil || r.LowWatermark != 40 {
		t.Fatalf("DeleteRecords to 40 answered %+v, want low watermark 40", r)
	}

	starts, err := adm.ListStartOffsets(ctx, "trim")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("trim", 0); o.Offset != 40 {
		t.Errorf("earliest offset of partition 0 = %+v, want 40", o)
	}
	if o, _ := starts.Lookup("trim", 1); o.Offset != 0 {
		t.Errorf("earliest offset of untouched partition 1 = %+v, want 0", o)
	}

	got := readAll(t, b, "trim")[0]
	if len(got) != 60 || got[0].Offset != 40 || string(got[0].Value) != "r40" {
		t.Fatalf("consuming from the start read %d records beginning at %s, want 60 from offset 40", len(got), describeFirst(got))
	}
	requireContiguous(t, "after DeleteRecords", got, 40)

	// A consumer positioned before the low watermark is reset, not stuck.
	cl := b.client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"trim": {0: kgo.NewOffset().At(10)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fetches := cl.PollFetches(ctx)
	if recs := fetches.Records(); len(recs) == 0 || recs[0].Offset != 40 {
		t.Errorf("consumer asking for offset 10 after DeleteRecords started at %s (errors %v), want offset 40", describeFirst(recs), fetches.Errors())
	}

	// Deleting up to the high watermark (-1 means the high watermark) empties
	// the partition; beyond it is OFFSET_OUT_OF_RANGE and changes nothing.
	var beyond kadm.Offsets
	beyond.Add(kadm.Offset{Topic: "trim", Partition: 0, At: 101})
	resp, err = adm.DeleteRecords(ctx, beyond)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := resp.Lookup("trim", 0); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Errorf("DeleteRecords beyond the high watermark answered %+v, want OFFSET_OUT_OF_RANGE", r)
	}
	var toEnd kadm.Offsets
	toEnd.Add(kadm.Offset{Topic: "trim", Partition: 0, At: -1})
	resp, err = adm.DeleteRecords(ctx, toEnd)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := resp.Lookup("trim", 0); r.Err != nil || r.LowWatermark != 100 {
		t.Errorf("DeleteRecords to the high watermark answered %+v, want low watermark 100", r)
	}
	starts, _ = adm.ListStartOffsets(ctx, "trim")
	ends, _ := adm.ListEndOffsets(ctx, "trim")
	if s, _ := starts.Lookup("trim", 0); s.Offset != 100 {
		t.Errorf("earliest after deleting everything = %d, want 100", s.Offset)
	}
	if e, _ := ends.Lookup("trim", 0); e.Offset != 100 {
		t.Errorf("latest after deleting everything = %d, want 100", e.Offset)
	}

	// New records go after the deleted ones.
	produceSync(t, producer, &kgo.Record{Topic: "trim", Partition: 0, Value: []byte("fresh")})
	got = readAll(t, b, "trim")[0]
	if len(got) != 1 || got[0].Offset != 100 || string(got[0].Value) != "fresh" {
		t.Errorf("after deleting everything and producing one record, read %d records starting at %s", len(got), describeFirst(got))
	}
}
