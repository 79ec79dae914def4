package recordbatch

import (
	"bytes"
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// The streaming check of gzip, lz4 and zstd records and the in-memory
// check of uncompressed and snappy ones must accept and refuse the same
// records, with the same timestamps and null-key finding.
func FuzzRecordStreamAgreesWithInMemoryCheck(f *testing.F) {
	for _, n := range []int{1, 3, 50} {
		b := batchtest.Batch{ProducerID: -1, BaseSequence: -1}
		for i := range n {
			r := batchtest.Record{Value: bytes.Repeat([]byte{'v'}, i), Timestamp: int64(1000 + i%7),
				Headers: []batchtest.Header{{Key: "h", Value: []byte{byte(i)}}}}
			if i%2 == 0 {
				r.Key = []byte{byte(i)}
			}
			b.Records = append(b.Records, r)
		}
		raw := b.Bytes()
		f.Add(raw[HeaderSize:], uint8(n))
		f.Add(raw[HeaderSize:len(raw)-1], uint8(n))
		f.Add(raw[HeaderSize:], uint8(n+1))
	}
	f.Fuzz(func(t *testing.T, records []byte, count uint8) {
		min1, max1, null1, err1 := checkRecords(records, int32(count))
		min2, max2, null2, err2 := checkRecordStream(bytes.NewReader(records), int32(count), MaxDecompressedBytes)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("in memory: %v; streaming: %v", err1, err2)
		}
		if err1 == nil && (min1 != min2 || max1 != max2 || null1 != null2) {
			t.Fatalf("in memory: %d %d %v; streaming: %d %d %v", min1, max1, null1, min2, max2, null2)
		}
	})
}
