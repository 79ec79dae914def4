package recordbatch_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

var everyCodec = []struct {
	name  string
	codec int // batchtest's: SnappyXerial is snappy on the wire
}{{"none", batchtest.None}, {"gzip", batchtest.Gzip}, {"snappy", batchtest.Snappy}, {"snappy-xerial", batchtest.SnappyXerial},
	{"lz4", batchtest.LZ4}, {"zstd", batchtest.Zstd}}

// recordDigests describes every record of a batch as a consumer sees it:
// offset, timestamp, attributes, and digests of key, value and headers
// (null apart from empty).
func recordDigests(t *testing.T, batch []byte) []string {
	t.Helper()
	var out []string
	digest := func(b []byte) string {
		if b == nil {
			return "null"
		}
		return fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b))
	}
	err := recordbatch.Records(batch, func(r recordbatch.Record) bool {
		out = append(out, fmt.Sprintf("%d %d %d %s %s %s", r.Offset, r.Timestamp, r.Attributes, digest(r.Key), digest(r.Value), digest(r.Headers)))
		return true
	})
	if err != nil {
		t.Fatalf("reading records: %v", err)
	}
	return out
}

// mixedBatch holds small records of every shape and, when big is set, a
// record of 3 MiB (past what Recompress compresses in one call, so that
// it streams).
func mixedBatch(codec int, big bool) []byte {
	b := batchtest.Batch{BaseOffset: 0, ProducerID: 7, ProducerEpoch: 2, BaseSequence: 40, Codec: codec}
	for i := range 20 {
		r := batchtest.Record{Key: []byte{byte(i)}, Value: bytes.Repeat([]byte{byte('a' + i%26)}, i*37), Timestamp: 1_700_000_000_000 + int64(i%5),
			Headers: []batchtest.Header{{Key: "h", Value: []byte{byte(i)}}, {Key: "null", Value: nil}}}
		b.Records = append(b.Records, r)
	}
	b.Records[3].Key, b.Records[4].Value, b.Records[5].Value = nil, nil, []byte{}
	if big {
		value := make([]byte, 3<<20)
		for i := range value {
			value[i] = byte(i * 7 / 5) // compressible, but not to nothing
		}
		b.Records[10].Value = value
	}
	return b.Bytes()
}

// Recompressing between any two codecs keeps every record byte for byte
// and every header field but the codec bits, the length and the CRC, both
// for producer-sized batches and for batches that stream.
func TestRecompressBetweenEveryPairOfCodecsKeepsRecordsAndHeader(t *testing.T) {
	for _, big := range []bool{false, true} {
		for _, from := range everyCodec {
			src := mixedBatch(from.codec, big)
			want := recordDigests(t, src)
			for _, to := range everyCodec {
				if to.codec == batchtest.SnappyXerial {
					continue // one snappy target
				}
				t.Run(fmt.Sprintf("big=%v/%s-to-%s", big, from.name, to.name), func(t *testing.T) {
					out, err := recordbatch.Recompress(src, to.codec, 64<<20)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := recordbatch.Validate(out, 64<<20); err != nil {
						t.Fatalf("the recompressed batch is invalid: %v", err)
					}
					h, _ := recordbatch.ParseHeader(out)
					if h.Compression() != to.codec {
						t.Fatalf("codec %d, want %d", h.Compression(), to.codec)
					}
					// Base offset, leader epoch and magic; then everything
					// after the attributes.
					if !bytes.Equal(out[:8], src[:8]) || !bytes.Equal(out[12:17], src[12:17]) || !bytes.Equal(out[23:61], src[23:61]) ||
						out[21] != src[21] || out[22]&^7 != src[22]&^7 {
						t.Fatalf("header changed:\n got %x\nwant %x", out[:61], src[:61])
					}
					if got := recordDigests(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("records differ after recompression:\n got %q\nwant %q", got, want)
					}
					if held := recordbatch.MemoryHeld(); held != 0 {
						t.Fatalf("%d bytes of the budget still held", held)
					}
				})
			}
		}
	}
}

