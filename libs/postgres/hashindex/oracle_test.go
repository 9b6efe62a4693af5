package hashindex_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/hashindex"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// oracleResult counts what replaying WAL written with
// wal_consistency_checking=all through a Go redo function found.
type oracleResult struct {
	verified   map[string]int // per record type: blocks compared with their image
	records    map[string]int // per record type: records of the rmgr seen
	mismatches int
	skipped    int // blocks whose previous page was unknown
	first      []string
}

type pageKey struct {
	rel key.RelTag
	blk uint32
}

// runOracle reads the cluster's WAL from start to end and, for every block
// of every record of rmgr rmid without an APPLY image, applies redo (the
// dispatcher, redo.ApplyBlock) to the
// page as the WAL last left it (from images: every block of a masked rmgr
// carries one under wal_consistency_checking) and compares the masked result
// with the masked verification image.
func runOracle(tb testing.TB, walDir string, start, end lsn.LSN, rmid uint8,
	redo func([]byte, *wal.Record, uint8) error, mask func([]byte), name func(*wal.Record) string) oracleResult {
	tb.Helper()
	r, err := wal.NewReader(walDir, start, wal.ReaderOptions{})
	if err != nil {
		tb.Fatalf("open WAL: %v", err)
	}
	defer r.Close()
	res := oracleResult{verified: map[string]int{}, records: map[string]int{}}
	pages := map[pageKey][]byte{}
	img := make([]byte, page.Size)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("read WAL: %v", err)
		}
		if rec.LSN >= end {
			break
		}
		if rec.RmID == rmid {
			res.records[name(rec)]++
		}
		for i := range rec.Blocks {
			b := &rec.Blocks[i]
			k := pageKey{b.Rel, b.Blk}
			hasImg := false
			if b.HasImage {
				if err := b.RestoreImage(img); err != nil {
					tb.Fatalf("restore image at %s: %v", rec.LSN, err)
				}
				hasImg = true
			}
			if rec.RmID != rmid || b.ApplyImage {
				if hasImg {
					pages[k] = bytes.Clone(img)
				} else {
					delete(pages, k)
				}
				continue
			}
			base, ok := pages[k]
			if !ok && b.WillInit {
				base, ok = make([]byte, page.Size), true
			}
			if !ok {
				res.skipped++
				if hasImg {
					pages[k] = bytes.Clone(img)
				}
				continue
			}
			pg := bytes.Clone(base)
			typ := name(rec)
			report := func(msg string) {
				res.mismatches++
				if len(res.first) < 10 {
					res.first = append(res.first, fmt.Sprintf("%s %s block %d (%s blk %d): %s", rec.LSN, typ, b.ID, b.Rel, b.Blk, msg))
				}
			}
			if err := redo(pg, rec, b.ID); err != nil {
				report(err.Error())
			} else if hasImg {
				page.Page(pg).SetLSN(rec.EndLSN)
				want := bytes.Clone(img)
				mask(pg)
				mask(want)
				if at := firstDiff(pg, want); at >= 0 {
					report(fmt.Sprintf("differs at byte %d: got %02x want %02x", at, pg[at], want[at]))
				} else {
					res.verified[typ]++
				}
			}
			if hasImg {
				pages[k] = bytes.Clone(img)
			} else {
				pages[k] = pg
			}
		}
	}
	return res
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// Masks from bufmask.c.
func maskCommon(pg []byte) bool {
	p := page.Page(pg)
	p.SetLSN(0)
	p.SetChecksum(0)
	p.SetPruneXid(0)
	p.ClearFlag(page.PageFull | page.HasFreeLines | page.AllVisible)
	lo, up, sp := p.Lower(), p.Upper(), p.Special()
	if lo > up || sp < up || lo < page.HeaderSize || sp > page.Size {
		return false
	}
	clear(pg[lo:up])
	return true
}

func maskLPFlags(pg []byte) {
	p := page.Page(pg)
	for off := page.OffsetNumber(1); off <= p.MaxOffset(); off++ {
		if id := p.ItemID(off); id.IsUsed() {
			_ = p.SetItemID(off, id.WithFlags(page.LPUnused))
		}
	}
}

// hashMask is hash_mask.
func hashMask(pg []byte) {
	if !maskCommon(pg) {
		return
	}
	sp := page.Page(pg).Special()
	if sp+16 > page.Size {
		return
	}
	o := pg[sp:]
	flags := uint16(o[12]) | uint16(o[13])<<8
	switch flags & hashindex.PageTypeMask {
	case hashindex.PageUnused:
		clear(pg[page.HeaderSize:])
		page.Page(pg).SetLower(0)
		page.Page(pg).SetUpper(0)
		return // the flag bytes were cleared with the content
	case hashindex.PageBucket, hashindex.PageOverflow:
		maskLPFlags(pg)
	}
	flags &^= hashindex.PageHasDeadTuples
	o[12], o[13] = byte(flags), byte(flags>>8)
}
