package recordbatch_test

import (
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// FuzzValidate feeds arbitrary bytes to the produce-path validation and to
// the record iterators. None may panic, a batch Validate accepts must
// iterate to exactly the records its header counts, at consecutive
// offsets, ScanRecords must tell what Records reads, and the
// decompression budget must be whole again after each. The seed corpus
// (every codec, and classic corruptions) runs in `make test`;
// `make fuzz-batch` explores further.
func FuzzValidate(f *testing.F) {
	for _, codec := range []int{batchtest.None, batchtest.Gzip, batchtest.Snappy, batchtest.SnappyXerial, batchtest.LZ4, batchtest.Zstd} {
		valid := sample(codec)
		f.Add(valid)
		f.Add(valid[:len(valid)-1])
		flipped := append([]byte(nil), valid...)
		flipped[len(flipped)/2] ^= 0x40
		f.Add(flipped)
		f.Add(fixCRC(append([]byte(nil), flipped...)))
	}
	f.Add([]byte{})
	f.Add(make([]byte, recordbatch.HeaderSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := recordbatch.Validate(data, 1<<20)
		if err != nil {
			return
		}
		h, err := recordbatch.ParseHeader(data)
		if err != nil {
			t.Fatalf("Validate accepted a batch whose header does not parse: %v", err)
		}
		n := 0
		err = recordbatch.Records(data, func(r recordbatch.Record) bool {
			if r.Offset != h.BaseOffset+int64(n) {
				t.Fatalf("record %d has offset %d, want %d", n, r.Offset, h.BaseOffset+int64(n))
			}
			n++
			return true
		})
		if err != nil {
			t.Fatalf("Validate accepted a batch whose records do not iterate: %v", err)
		}
		if n != s.Records || int32(n) != h.RecordCount {
			t.Fatalf("iterated %d records, Validate counted %d, header says %d", n, s.Records, h.RecordCount)
		}
		var scanned []recordbatch.RecordInfo
		err = recordbatch.ScanRecords(data, func(r recordbatch.RecordInfo) bool { scanned = append(scanned, r); return true })
		if err != nil || len(scanned) != n {
			t.Fatalf("Validate accepted a batch ScanRecords reads as %d records: %v", len(scanned), err)
		}
		i := 0
		recordbatch.Records(data, func(r recordbatch.Record) bool {
			if got := scanned[i]; got.Offset != r.Offset || got.Timestamp != r.Timestamp || got.KeySize != sizeOf(r.Key) || got.ValueSize != sizeOf(r.Value) {
				t.Fatalf("record %d: ScanRecords says %+v", i, got)
			}
			i++
			return true
		})
		if held := recordbatch.MemoryHeld(); held != 0 {
			t.Fatalf("%d bytes of the decompression budget still held", held)
		}
	})
}
