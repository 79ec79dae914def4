package compattests

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// Issue 9: any client may set compression.type on a topic, and a 204 KB
// gzip batch holding one 200 MiB record of zeros was then decompressed
// and compressed again in memory: the broker's RSS went from 27 MB to
// 557 MB for one request and to 2.0 GB for four at once, and stayed.
// Recompression now streams under a decompression budget.

const (
	hugeRecord = 200 << 20
	// rssCeiling is the bar of the issue: four concurrent 200 MiB
	// recompressions keep the broker's peak RSS under it.
	rssCeiling = 512 << 20
	// rssRoundMargin is how far a second identical round may raise the
	// peak RSS. Memory that is reusable adds nothing the first round did
	// not already touch; what remains is noise from GC pacing, pools and
	// the heap's layout, a few MiB. 32 MiB is a tenth of what one
	// recompression used to keep, so a leak of even one of them fails.
	rssRoundMargin = 32 << 20
)

// peakRSS returns the broker process's peak resident set size (VmHWM)
// in bytes.
func (b *testBroker) peakRSS(t *testing.T) int64 {
	t.Helper()
	return b.memKiB(t, "VmHWM") << 10
}

// produceRawOnce produces batch to partition 0 of topic on a connection
// of its own and returns the partition's error code. Unlike rawConn it
// may run on any goroutine: it returns errors rather than failing the
// test.
func produceRawOnce(addr, topic string, batch []byte) (int16, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	const version = 9 // flexible, topics by name
	req := produceRequest(version, topic, batch)
	req.TimeoutMillis = 60_000
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := conn.Write(frame(req.Key(), version, 7, true, req.AppendTo(nil))); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return 0, fmt.Errorf("read response: %w", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		return 0, fmt.Errorf("read response: %w", err)
	}
	if len(body) < 5 || binary.BigEndian.Uint32(body) != 7 || body[4] != 0 {
		return 0, fmt.Errorf("response header % x", body[:min(len(body), 5)])
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if err := resp.ReadFrom(body[5:]); err != nil {
		return 0, fmt.Errorf("decode response: %w", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return 0, fmt.Errorf("response for %d topics", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

// produceConcurrently sends batch to topic from four connections at once
// and returns their error codes.
func produceConcurrently(t *testing.T, b *testBroker, topic string, batch []byte) []int16 {
	t.Helper()
	codes := make([]int16, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i], errs[i] = produceRawOnce(b.Addr(), topic, batch) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("producer %d: %v", i, err)
		}
	}
	return codes
}

// fetchBatch fetches the batch at offset of partition 0 of topic, alone:
// a partition max of one byte returns just the first batch (KIP-74).
func fetchBatch(t *testing.T, c *rawConn, version int16, topic string, offset int64) []byte {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version = version
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes, rp.LogStartOffset, rp.CurrentLeaderEpoch = offset, 1, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.roundTrip(req, int32(100+offset)).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch response for %d topics", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s at %d: %v", topic, offset, kerr.ErrorForCode(p.ErrorCode))
	}
	return p.RecordBatches
}

func TestFourConcurrent200MiBRecompressionsKeepTheBrokerUnder512MiB(t *testing.T) {
	skipOnKfake(t, "the broker's RSS")
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	const topic = "recompressed"
	// max.message.bytes well above the record, so that what is measured
	// is the memory, not a refusal.
	createTopic(t, b.admin(t), topic, 1, map[string]string{"compression.type": "zstd", "max.message.bytes": strconv.Itoa(300 << 20)})
	batch := batchtest.Zeros(batchtest.Gzip, hugeRecord)
	t.Logf("each producer sends a %d-byte gzip batch holding one %d MiB record", len(batch), hugeRecord>>20)

	start := b.peakRSS(t)
	for i, code := range produceConcurrently(t, b, topic, batch) {
		if code != 0 {
			t.Fatalf("producer %d: %v", i, kerr.ErrorForCode(code))
		}
	}
	first := b.peakRSS(t)
	t.Logf("peak RSS: %d MiB at start, %d MiB after four concurrent recompressions", start>>20, first>>20)
	if first >= rssCeiling {
		t.Fatalf("peak RSS %d MiB after four concurrent 200 MiB recompressions, want under %d MiB", first>>20, rssCeiling>>20)
	}

	for i, code := range produceConcurrently(t, b, topic, batch) {
		if code != 0 {
			t.Fatalf("second round, producer %d: %v", i, kerr.ErrorForCode(code))
		}
	}
	second := b.peakRSS(t)
	t.Logf("peak RSS after a second round: %d MiB", second>>20)
	if second > first+rssRoundMargin {
		t.Fatalf("a second round raised the peak RSS from %d to %d MiB: the memory of the first was not reused", first>>20, second>>20)
	}

	// Every record is there, stored as zstd, 200 MiB of zeros: sizes of
	// all eight, the bytes of the first and last.
	c := dialRaw(t, b.Addr())
	version := c.maxVersion(1, 12)
	for offset := int64(0); offset < 8; offset++ {
		got := fetchBatch(t, c, version, topic, offset)
		h, err := recordbatch.ParseHeader(got)
		if err != nil {
			t.Fatalf("batch at %d: %v", offset, err)
		}
		if h.BaseOffset != offset || h.Compression() != recordbatch.CompressionZstd {
			t.Fatalf("batch at %d: base offset %d, codec %d, want zstd", offset, h.BaseOffset, h.Compression())
		}
		err = recordbatch.ScanRecords(got[:h.TotalSize()], func(r recordbatch.RecordInfo) bool {
			if r.ValueSize != hugeRecord || r.KeySize != -1 {
				t.Errorf("record %d: key of %d bytes, value of %d, want a null key and %d bytes", r.Offset, r.KeySize, r.ValueSize, hugeRecord)
			}
			return true
		})
		if err != nil {
			t.Fatalf("batch at %d: %v", offset, err)
		}
		if offset != 0 && offset != 7 {
			continue
		}
		err = recordbatch.Records(got[:h.TotalSize()], func(r recordbatch.Record) bool {
			if len(r.Value) != hugeRecord || bytes.IndexFunc(r.Value, func(c rune) bool { return c != 0 }) >= 0 {
				t.Errorf("record %d does not hold %d zero bytes", r.Offset, hugeRecord)
			}
			return true
		})
		if err != nil {
			t.Fatalf("batch at %d: %v", offset, err)
		}
	}
	stillServes(t, b, before)
}

// Recompressed to uncompressed, the same batch would be a 200 MiB batch,
// past the default max.message.bytes (1 MiB): it is refused with
// MESSAGE_TOO_LARGE as soon as the output passes the cap, never built.
func TestRecompressingTo200MiBUncompressedIsRefusedWithoutTakingIt(t *testing.T) {
	skipOnKfake(t, "the broker's RSS")
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	const topic = "decompressed"
	createTopic(t, b.admin(t), topic, 1, map[string]string{"compression.type": "uncompressed"})
	batch := batchtest.Zeros(batchtest.Gzip, hugeRecord)
	for i, code := range produceConcurrently(t, b, topic, batch) {
		if code != kerr.MessageTooLarge.Code {
			t.Fatalf("producer %d: %v, want MESSAGE_TOO_LARGE", i, kerr.ErrorForCode(code))
		}
	}
	peak := b.peakRSS(t)
	t.Logf("peak RSS after four refused recompressions: %d MiB", peak>>20)
	if peak >= hugeRecord/2 {
		t.Fatalf("peak RSS %d MiB: refusing the batch took what building it would", peak>>20)
	}
	stillServes(t, b, before)
}
