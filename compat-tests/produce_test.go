package compattests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// producerMode is one way a client may produce: the acks it asks for and
// whether it is idempotent (kgo's default; acks 0 and 1 require it off).
type producerMode struct {
	name       string
	acks       kgo.Acks
	idempotent bool
}

var producerModes = []producerMode{
	{"acks=0", kgo.NoAck(), false},
	{"acks=1", kgo.LeaderAck(), false},
	{"acks=all/idempotent", kgo.AllISRAcks(), true},
	{"acks=all/not-idempotent", kgo.AllISRAcks(), false},
}

var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
}{
	{"none", kgo.NoCompression()},
	{"gzip", kgo.GzipCompression()},
	{"snappy", kgo.SnappyCompression()},
	{"lz4", kgo.Lz4Compression()},
	{"zstd", kgo.ZstdCompression()},
}

func (m producerMode) opts() []kgo.Opt {
	opts := []kgo.Opt{kgo.RequiredAcks(m.acks)}
	if !m.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

func TestProduceWithEveryAcksAndCodecReadsBackByteExactInOrder(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	const partitions = 3
	for _, mode := range producerModes {
		for _, c := range codecs {
			t.Run(mode.name+"/"+c.name, func(t *testing.T) {
				topic := fmt.Sprintf("produce-%s-%s", sanitize(mode.name), c.name)
				createTopic(t, adm, topic, partitions, nil)
				cl := b.client(t, append(mode.opts(),
					kgo.ProducerBatchCompression(c.codec),
					kgo.RecordPartitioner(kgo.ManualPartitioner()),
					kgo.ProducerLinger(2*time.Millisecond),
				)...)
				want := makeRecords(topic, partitions, 300, newRand(uint64(len(topic))))
				// Produce asynchronously so batches hold many records
				// (and compression has something to do).
				produceAsync(t, cl, want)
				if mode.acks == kgo.NoAck() {
					// Nothing acknowledges an acks=0 produce: a flushed
					// client has only written its requests. Wait until
					// the broker has appended them all.
					waitForEndOffsets(t, adm, topic, int64(len(want)))
				}

				got := readAll(t, b, topic)
				for p := int32(0); p < partitions; p++ {
					var wantP []*kgo.Record
					for _, r := range want {
						if r.Partition == p {
							wantP = append(wantP, r)
						}
					}
					gotP := got[p]
					if len(gotP) != len(wantP) {
						t.Fatalf("partition %d: read %d records, want %d", p, len(gotP), len(wantP))
					}
					requireContiguous(t, fmt.Sprintf("partition %d", p), gotP, 0)
					for i := range wantP {
						if err := sameRecord(wantP[i], gotP[i]); err != nil {
							t.Fatalf("partition %d offset %d: %v", p, gotP[i].Offset, err)
						}
					}
				}
			})
		}
	}
}

// Data that compresses a thousandfold (zeros, repetitive JSON) is taken
// as Kafka takes it: three 1 MiB records of zeros in one batch of a few
// KiB, under every codec, read back whole.
func TestProduceHighlyCompressibleBatchUnderEveryCodec(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	for _, c := range codecs[1:] {
		t.Run(c.name, func(t *testing.T) {
			topic := "zeros-" + c.name
			createTopic(t, adm, topic, 1, nil)
			cl := b.client(t,
				kgo.DefaultProduceTopic(topic),
				kgo.ProducerBatchCompression(c.codec),
				kgo.ProducerBatchMaxBytes(4<<20),
				kgo.ProducerLinger(time.Second),
			)
			zeros := make([]byte, 1<<20)
			ctx := testContext(t, 30*time.Second)
			res := cl.ProduceSync(ctx, &kgo.Record{Value: zeros}, &kgo.Record{Value: zeros}, &kgo.Record{Value: zeros})
			if err := res.FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			got := readAll(t, b, topic)[0]
			if len(got) != 3 {
				t.Fatalf("read %d records, want 3", len(got))
			}
			for _, r := range got {
				if len(r.Value) != len(zeros) || bytes.Count(r.Value, []byte{0}) != len(zeros) {
					t.Fatalf("offset %d: %d bytes, not 1 MiB of zeros", r.Offset, len(r.Value))
				}
			}
		})
	}
}

// makeRecords makes n records spread round-robin over the partitions with
// every shape a user may send: nil and empty keys and values, binary bytes,
// several headers (one with an empty value), and distinct millisecond
// timestamps that are not in produce order.
func makeRecords(topic string, partitions int32, n int, rng *rand.Rand) []*kgo.Record {
	base := time.Now().Add(-time.Hour).UnixMilli()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		r := &kgo.Record{
			Topic:     topic,
			Partition: int32(i) % partitions,
			Timestamp: time.UnixMilli(base + int64(i*7%n)),
		}
		switch i % 5 {
		case 0:
			r.Key = nil
			r.Value = fmt.Appendf(nil, "plain value %d", i)
		case 1:
			r.Key = []byte{}
			r.Value = []byte{}
		case 2:
			r.Key = fmt.Appendf(nil, "key-%d", i)
			r.Value = nil // a tombstone-shaped record
		default:
			r.Key = randomBytes(rng, 1+rng.IntN(40))
			r.Value = randomBytes(rng, rng.IntN(2000))
			r.Headers = []kgo.RecordHeader{
				{Key: "trace", Value: randomBytes(rng, 16)},
				{Key: "empty", Value: []byte{}},
				{Key: "ünïcode-ключ", Value: []byte("v")},
			}
		}
		recs[i] = r
	}
	return recs
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// produceAsync produces all records without waiting between them, then
// flushes, failing the test if any was not acknowledged.
func produceAsync(t *testing.T, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	errs := make(chan error, len(recs))
	for _, r := range recs {
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				errs <- fmt.Errorf("record to partition %d: %w", r.Partition, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Fatalf("produce: %v", err)
	}
}

// waitForEndOffsets polls until the end offsets of topic's partitions add
// up to total.
func waitForEndOffsets(t *testing.T, adm *kadm.Client, topic string, total int64) {
	t.Helper()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		ends, err := adm.ListEndOffsets(testContext(t, 5*time.Second), topic)
		if err != nil {
			return err
		}
		var sum int64
		ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
		if sum != total {
			return fmt.Errorf("end offsets of %s add up to %d, want %d", topic, sum, total)
		}
		return nil
	})
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '=' || c == '/' {
			out[i] = '-'
		}
	}
	return string(out)
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5a5a)) }
