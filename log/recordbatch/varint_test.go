package recordbatch

import (
	"encoding/binary"
	"testing"
)

// The record walks' own varint must read exactly what binary.Varint
// reads: the same values and lengths, and the same refusals (too short,
// more than ten bytes, overflowing the tenth).
func FuzzVarintAgreesWithBinaryVarint(f *testing.F) {
	for _, v := range []int64{0, -1, 1, 63, -64, 64, 100, -8193, 1 << 40, -1 << 62, 1<<63 - 1, -1 << 63} {
		f.Add(binary.AppendVarint(nil, v))
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		want, n := binary.Varint(b)
		got, rest, ok := varint(b)
		if ok != (n > 0) {
			t.Fatalf("% x: ok %v, binary.Varint read %d", b, ok, n)
		}
		if ok && (got != want || len(rest) != len(b)-n) {
			t.Fatalf("% x: %d with %d bytes left, binary.Varint %d after %d bytes", b, got, len(rest), want, n)
		}
	})
}
