// Package redo replays PostgreSQL 15 WAL onto 8 KiB pages in Go: the page
// half of PostgreSQL's recovery, one block reference at a time, plus the
// records Strata builds itself at ingest for effects that are not block
// references (visibility-map clears, CLOG and multixact SLRU updates).
//
// # Applying one block reference
//
// ApplyBlock(pg, rec, id) applies decoded record rec to pg, the page of block
// reference id, following XLogReadBufferForRedoExtended:
//
//	block has an image with BKPIMAGE_APPLY -> restore it; stamp EndLSN unless the page is new
//	block has WILL_INIT                    -> zero the page; the rmgr initializes it
//	page LSN >= rec.EndLSN                 -> nothing to do (BLK_DONE)
//	otherwise                              -> the rmgr's redo on the existing page
//
// after which the page LSN is rec.EndLSN (PostgreSQL's EndRecPtr), except
// where PostgreSQL itself leaves it alone (Heap2 VISIBLE on the heap page;
// VM pages whose bits did not change). Verify-only images (APPLY clear) are
// ignored: the delta is applied.
//
// # Which records
//
// StatusOf(rmid, info) says how Strata handles every PG15 record type:
// StatusRedo (Go redo of block references), StatusImageOnly (XLOG FPI: only
// images), StatusNoPageEffect (no block references; the ingest mapping turns
// them into other edits, or they need nothing), StatusUnsupported (custom
// rmgrs: every built-in PG15 record type is handled).
// Supported is Status != StatusUnsupported. ApplyBlock fails with an error
// wrapping ErrUnsupported for unsupported records whose block has no image to
// apply. docs/postgres-coverage.md lists every record type; a test keeps it
// in sync with Status.
//
// # Adding an rmgr
//
// rmgr packages (heapam, nbtree, hashindex) do not import redo. Each exports
// a redo function for one block reference,
//
//	func Redo(pg []byte, rec *wal.Record, blk *wal.BlockRef) error
//
// (page.Page works too), and redo's table in rmgrs.go refers to it together
// with a Status function for the rmgr's opcodes. The function gets the page after
// image/will_init/BLK_DONE handling above, may assume len(pg) == page.Size,
// must validate every offset and length from the record, and returns an
// error instead of panicking. Unless the table entry says the rmgr sets the
// LSN itself, the dispatcher stamps rec.EndLSN afterwards.
//
// # Strata records
//
// What the engine stores as a WAL-record value is encoded by the Encode*
// functions in value.go (one tag byte + payload); Apply and Applier.ApplyInto
// decode such values and rebuild a page for a key. See value.go for the
// format.
//
// Concurrency: the package has no mutable state; ApplyBlock and Apply may be
// called from many goroutines on different pages. An Applier is for one
// goroutine at a time.
package redo

import (
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// ErrUnsupported is wrapped by errors for records Strata cannot replay in Go.
var ErrUnsupported = errors.New("unsupported record")

// ErrNoBlock is wrapped when a record has no block reference for the page.
var ErrNoBlock = errors.New("record has no such block reference")

// recordAt names a record for error messages.
func recordAt(rec *wal.Record) string {
	at := rec.LSN
	if at == lsn.Invalid {
		return fmt.Sprintf("%s ending at %s", wal.TypeName(rec.RmID, rec.Info), rec.EndLSN)
	}
	return fmt.Sprintf("%s at %s", wal.TypeName(rec.RmID, rec.Info), at)
}

// ApplyBlock applies rec to pg (page.Size bytes), the page of block reference
// blockID of rec. See the package documentation for the rules.
func ApplyBlock(pg []byte, rec *wal.Record, blockID uint8) error {
	if len(pg) != page.Size {
		return fmt.Errorf("redo %s: page has %d bytes, want %d", recordAt(rec), len(pg), page.Size)
	}
	blk := rec.Block(blockID)
	if blk == nil {
		return fmt.Errorf("redo %s: block %d: %w", recordAt(rec), blockID, ErrNoBlock)
	}
	return applyBlock(page.Page(pg), rec, blk)
}

func applyBlock(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.HasImage && blk.ApplyImage {
		if err := blk.RestoreImage(pg); err != nil {
			return fmt.Errorf("redo %s: %w", recordAt(rec), err)
		}
		if !pg.IsNew() {
			pg.SetLSN(rec.EndLSN)
		}
		if r := lookup(rec.RmID); r != nil && r.afterImage != nil {
			if err := r.afterImage(pg, rec, blk); err != nil {
				return fmt.Errorf("redo %s block %d (%s blk %d): %w", recordAt(rec), blk.ID, blk.Rel, blk.Blk, err)
			}
		}
		return nil
	}
	r := lookup(rec.RmID)
	if r == nil || r.redo == nil || r.status(rec.Info&wal.RmgrInfoMask) != StatusRedo {
		if r != nil && r.status(rec.Info&wal.RmgrInfoMask) == StatusImageOnly {
			return fmt.Errorf("redo %s: block %d (%s blk %d) has no image to apply", recordAt(rec), blk.ID, blk.Rel, blk.Blk)
		}
		return fmt.Errorf("%w %s", ErrUnsupported, recordAt(rec))
	}
	if blk.WillInit {
		clear(pg)
	} else if pg.LSN() >= rec.EndLSN {
		return nil // BLK_DONE: the page already has this change
	}
	if err := r.redo(pg, rec, blk); err != nil {
		return fmt.Errorf("redo %s block %d (%s blk %d): %w", recordAt(rec), blk.ID, blk.Rel, blk.Blk, err)
	}
	if !r.setsLSN {
		pg.SetLSN(rec.EndLSN)
	}
	return nil
}
