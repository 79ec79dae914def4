package recordbatch

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

// allocated returns the bytes fn allocates, with sync.Pools emptied first
// (two collections) so that pooled buffers do not hide allocations.
func allocated(fn func()) int64 {
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// zstdFrame is a zstd frame declaring window (a power of two, 1 KiB to
// 2 GiB) that holds data as one raw block: what a client may craft.
func zstdFrame(window int, data []byte) []byte {
	exp := 0
	for 1<<(10+exp) < window {
		exp++
	}
	f := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, byte(exp << 3)} // no checksum, no content size
	hdr := uint32(len(data))<<3 | 1                           // raw, last
	f = append(f, byte(hdr), byte(hdr>>8), byte(hdr>>16))
	return append(f, data...)
}

// withBody returns batch with its records replaced by body in codec, with
// length and CRC fixed.
func withBody(batch []byte, codec int, body []byte) []byte {
	out := append(append([]byte(nil), batch[:HeaderSize]...), body...)
	attrs := binary.BigEndian.Uint16(out[offAttributes:])&^compressionMask | uint16(codec)
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-LogOverhead))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[attributesCRCStart:], castagnoli))
	return out
}

func zeros(n int) []byte { return make([]byte, n) }

// zstdStream compresses data as a stream with the given window.
func zstdStream(t *testing.T, window int, data []byte) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(window))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// The charge for a zstd frame is what the decoder then allocates: its
// declared window and two blocks, whatever the frame holds. Measured
// against a fresh decoder, so that the charge follows the library if it
// changes.
func TestZstdChargeIsWhatTheDecoderAllocates(t *testing.T) {
	singleSegment, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(8<<20))
	frames := map[string][]byte{
		"one byte in a 128 MiB window (crafted)":        zstdFrame(128<<20, []byte{'x'}),
		"16 MiB of zeros in an 8 MiB window":            zstdStream(t, 8<<20, zeros(16<<20)),
		"16 MiB of zeros in a 2 MiB window (level 3)":   zstdStream(t, 2<<20, zeros(16<<20)),
		"6 MiB single segment (franz-go's EncodeAll)":   singleSegment.EncodeAll(zeros(6<<20), nil),
		"a 1 MiB-window frame then a 32 MiB-window one": append(zstdFrame(1<<20, []byte{'a'}), zstdFrame(32<<20, []byte{'b'})...),
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			charge := zstdDecoderBytes(frame)
			took := allocated(func() {
				d := zstdStreams.New().(*zstd.Decoder)
				defer d.Close()
				if err := d.Reset(bytes.NewReader(frame)); err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, d); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("charged %.2f MiB, decoder allocated %.2f MiB", float64(charge)/(1<<20), float64(took)/(1<<20))
			if took > charge+unchargedBytes/2 {
				t.Fatalf("the decoder allocated %d bytes, %d were charged", took, charge)
			}
			if charge > took+unchargedBytes/2 {
				t.Fatalf("%d bytes charged for a decoder that allocated %d", charge, took)
			}
		})
	}
}

// A frame the decoder refuses costs nothing and is charged nothing;
// frames after bytes that do not parse are never decoded.
func TestZstdChargeStopsWhereTheDecoderStops(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		want int64
	}{
		"window past 128 MiB":       {zstdFrame(256<<20, []byte{'x'}), 0},
		"garbage":                   {[]byte("not zstd at all"), 0},
		"big frame after garbage":   {append(zstdFrame(1<<20, []byte{'a'}), append([]byte("junk"), zstdFrame(64<<20, []byte{'b'})...)...), 1<<20 + 2*(zstdBlockMax+32)},
		"truncated block":           {zstdFrame(64<<20, []byte{'x'})[:9], 64<<20 + 2*(zstdBlockMax+32)},
		"skippable frame, then one": {append([]byte{0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3}, zstdFrame(4<<20, []byte{'a'})...), 4<<20 + 2*(zstdBlockMax+32)},
	} {
		if got := zstdDecoderBytes(c.data); got != c.want {
			t.Errorf("%s: charge %d, want %d", name, got, c.want)
		}
	}
}

// lz4 frames cost two buffers of their block size (the block read and the
// block decoded), from pierrec/lz4's pools.
func TestLZ4ChargeCoversWhatTheDecoderAllocates(t *testing.T) {
	for name, size := range map[string]lz4.BlockSize{"64 KiB blocks": lz4.Block64Kb, "1 MiB blocks": lz4.Block1Mb, "4 MiB blocks": lz4.Block4Mb} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			w := lz4.NewWriter(&b)
			w.Apply(lz4.BlockSizeOption(size))
			w.Write(zeros(16 << 20))
			w.Close()
			frame := b.Bytes()
			charge := lz4DecoderBytes(append(frame, frame...)) // two frames
			took := allocated(func() {
				r := lz4.NewReader(bytes.NewReader(frame))
				if _, err := io.Copy(io.Discard, r); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("charged %.2f MiB, decoder allocated %.2f MiB", float64(charge)/(1<<20), float64(took)/(1<<20))
			if charge != 2*int64(size) {
				t.Fatalf("charge %d, want two blocks of %d", charge, size)
			}
			if took > charge+unchargedBytes/2 {
				t.Fatalf("the decoder allocated %d bytes, %d were charged", took, charge)
			}
		})
	}
}

