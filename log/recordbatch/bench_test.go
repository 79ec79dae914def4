package recordbatch_test

import (
	"fmt"
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// benchBatch is a batch as producers send them: 100 records of 100-byte
// values (some text, so codecs have work to do).
func benchBatch(codec int) []byte {
	b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Codec: codec}
	for i := range 100 {
		value := fmt.Appendf(nil, "{\"user\":%5d,\"event\":\"click\",\"page\":\"/products/%3d\",\"session\":\"a1b2c3d4e5f6a1b2c3d4e5f6\"}", 10000+i*37, i)
		value = append(value, make([]byte, 100-len(value))...)
		b.Records = append(b.Records, batchtest.Record{Value: value, Timestamp: 1_700_000_000_000 + int64(i)})
	}
	return b.Bytes()
}

var benchCodecs = []struct {
	name  string
	codec int
}{{"none", batchtest.None}, {"gzip", batchtest.Gzip}, {"snappy", batchtest.Snappy}, {"lz4", batchtest.LZ4}, {"zstd", batchtest.Zstd}}

func BenchmarkValidate(b *testing.B) {
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			batch := benchBatch(c.codec)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := recordbatch.Validate(batch, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecompress(b *testing.B) {
	for _, pair := range [][2]int{{batchtest.LZ4, batchtest.Zstd}, {batchtest.None, batchtest.Zstd}, {batchtest.Zstd, batchtest.LZ4},
		{batchtest.Gzip, batchtest.Snappy}, {batchtest.Snappy, batchtest.Gzip}, {batchtest.Zstd, batchtest.None}} {
		b.Run(benchCodecs[pair[0]].name+"-to-"+benchCodecs[pair[1]].name, func(b *testing.B) {
			batch := benchBatch(pair[0])
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := recompress(batch, pair[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecords(b *testing.B) {
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			batch := benchBatch(c.codec)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if err := recordbatch.Records(batch, func(r recordbatch.Record) bool { n += len(r.Value); return true }); err != nil || n != 100*100 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func recompress(batch []byte, codec int) ([]byte, error) {
	return recordbatch.Recompress(batch, codec, 1<<20)
}