// Kafka's producer and broker write snappy in xerial framing, which every
// client reads, and so does Samsa when it recompresses.
func TestRecompressToSnappyWritesXerialFraming(t *testing.T) {
	out, err := recordbatch.Recompress(mixedBatch(batchtest.Zstd, true), recordbatch.CompressionSnappy, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	header := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
	if !bytes.HasPrefix(out[recordbatch.HeaderSize:], header) {
		t.Fatalf("snappy records open with % x, want the xerial header % x", out[recordbatch.HeaderSize:][:16], header)
	}
}

// As Kafka re-checks a recompressed batch against max.message.bytes, the
// recompressed batch may be exactly that large and no larger: one byte
// less gives ErrBatchTooLarge (MESSAGE_TOO_LARGE).
func TestRecompressRefusesABatchPastMaxBatchBytes(t *testing.T) {
	src := mixedBatch(batchtest.Gzip, true)
	for _, to := range everyCodec {
		if to.codec == batchtest.SnappyXerial || to.codec == batchtest.Gzip {
			continue
		}
		t.Run(to.name, func(t *testing.T) {
			out, err := recordbatch.Recompress(src, to.codec, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			size := int32(len(out))
			if _, err := recordbatch.Recompress(src, to.codec, size); err != nil {
				t.Fatalf("a cap of exactly the recompressed size (%d bytes): %v", size, err)
			}
			_, err = recordbatch.Recompress(src, to.codec, size-1)
			if !errors.Is(err, recordbatch.ErrBatchTooLarge) {
				t.Fatalf("a cap one byte short of %d bytes: err = %v, want ErrBatchTooLarge", size, err)
			}
			if held := recordbatch.MemoryHeld(); held != 0 {
				t.Fatalf("%d bytes of the budget still held", held)
			}
		})
	}
}

// heapGrowth runs fn and returns how much it allocated in all and how far
// the heap in use rose past where it started.
func heapGrowth(fn func()) (allocated, inUse uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, max(after.HeapInuse, before.HeapInuse) - before.HeapInuse
}

// The issue-9 case: a 200 KiB gzip batch holding one 200 MiB record of
// zeros, recompressed to zstd for a topic with compression.type=zstd, used
// to take 530 MB. Streamed, it allocates a few MiB in all.
func TestRecompressingA200MiBRecordHoldsNoneOfIt(t *testing.T) {
	const record = 200 << 20
	src := batchtest.Zeros(batchtest.Gzip, record)
	var out []byte
	var err error
	allocated, inUse := heapGrowth(func() { out, err = recordbatch.Recompress(src, recordbatch.CompressionZstd, 1<<20) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d-byte gzip batch to a %d-byte zstd batch: allocated %.1f MiB, heap in use +%.1f MiB", len(src), len(out), float64(allocated)/(1<<20), float64(inUse)/(1<<20))
	if allocated > 24<<20 {
		t.Fatalf("recompressing allocated %d MiB", allocated>>20)
	}
	if held := recordbatch.MemoryHeld(); held != 0 {
		t.Fatalf("%d bytes of the budget still held", held)
	}
	var values []int
	if err := recordbatch.ScanRecords(out, func(r recordbatch.RecordInfo) bool { values = append(values, r.ValueSize); return true }); err != nil {
		t.Fatal(err)
	}
	if len(values) != 1 || values[0] != record {
		t.Fatalf("recompressed batch holds values of %v bytes, want one of %d", values, record)
	}
}

// Recompressed to uncompressed, the same batch would be 200 MiB: with the
// default max.message.bytes it is refused as soon as the output passes
// 1 MiB, without building the rest.
func TestRecompressingA200MiBRecordUncompressedStopsAtTheCap(t *testing.T) {
	src := batchtest.Zeros(batchtest.Zstd, 200<<20)
	var err error
	allocated, _ := heapGrowth(func() { _, err = recordbatch.Recompress(src, recordbatch.CompressionNone, 1<<20) })
	if !errors.Is(err, recordbatch.ErrBatchTooLarge) {
		t.Fatalf("err = %v, want ErrBatchTooLarge", err)
	}
	if allocated > 16<<20 {
		t.Fatalf("refusing the batch allocated %d MiB", allocated>>20)
	}
	if held := recordbatch.MemoryHeld(); held != 0 {
		t.Fatalf("%d bytes of the budget still held", held)
	}
}

// Records reads compressed records one at a time into one buffer as large
// as the largest record: a batch of four 16 MiB records takes 16 MiB and
// the decoder's 8 MiB window, not 64 MiB, and the record held is charged
// to the budget while fn runs.
func TestRecordsHoldsOneRecordAtATime(t *testing.T) {
	const record = 16 << 20
	b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Codec: batchtest.Zstd}
	for i := range 4 {
		b.Records = append(b.Records, batchtest.Record{Key: []byte{byte(i)}, Value: bytes.Repeat([]byte{byte(i)}, record)})
	}
	batch := b.Bytes()
	var values []int
	var heldInFn int64
	allocated, _ := heapGrowth(func() {
		err := recordbatch.Records(batch, func(r recordbatch.Record) bool {
			if len(r.Value) != record || bytes.Count(r.Value, r.Key) != record {
				t.Errorf("record %d holds the wrong bytes", r.Offset)
			}
			values = append(values, len(r.Value))
			heldInFn = max(heldInFn, recordbatch.MemoryHeld())
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("4 records of 16 MiB: allocated %.1f MiB, %.1f MiB charged while fn ran", float64(allocated)/(1<<20), float64(heldInFn)/(1<<20))
	if len(values) != 4 {
		t.Fatalf("read %d records, want 4", len(values))
	}
	if allocated > 2*record {
		t.Fatalf("reading allocated %d MiB", allocated>>20)
	}
	if heldInFn < record {
		t.Fatalf("%d bytes charged while a 16 MiB record was held", heldInFn)
	}
	if held := recordbatch.MemoryHeld(); held != 0 {
		t.Fatalf("%d bytes of the budget still held", held)
	}
}

// ScanRecords reads past keys, values and headers: a batch holding a
// 200 MiB record is scanned in a few MiB, as a timestamp lookup needs.
func TestScanRecordsDoesNotHoldValues(t *testing.T) {
	for _, c := range []struct {
		name  string
		codec int
	}{{"zstd", batchtest.Zstd}, {"lz4", batchtest.LZ4}} {
		t.Run(c.name, func(t *testing.T) {
			batch := batchtest.Zeros(c.codec, 200<<20)
			var infos []recordbatch.RecordInfo
			allocated, _ := heapGrowth(func() {
				err := recordbatch.ScanRecords(batch, func(r recordbatch.RecordInfo) bool { infos = append(infos, r); return true })
				if err != nil {
					t.Fatal(err)
				}
			})
			if len(infos) != 1 || infos[0].ValueSize != 200<<20 || infos[0].KeySize != -1 || infos[0].Offset != 0 {
				t.Fatalf("scanned %+v, want one record with a null key and a 200 MiB value", infos)
			}
			if allocated > 16<<20 {
				t.Fatalf("scanning allocated %d MiB", allocated>>20)
			}
		})
	}
}

// ScanRecords tells what Records does, for every codec and record shape.
func TestScanRecordsAgreesWithRecords(t *testing.T) {
	for _, c := range everyCodec {
		batch := mixedBatch(c.codec, false)
		var want, got []string
		recordbatch.Records(batch, func(r recordbatch.Record) bool {
			want = append(want, fmt.Sprintf("%d %d %d %d %d", r.Offset, r.Timestamp, r.Attributes, sizeOf(r.Key), sizeOf(r.Value)))
			return true
		})
		if err := recordbatch.ScanRecords(batch, func(r recordbatch.RecordInfo) bool {
			got = append(got, fmt.Sprintf("%d %d %d %d %d", r.Offset, r.Timestamp, r.Attributes, r.KeySize, r.ValueSize))
			return true
		}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: ScanRecords says\n%q\nRecords says\n%q", c.name, got, want)
		}
	}
}

func sizeOf(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}
