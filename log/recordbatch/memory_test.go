package recordbatch_test

import (
	"bytes"
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
