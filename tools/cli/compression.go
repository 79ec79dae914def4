package cli

import "github.com/twmb/franz-go/pkg/kgo"

// CompressionCodecs are the producer codecs by Kafka's compression.type
// names.
var CompressionCodecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}
