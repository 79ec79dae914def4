package recordbatch_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

func sample(codec int) []byte {
	b := batchtest.Batch{ProducerID: 7, ProducerEpoch: 1, BaseSequence: 0, Codec: codec}
	for i := 0; i < 50; i++ {
		b.Records = append(b.Records, batchtest.Record{
			Key:       []byte{byte(i)},
			Value:     []byte("value value value value"),
			Timestamp: 1_700_000_000_000 + int64(i),
			Headers:   []batchtest.Header{{Key: "h", Value: []byte{1, 2}}, {Key: "null", Value: nil}},
		})
	}
	b.Records[3].Key, b.Records[4].Value = nil, nil
	return b.Bytes()
}

func TestEveryCodecValidates(t *testing.T) {
	for name, codec := range map[string]int{"none": batchtest.None, "gzip": batchtest.Gzip, "snappy raw": batchtest.Snappy,
		"snappy xerial": batchtest.SnappyXerial, "lz4": batchtest.LZ4, "zstd": batchtest.Zstd} {
		t.Run(name, func(t *testing.T) {
			s, err := recordbatch.Validate(sample(codec), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if s.Records != 50 || s.Batches != 1 || !s.Idempotent || s.ProducerID != 7 || s.Transactional {
				t.Fatalf("summary %+v", s)
			}
		})
	}
}

// fixCRC recomputes the CRC after a test changed covered bytes, so the
// check under test is the one that fails.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc(b[21:]))
	return b
}

func TestRejectedBatches(t *testing.T) {
	cases := map[string]struct {
		mutate func([]byte) []byte
		want   error
	}{
		"flipped payload byte": {func(b []byte) []byte { b[len(b)-3] ^= 0xff; return b }, recordbatch.ErrCorrupt},
		"truncated":            {func(b []byte) []byte { return b[:len(b)-1] }, recordbatch.ErrCorrupt},
		"trailing garbage":     {func(b []byte) []byte { return append(b, 1, 2, 3) }, recordbatch.ErrCorrupt},
		"short header":         {func(b []byte) []byte { return b[:40] }, recordbatch.ErrCorrupt},
		"magic 1":              {func(b []byte) []byte { b[16] = 1; return b }, recordbatch.ErrCorrupt},
		"two batches":          {func(b []byte) []byte { return append(b, b...) }, recordbatch.ErrInvalidRecord},
		"unknown codec": {func(b []byte) []byte {
			b[22] = b[22]&^7 | 6
			return fixCRC(b)
		}, recordbatch.ErrUnsupportedCompression},
		"count too high": {func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 51)
			binary.BigEndian.PutUint32(b[23:], 50)
			return fixCRC(b)
		}, recordbatch.ErrCorrupt},
		"count too low": {func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 49)
			binary.BigEndian.PutUint32(b[23:], 48)
			return fixCRC(b)
		}, recordbatch.ErrCorrupt},
		"last offset delta mismatch": {func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[23:], 10)
			return fixCRC(b)
		}, recordbatch.ErrInvalidRecord},
		"control batch": {func(b []byte) []byte { b[22] |= 0x20; return fixCRC(b) }, recordbatch.ErrInvalidRecord},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := recordbatch.Validate(tc.mutate(sample(batchtest.None)), 1<<20)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("corrupt compressed payload", func(t *testing.T) {
		b := sample(batchtest.Zstd)
		b[70] ^= 0xff
		_, err := recordbatch.Validate(fixCRC(b), 1<<20)
		if !errors.Is(err, recordbatch.ErrCorrupt) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		b := sample(batchtest.None)
		_, err := recordbatch.Validate(b, int32(len(b)-1))
		if !errors.Is(err, recordbatch.ErrBatchTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if _, err := recordbatch.Validate(b, int32(len(b))); err != nil {
			t.Fatalf("exactly max.message.bytes: %v", err)
		}
	})
}

func TestValidateUncompressedDoesNotAllocate(t *testing.T) {
	b := sample(batchtest.None)
	if n := testing.AllocsPerRun(100, func() { recordbatch.Validate(b, 1<<20) }); n != 0 {
		t.Fatalf("%v allocations per validation", n)
	}
}

// Data that compresses a thousandfold is ordinary (zeros, repeated JSON):
// franz-go's own tests produce three 1 MiB records of zeros in one gzip
// batch of a few KiB, and Kafka takes it.
func TestHighlyCompressibleBatchesAreAccepted(t *testing.T) {
	for name, codec := range map[string]int{"gzip": batchtest.Gzip, "snappy": batchtest.Snappy,
		"snappy xerial": batchtest.SnappyXerial, "lz4": batchtest.LZ4, "zstd": batchtest.Zstd} {
		t.Run(name, func(t *testing.T) {
			big := make([]byte, 1<<20)
			b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Codec: codec,
				Records: []batchtest.Record{{Value: big}, {Value: big}, {Value: big}}}
			raw := b.Bytes()
			s, err := recordbatch.Validate(raw, 1<<20)
			if err != nil {
				t.Fatalf("%d bytes expanding to 3 MiB: %v", len(raw), err)
			}
			if s.Records != 3 {
				t.Fatalf("summary counts %d records, want 3", s.Records)
			}
			var values int
			err = recordbatch.Records(raw, func(r recordbatch.Record) bool {
				if len(r.Value) != 1<<20 {
					t.Errorf("record %d holds %d bytes", r.Offset, len(r.Value))
				}
				values++
				return true
			})
			if err != nil || values != 3 {
				t.Fatalf("read back %d records, err %v", values, err)
			}
		})
	}
}