// gzip's decoder is not charged: its window is 32 KiB by the format, and
// all it holds stays under unchargedBytes.
func TestGzipDecoderStaysUncharged(t *testing.T) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(zeros(16 << 20))
	w.Close()
	took := allocated(func() {
		r, err := gzip.NewReader(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("the gzip decoder allocated %.2f MiB", float64(took)/(1<<20))
	if took > unchargedBytes {
		t.Fatalf("the gzip decoder allocated %d bytes", took)
	}
}

// The encoders' fixed state is charged by a constant per codec: each
// constant covers what an encoder holds once it has compressed 8 MiB,
// and the codecs charged nothing stay under unchargedBytes. This counts
// the live heap, not every allocation: under the race detector sync.Pool
// drops buffers at random, and lz4 and s2 then allocate a block buffer
// per call that is garbage at once.
func TestEncoderChargeCoversWhatItHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 8<<20)
	for i := 0; i < len(data); i += 8 {
		// Compressible, not trivially: random nibbles.
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64()&0x0f0f0f0f0f0f0f0f)
	}
	for name, c := range map[string]struct {
		charge int64
		enc    func() io.WriteCloser
	}{
		"zstd":   {zstdEncoderBytes, func() io.WriteCloser { z := zstdWriters.New().(*zstd.Encoder); z.Reset(io.Discard); return z }},
		"gzip":   {gzipEncoderBytes, func() io.WriteCloser { z := gzipWriters.New().(*gzip.Writer); z.Reset(io.Discard); return z }},
		"lz4":    {unchargedBytes, func() io.WriteCloser { z := lz4Writers.New().(*lz4.Writer); z.Reset(io.Discard); return z }},
		"snappy": {unchargedBytes, func() io.WriteCloser { z := new(xerialWriter); z.reset(io.Discard); return z }},
	} {
		runtime.GC()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		w := c.enc()
		w.Write(data)
		w.Close()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(w)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%s: charged %.2f MiB, encoder holds %.2f MiB", name, float64(c.charge)/(1<<20), float64(held)/(1<<20))
		if held > c.charge {
			t.Errorf("%s: the encoder holds %d bytes, %d are charged", name, held, c.charge)
		}
	}
}

// takeWholeBudget holds the whole budget until the returned func runs.
func takeWholeBudget(t *testing.T) (giveBack func()) {
	t.Helper()
	h := memory.Holder()
	if err := h.Acquire(context.Background(), memory.Limit()); err != nil {
		t.Fatal(err)
	}
	return h.ReleaseAll
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A zstd frame declaring a 128 MiB window around one record is charged
// its window before the decoder allocates it: while the budget is taken,
// checking the batch waits.
func TestZstdWindowIsChargedBeforeDecoding(t *testing.T) {
	plain := batchtest.Plain(1000, "v").Bytes()
	batch := withBody(plain, CompressionZstd, zstdFrame(128<<20, plain[HeaderSize:]))
	giveBack := takeWholeBudget(t)
	done := make(chan error, 1)
	go func() {
		_, err := Validate(batch, 1<<20)
		done <- err
	}()
	waitFor(t, "the check to wait for the budget", func() bool { return memory.Waiting() == 1 })
	select {
	case err := <-done:
		t.Fatalf("the check ran while the budget was taken: %v", err)
	default:
	}
	giveBack()
	if err := <-done; err != nil {
		t.Fatalf("a 128 MiB window is within Kafka's limit: %v", err)
	}
	if held := MemoryHeld(); held != 0 {
		t.Fatalf("%d bytes still held after the check", held)
	}
}

// Four concurrent recompressions that each build 32 MiB share the budget:
// the bytes held at once stay under the limit plus what one of them needs
// (the one allowed to overdraw), not four times that.
func TestConcurrentRecompressionsShareTheBudget(t *testing.T) {
	const record = 32 << 20
	batch := batchtest.Zeros(batchtest.Zstd, record)
	defer SetMemoryBudget(memory.Limit())
	SetMemoryBudget(40 << 20)

	var most int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			most = max(most, MemoryHeld())
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			out, err := Recompress(batch, CompressionNone, 64<<20)
			if err != nil || len(out) < record {
				t.Errorf("recompressed to %d bytes: %v", len(out), err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	// One recompression holds at most its output growing from 4/5 of
	// 32 MiB to all of it, 2.25 times 32 MiB, plus the decoder's window.
	one := int64(2.25*record) + 4<<20
	t.Logf("at most %d MiB held at once (limit 40 MiB, one recompression up to %d MiB)", most>>20, one>>20)
	if most > 40<<20+one {
		t.Fatalf("%d MiB held at once", most>>20)
	}
	if held := MemoryHeld(); held != 0 {
		t.Fatalf("%d bytes still held", held)
	}
}
