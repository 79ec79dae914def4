package recordbatch

import (
	"encoding/binary"

	"github.com/klauspost/compress/zstd"
)

// What a streaming decoder allocates is chosen by the compressed bytes,
// not by how much they expand to: a zstd frame declares its window and an
// lz4 frame its block size, and the decoder allocates them whole at the
// first block. Measured with klauspost/compress v1.20.4 (runtime.MemStats
// TotalAlloc around one decode, see TestZstdChargeIsWhatTheDecoderAllocates):
// a 10-byte zstd frame declaring a 128 MiB window and holding one byte
// allocates 128.27 MiB, its window plus two blocks of room. So the bytes
// are walked before decoding (frame headers and block lengths only, a few
// comparisons per 128 KiB block) and the largest buffer a frame will need
// is charged to the budget first.
//
// Kafka clients do write large windows: the Java client at
// compression.zstd.level 20-22 (KIP-390) writes 32-128 MiB windows, and
// Kafka's own broker accepts up to 2^27 (zstd-jni's default limit), so
// refusing them would refuse what Kafka takes. Accounting them instead
// means a client declaring 128 MiB windows gets them, a couple at a time.

// zstdMaxWindow is the largest zstd window accepted, as Kafka (zstd-jni's
// ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27).
const zstdMaxWindow = 128 << 20

// zstdPooledWindow is the largest window whose decoder goes back to the
// pool: a decoder keeps its largest history ring, and 8 MiB covers what
// producers write by default (franz-go writes single-segment frames whose
// window is the content size, up to its encoder's 8 MiB window; the Java
// client and librdkafka at level 3 write 2 MiB windows).
const zstdPooledWindow = 8 << 20

// zstdBlockMax is the largest zstd block (the format's Block_Maximum_Size).
const zstdBlockMax = 128 << 10

// zstdDecoderBytes is what a decoder allocates for the frames in data: a
// history ring of the window plus two blocks of room (klauspost's
// decoder), allocated anew each time a frame needs a larger ring than the
// one before, the old one left to the collector. It walks the frames as
// the decoder will; where the bytes stop parsing, the decoder stops too
// (with an error), so frames after that point are never decoded and cost
// nothing. A window past zstdMaxWindow ends the walk the same way: the
// decoder refuses that frame before allocating.
func zstdDecoderBytes(data []byte) int64 {
	var ring, total int64
	for len(data) > 0 {
		var h zstd.Header
		rest, err := h.DecodeAndStrip(data)
		if err != nil {
			break
		}
		if h.Skippable {
			if uint64(h.SkippableSize) > uint64(len(rest)) {
				break
			}
			data = rest[h.SkippableSize:]
			continue
		}
		window := h.WindowSize
		if h.SingleSegment {
			window = max(h.FrameContentSize, zstd.MinWindowSize)
		}
		if window > zstdMaxWindow {
			break
		}
		// The ring holds the window and two blocks of room, each with
		// 32 bytes for the decoder's fast copies to overrun.
		block := min(int64(window), zstdBlockMax) + 32
		if need := int64(window) + 2*block; need > ring {
			ring = need
			total += need
		}
		var ok bool
		if data, ok = skipZstdBlocks(rest, h.HasCheckSum); !ok {
			break
		}
	}
	return total
}

// skipZstdBlocks returns what follows a frame's blocks (and checksum).
func skipZstdBlocks(b []byte, checksum bool) ([]byte, bool) {
	for {
		if len(b) < 3 {
			return nil, false
		}
		hdr := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		last, kind, size := hdr&1 != 0, (hdr>>1)&3, int(hdr>>3)
		b = b[3:]
		switch kind {
		case 0, 2: // raw, compressed: size bytes follow
		case 1: // RLE: one byte, repeated size times
			size = 1
		default:
			return nil, false
		}
		if size > len(b) {
			return nil, false
		}
		b = b[size:]
		if last {
			break
		}
	}
	if checksum {
		if len(b) < 4 {
			return nil, false
		}
		b = b[4:]
	}
	return b, true
}

// lz4 frame magic numbers (the LZ4 frame format).
const (
	lz4FrameMagic      = 0x184D2204
	lz4LegacyMagic     = 0x184C2102
	lz4SkippableMagic  = 0x184D2A50 // to 0x184D2A5F
	lz4LegacyBlockSize = 8 << 20
)

// lz4DecoderBytes is what pierrec/lz4's reader allocates for the frames in
// data: two buffers of the frame's maximum block size (the compressed
// block read and the block decoded), the largest over the frames, walked
// as zstdDecoderBytes walks zstd frames. Legacy frames use 8 MiB blocks
// and run to the end of the data.
func lz4DecoderBytes(data []byte) int64 {
	var most int64
	for len(data) >= 4 {
		magic := binary.LittleEndian.Uint32(data)
		switch {
		case magic == lz4LegacyMagic:
			return max(most, 2*lz4LegacyBlockSize)
		case magic&0xFFFFFFF0 == lz4SkippableMagic:
			if len(data) < 8 {
				return most
			}
			n := uint64(binary.LittleEndian.Uint32(data[4:]))
			if n > uint64(len(data)-8) {
				return most
			}
			data = data[8+n:]
			continue
		case magic != lz4FrameMagic:
			return most
		}
		if len(data) < 7 {
			return most
		}
		flg, bd := data[4], data[5]
		id := (bd >> 4) & 7
		if id < 4 {
			return most // the reader refuses it
		}
		blockSize := int64(64<<10) << (2 * (id - 4)) // 64 KiB, 256 KiB, 1 MiB, 4 MiB
		most = max(most, 2*blockSize)
		n := 7
		if flg&0x08 != 0 { // content size
			n += 8
		}
		if flg&0x01 != 0 { // dictionary ID
			n += 4
		}
		if len(data) < n {
			return most
		}
		data = data[n:]
		blockChecksum, contentChecksum := flg&0x10 != 0, flg&0x04 != 0
		for {
			if len(data) < 4 {
				return most
			}
			size := int(binary.LittleEndian.Uint32(data) & 0x7FFFFFFF)
			data = data[4:]
			if size == 0 { // end mark
				break
			}
			if blockChecksum {
				size += 4
			}
			if size > len(data) {
				return most
			}
			data = data[size:]
		}
		if contentChecksum {
			if len(data) < 4 {
				return most
			}
			data = data[4:]
		}
	}
	return most
}