// A batch that expands past MaxDecompressedBytes is refused as too large
// (MESSAGE_TOO_LARGE), and checking it does not allocate what it expands
// to.
func TestDecompressionBombIsRefusedWithoutHoldingIt(t *testing.T) {
	codecs := map[string]int{"zstd": batchtest.Zstd, "lz4": batchtest.LZ4}
	if !testing.Short() && !raceEnabled {
		codecs["gzip"] = batchtest.Gzip // slow to build under the race detector
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			raw := batchtest.Zeros(codec, recordbatch.MaxDecompressedBytes+1)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := recordbatch.Validate(raw, 1<<30)
			runtime.ReadMemStats(&after)
			// Too large, not corrupt: producers retry CORRUPT_MESSAGE
			// (a retriable error in Kafka) and would send it for ever.
			if !errors.Is(err, recordbatch.ErrBatchTooLarge) {
				t.Fatalf("err = %v for %d compressed bytes expanding past %d, want ErrBatchTooLarge", err, len(raw), recordbatch.MaxDecompressedBytes)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
				t.Fatalf("checking the batch allocated %d MiB", grew>>20)
			}
		})
	}
	t.Run("just under the bound", func(t *testing.T) {
		raw := batchtest.Zeros(batchtest.Zstd, recordbatch.MaxDecompressedBytes-64)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := recordbatch.Validate(raw, 1<<30); err != nil {
			t.Fatalf("a batch expanding to just under the bound: %v", err)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
			t.Fatalf("checking the batch allocated %d MiB", grew>>20)
		}
	})
}

func BenchmarkValidateUncompressed(b *testing.B) {
	batch := sample(batchtest.None)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := recordbatch.Validate(batch, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRecompressKeepsEveryRecordUnderEveryCodec(t *testing.T) {
	codecs := []int{batchtest.None, batchtest.Gzip, batchtest.Snappy, batchtest.LZ4, batchtest.Zstd}
	for _, from := range codecs {
		for _, to := range codecs {
			src := sample(from)
			out, err := recordbatch.Recompress(src, to, 1<<20)
			if err != nil {
				t.Fatalf("%d -> %d: %v", from, to, err)
			}
			s, err := recordbatch.Validate(out, 1<<20)
			if err != nil {
				t.Fatalf("%d -> %d: recompressed batch is invalid: %v", from, to, err)
			}
			h, _ := recordbatch.ParseHeader(out)
			if h.Compression() != to || s.Records != 50 || s.ProducerID != 7 {
				t.Fatalf("%d -> %d: codec %d, %d records, producer %d", from, to, h.Compression(), s.Records, s.ProducerID)
			}
			var want, got []string
			recordbatch.Records(src, func(r recordbatch.Record) bool {
				want = append(want, fmt.Sprintf("%d %d %q %q %x", r.Offset, r.Timestamp, r.Key, r.Value, r.Headers))
				return true
			})
			recordbatch.Records(out, func(r recordbatch.Record) bool {
				got = append(got, fmt.Sprintf("%d %d %q %q %x", r.Offset, r.Timestamp, r.Key, r.Value, r.Headers))
				return true
			})
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Fatalf("%d -> %d: records differ after recompression", from, to)
			}
		}
	}
}

func TestValidateReportsTheRecordTimestampRange(t *testing.T) {
	b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Records: []batchtest.Record{
		{Value: []byte("a"), Timestamp: 500}, {Value: []byte("b"), Timestamp: 100}, {Value: []byte("c"), Timestamp: 900},
	}}
	s, err := recordbatch.Validate(b.Bytes(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if s.MinTimestamp != 100 || s.MaxTimestamp != 900 {
		t.Fatalf("timestamp range %d-%d, want 100-900", s.MinTimestamp, s.MaxTimestamp)
	}
}

func TestBuildMakesAValidBatchOfTheRecords(t *testing.T) {
	out, err := recordbatch.Build([]recordbatch.KeyValue{{Key: []byte("k1"), Value: []byte("v1")}, {Key: []byte("k2")}}, 1234)
	if err != nil {
		t.Fatal(err)
	}
	s, err := recordbatch.Validate(out, 1<<20)
	if err != nil || s.Records != 2 || s.Idempotent {
		t.Fatalf("built batch: %+v %v", s, err)
	}
	var got []string
	recordbatch.Records(out, func(r recordbatch.Record) bool {
		got = append(got, fmt.Sprintf("%d %d %s=%v", r.Offset, r.Timestamp, r.Key, r.Value))
		return true
	})
	if strings.Join(got, ";") != "0 1234 k1=[118 49];1 1234 k2=[]" {
		t.Fatalf("records %q", got)
	}
}
