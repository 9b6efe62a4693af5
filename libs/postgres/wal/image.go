package wal

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// zstdDecoder is shared by all goroutines: DecodeAll is safe for concurrent
// use and keeps its scratch buffers between calls.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<20))
})

// RestoreImage writes the page image of b into dst[:8192]: it decompresses
// the stored bytes (pglz, lz4 or zstd) and re-inserts the hole as zeros, like
// PostgreSQL's RestoreBlockImage. dst must hold at least 8192 bytes.
func (b *BlockRef) RestoreImage(dst []byte) error {
	if !b.HasImage {
		return fmt.Errorf("block %d (%s blk %d) has no image", b.ID, b.Rel, b.Blk)
	}
	if len(dst) < BlockSize {
		return fmt.Errorf("restore image: destination of %d bytes is smaller than a page", len(dst))
	}
	dst = dst[:BlockSize]
	hole := int(b.HoleLength)
	off := int(b.HoleOffset)
	n := BlockSize - hole // bytes of page content stored
	if n < 0 || off+hole > BlockSize {
		return fmt.Errorf("restore image of block %d: hole %d+%d does not fit a page", b.ID, off, hole)
	}
	switch {
	case b.ImageInfo&ImageCompressPGLZ != 0:
		if err := pglzDecompress(b.ImageData, dst[:n]); err != nil {
			return fmt.Errorf("restore image of block %d: pglz: %w", b.ID, err)
		}
	case b.ImageInfo&ImageCompressLZ4 != 0:
		got, err := lz4.UncompressBlock(b.ImageData, dst[:n])
		if err != nil {
			return fmt.Errorf("restore image of block %d: lz4: %w", b.ID, err)
		}
		if got != n {
			return fmt.Errorf("restore image of block %d: lz4 gave %d bytes, want %d", b.ID, got, n)
		}
	case b.ImageInfo&ImageCompressZstd != 0:
		dec, err := zstdDecoder()
		if err != nil {
			return fmt.Errorf("restore image of block %d: zstd decoder: %w", b.ID, err)
		}
		out, err := dec.DecodeAll(b.ImageData, dst[:0:n])
		if err != nil {
			return fmt.Errorf("restore image of block %d: zstd: %w", b.ID, err)
		}
		if len(out) != n {
			return fmt.Errorf("restore image of block %d: zstd gave %d bytes, want %d", b.ID, len(out), n)
		}
		if &out[0] != &dst[0] {
			copy(dst, out)
		}
	default:
		if len(b.ImageData) != n {
			return fmt.Errorf("restore image of block %d: %d image bytes, want %d", b.ID, len(b.ImageData), n)
		}
		copy(dst[:off], b.ImageData[:off])
		copy(dst[off+hole:], b.ImageData[off:])
		clear(dst[off : off+hole])
		return nil
	}
	if hole > 0 {
		copy(dst[off+hole:], dst[off:n]) // overlapping move to the right
		clear(dst[off : off+hole])
	}
	return nil
}

// pglzDecompress decodes PostgreSQL's pglz format into dst, which must be
// filled exactly, consuming all of src.
//
// The stream is a sequence of groups: one control byte, then up to 8 items,
// low bit first. A 0 bit is one literal byte. A 1 bit is a back-reference
// tag of 2 or 3 bytes:
//
//	byte0 = (offset >> 4) & 0xF0 | (length - 3)   (length nibble 0..15)
//	byte1 = offset & 0xFF
//	byte2 = length - 18                           (only if the nibble is 15)
//
// copying length bytes from offset bytes back in the output (the ranges may
// overlap, which repeats a pattern).
func pglzDecompress(src, dst []byte) error {
	sp, dp := 0, 0
	for sp < len(src) && dp < len(dst) {
		ctrl := src[sp]
		sp++
		for i := 0; i < 8 && sp < len(src) && dp < len(dst); i++ {
			if ctrl&1 != 0 {
				if sp+2 > len(src) {
					return fmt.Errorf("truncated match tag at input byte %d", sp)
				}
				length := int(src[sp]&0x0f) + 3
				off := int(src[sp]&0xf0)<<4 | int(src[sp+1])
				sp += 2
				if length == 18 {
					if sp >= len(src) {
						return fmt.Errorf("truncated match length at input byte %d", sp)
					}
					length += int(src[sp])
					sp++
				}
				if off == 0 || off > dp {
					return fmt.Errorf("match offset %d at output byte %d is out of range", off, dp)
				}
				length = min(length, len(dst)-dp)
				for j := 0; j < length; j++ {
					dst[dp+j] = dst[dp-off+j]
				}
				dp += length
			} else {
				dst[dp] = src[sp]
				dp++
				sp++
			}
			ctrl >>= 1
		}
	}
	if dp != len(dst) || sp != len(src) {
		return fmt.Errorf("decompressed %d of %d bytes using %d of %d input bytes", dp, len(dst), sp, len(src))
	}
	return nil
}
