package log

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// segmentLayout is what a log's segments hold: base offsets, sizes,
// bytes and index entries.
type segmentLayout struct {
	base    int64
	data    []byte
	offsets []offsetEntry
	times   []timeEntry
}

func layoutOf(t *testing.T, l *Log) []segmentLayout {
	t.Helper()
	var out []segmentLayout
	for _, s := range *l.segs.Load() {
		data := make([]byte, s.size())
		if _, err := s.file.ReadAt(data, 0); err != nil {
			t.Fatal(err)
		}
		out = append(out, segmentLayout{base: s.baseOffset, data: data,
			offsets: slices.Clone(s.offsetIndex.all()), times: slices.Clone(s.timeIndex.all())})
	}
	return out
}

// A follower writes a fetched run of batches with one write per segment,
// and still ends up with the leader's segments: the same rolls, bytes,
// offset and time index entries, log end offset, epochs and producer
// state, batch by batch.
func TestFollowerAppendOfManyBatchesMatchesTheLeadersSegmentsAcrossRolls(t *testing.T) {
	tl := newTestLogs(t)
	cfg := testConfig()
	cfg.SegmentBytes = 500      // a few batches a segment: the run crosses rolls
	cfg.IndexIntervalBytes = 90 // an index entry every other batch or so
	leader := tl.open(cfg)
	for i := range 24 {
		var batch []byte
		if i%3 == 0 {
			batch = idempotentBatch(7, 0, int32(i/3*2), fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i))
		} else {
			batch = plainBatch(1_700_000_000_000+int64(i), fmt.Sprintf("v%d", i))
		}
		if _, err := leader.Append(batch, int32(1+i/10), 1_700_000_000_000); err != nil {
			t.Fatal(err)
		}
	}
	leo := leader.logEnd.Load()
	leader.SetHighWatermark(leo)
	want := layoutOf(t, leader)
	if len(want) < 4 {
		t.Fatalf("the leader has %d segments; the test wants a run that crosses several rolls", len(want))
	}
	var fetched []byte
	for _, s := range want {
		fetched = append(fetched, s.data...)
	}

	follower, err := tl.m.Open("events", 1, testTopicID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := follower.AppendAsFollower(fetched); err != nil || got != leo {
		t.Fatalf("follower append: log end offset %d, %v; want %d", got, err, leo)
	}
	got := layoutOf(t, follower)
	if len(got) != len(want) {
		t.Fatalf("follower has %d segments, leader %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.base != w.base || !bytes.Equal(g.data, w.data) {
			t.Errorf("segment %d: follower's starts at %d with %d bytes, leader's at %d with %d bytes (same bytes: %v)",
				i, g.base, len(g.data), w.base, len(w.data), bytes.Equal(g.data, w.data))
		}
		if !slices.Equal(g.offsets, w.offsets) {
			t.Errorf("segment %d: follower's offset index %v, leader's %v", i, g.offsets, w.offsets)
		}
		if !slices.Equal(g.times, w.times) {
			t.Errorf("segment %d: follower's time index %v, leader's %v", i, g.times, w.times)
		}
	}
	for _, epoch := range []int32{1, 2, 3} {
		le, lend := leader.EndOffsetForEpoch(epoch)
		fe, fend := follower.EndOffsetForEpoch(epoch)
		if le != fe || lend != fend {
			t.Errorf("epoch %d: follower ends it at %d (epoch %d), leader at %d (epoch %d)", epoch, fend, fe, lend, le)
		}
	}
	// The producer's sequence carries on from the follower's state: the
	// next batch in sequence is taken, a replay of the last is a duplicate.
	if _, err := follower.Append(idempotentBatch(7, 0, 16, "next"), 3, 1_700_000_000_000); err != nil {
		t.Errorf("the producer's next batch on the follower: %v", err)
	}
	if res, err := follower.Append(idempotentBatch(7, 0, 14, "a21", "b21"), 3, 1_700_000_000_000); err != nil || !res.Duplicate {
		t.Errorf("a replay of the producer's last fetched batch: %+v, %v; want a duplicate", res, err)
	}
	follower.SetHighWatermark(follower.logEnd.Load())
	if values := readValues(t, follower, 0); len(values) != int(leo)+1 || values[0] != "a0" || values[leo-1] != "v23" || values[leo] != "next" {
		t.Errorf("follower reads %d values %v", len(values), values)
	}
}

// A corrupt batch in the middle of a fetch fails the append, and the
// good batches before it are appended, as when each was written alone.
func TestFollowerAppendKeepsTheBatchesBeforeACorruptOne(t *testing.T) {
	tl := newTestLogs(t)
	leader := tl.open(testConfig())
	var fetched []byte
	for i := range 4 {
		if _, err := leader.Append(plainBatch(int64(i), fmt.Sprintf("v%d", i)), 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	leader.SetHighWatermark(4)
	rr, err := leader.Read(0, 1<<20, 4)
	if err != nil {
		t.Fatal(err)
	}
	fetched = make([]byte, rr.Size)
	rr.File.ReadAt(fetched, rr.Position)
	rr.Release()
	h, _ := recordbatch.ParseHeader(fetched)
	third := 2 * int(h.TotalSize()) // the batches are the same size
	fetched[third+recordbatch.HeaderSize] ^= 1

	follower, err := tl.m.Open("events", 1, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	leo, err := follower.AppendAsFollower(fetched)
	if !errors.Is(err, recordbatch.ErrCorrupt) || leo != 2 {
		t.Fatalf("a fetch whose third batch is corrupt: log end offset %d, %v; want 2 and ErrCorrupt", leo, err)
	}
	follower.SetHighWatermark(2)
	if values := readValues(t, follower, 0); !slices.Equal(values, []string{"v0", "v1"}) {
		t.Errorf("follower reads %v, want [v0 v1]", values)
	}
}

// BenchmarkFollowerAppend measures a follower appending what one fetch
// brings for a partition: 16 batches of 100 records of 100 B.
func BenchmarkFollowerAppend(b *testing.B) {
	m, err := OpenManager(ManagerConfig{Dirs: []string{b.TempDir()}, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	follower, err := m.Open("events", 0, testTopicID, testConfig())
	if err != nil {
		b.Fatal(err)
	}
	const batches, records = 16, 100
	var fetched []byte
	var sizes []int
	for range batches {
		batch := batchtest.Batch{ProducerID: -1, BaseSequence: -1}
		for i := range records {
			batch.Records = append(batch.Records, batchtest.Record{Value: make([]byte, 100), Timestamp: 1_700_000_000_000 + int64(i)})
		}
		raw := batch.Bytes()
		sizes = append(sizes, len(raw))
		fetched = append(fetched, raw...)
	}
	b.SetBytes(int64(len(fetched)))
	b.ReportAllocs()
	next := int64(0)
	for b.Loop() {
		pos := 0
		for _, size := range sizes {
			recordbatch.SetBaseOffset(fetched[pos:], next)
			next += records
			pos += size
		}
		if leo, err := follower.AppendAsFollower(fetched); err != nil || leo != next {
			b.Fatalf("log end offset %d, %v; want %d", leo, err, next)
		}
	}
}
