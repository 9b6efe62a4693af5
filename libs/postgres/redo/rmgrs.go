package redo

import (
	"encoding/binary"

	"github.com/stratadb/strata/libs/postgres/gin"
	"github.com/stratadb/strata/libs/postgres/hashindex"
	"github.com/stratadb/strata/libs/postgres/heapam"
	"github.com/stratadb/strata/libs/postgres/nbtree"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/spgist"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Status is how Strata handles one record type.
type Status uint8

const (
	// StatusUnsupported: block references without an image to apply fail
	// with ErrUnsupported.
	StatusUnsupported Status = iota
	// StatusRedo: the Go redo applies the record to its block references.
	StatusRedo
	// StatusImageOnly: the record's block references are full-page images
	// that are restored (XLOG FPI, FPI_FOR_HINT).
	StatusImageOnly
	// StatusNoPageEffect: the record has no block references. The ingest
	// mapping turns it into other edits (SLRU pages, relation sizes, drops,
	// relmap, two-phase and control state) or it needs nothing.
	StatusNoPageEffect
)

// String returns the wording used in docs/postgres-coverage.md.
func (s Status) String() string {
	switch s {
	case StatusRedo:
		return "redo in Go"
	case StatusImageOnly:
		return "restored image only"
	case StatusNoPageEffect:
		return "no page effect"
	}
	return "unsupported yet"
}

// rmgr is one resource manager's entry in the dispatch table.
type rmgr struct {
	status func(op uint8) Status
	redo   func(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error
	// setsLSN: the redo sets the page LSN itself (PageSetLSN where
	// PostgreSQL calls it); otherwise the dispatcher stamps rec.EndLSN.
	setsLSN bool
	// afterImage, if set, runs after a block's image was restored: for the
	// few redo routines that change a page even when its image was applied
	// (GiST's follow-right clearing).
	afterImage func(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error
}

func always(s Status) func(uint8) Status { return func(uint8) Status { return s } }

// redoIf maps an rmgr package's Supported(info) to StatusRedo/StatusUnsupported.
func redoIf(supported func(uint8) bool) func(uint8) Status {
	return func(op uint8) Status {
		if supported(op) {
			return StatusRedo
		}
		return StatusUnsupported
	}
}

// rmgrs is the dispatch table, indexed by rmgr id (rmgrlist.h order).
var rmgrs = [...]rmgr{
	wal.RmXLOG:       {status: xlogStatus, redo: xlogRedo},
	wal.RmXact:       {status: always(StatusNoPageEffect)},
	wal.RmSmgr:       {status: always(StatusNoPageEffect)},
	wal.RmCLOG:       {status: always(StatusNoPageEffect)},
	wal.RmDbase:      {status: always(StatusNoPageEffect)},
	wal.RmTblspc:     {status: always(StatusNoPageEffect)},
	wal.RmMultiXact:  {status: always(StatusNoPageEffect)},
	wal.RmRelMap:     {status: always(StatusNoPageEffect)},
	wal.RmStandby:    {status: always(StatusNoPageEffect)},
	wal.RmHeap2:      {status: heap2Status, redo: heapam.RedoHeap2, setsLSN: true},
	wal.RmHeap:       {status: heapStatus, redo: heapam.RedoHeap, setsLSN: true},
	wal.RmBtree:      {status: btreeStatus, redo: bytesRedo(nbtree.Redo)},
	wal.RmHash:       {status: always(StatusRedo), redo: bytesRedo(hashindex.Redo), setsLSN: true},
	wal.RmGin:        {status: ginPkgStatus, redo: bytesRedo(gin.Redo)},
	wal.RmGist:       {status: gistStatus, redo: gistRedo, afterImage: gistAfterImage},
	wal.RmSeq:        {status: seqStatus, redo: seqRedo},
	wal.RmSPGist:     {status: redoIf(spgist.Supported), redo: bytesRedo(spgist.Redo)},
	wal.RmBRIN:       {status: brinStatus, redo: brinRedo},
	wal.RmCommitTs:   {status: always(StatusNoPageEffect)},
	wal.RmReplOrigin: {status: always(StatusNoPageEffect)},
	wal.RmGeneric:    {status: always(StatusRedo), redo: genericRedo},
	wal.RmLogicalMsg: {status: always(StatusNoPageEffect)},
}

// ginPkgStatus: package gin replays every GIN record type; VACUUM_PAGE
// carries only a full-page image (ginRedoVacuumPage restores it).
func ginPkgStatus(op uint8) Status {
	if op == gin.VacuumPage {
		return StatusImageOnly
	}
	return redoIf(gin.Supported)(op)
}

func lookup(rmid uint8) *rmgr {
	if int(rmid) >= len(rmgrs) || rmgrs[rmid].status == nil {
		return nil
	}
	return &rmgrs[rmid]
}

// StatusOf returns how Strata handles records of rmgr rmid with xl_info info.
// Unknown rmgrs (custom ones included) are StatusUnsupported.
func StatusOf(rmid, info uint8) Status {
	r := lookup(rmid)
	if r == nil {
		return StatusUnsupported
	}
	return r.status(info & wal.RmgrInfoMask)
}

// Supported reports whether Strata handles records of rmgr rmid with xl_info
// info: by Go redo, by restoring images, or because they touch no page.
func Supported(rmid, info uint8) bool { return StatusOf(rmid, info) != StatusUnsupported }

// XLOG opcodes.
const (
	xlogFPIForHint = 0xA0
	xlogFPI        = 0xB0
)

func xlogStatus(op uint8) Status {
	if op == xlogFPI || op == xlogFPIForHint {
		return StatusImageOnly
	}
	return StatusNoPageEffect
}

// xlogRedo is reached only for XLOG blocks without an image to apply.
func xlogRedo(page.Page, *wal.Record, *wal.BlockRef) error {
	return errNoImage
}

var errNoImage = errorString("full-page image record without an image to apply")

type errorString string

func (e errorString) Error() string { return string(e) }

func heapStatus(op uint8) Status {
	if op&heapam.XLogHeapOpMask == heapam.XLogHeapTruncate {
		return StatusNoPageEffect
	}
	return redoIf(heapam.HeapSupported)(op)
}

func heap2Status(op uint8) Status {
	switch op & heapam.XLogHeapOpMask {
	case heapam.XLogHeap2NewCID, heapam.XLogHeap2Rewrite:
		return StatusNoPageEffect
	}
	return redoIf(heapam.Heap2Supported)(op)
}

// Sequence.
const (
	xlogSeqLog   = 0x00
	seqMagic     = 0x1717
	xlSeqRecSize = 12 // xl_seq_rec: RelFileNode
)

func seqStatus(op uint8) Status {
	if op == xlogSeqLog {
		return StatusRedo
	}
	return StatusUnsupported
}

// seqRedo rebuilds the sequence page (seq_redo): an empty page with a 4-byte
// special space holding SEQ_MAGIC and the logged tuple at offset 1.
func seqRedo(pg page.Page, rec *wal.Record, _ *wal.BlockRef) error {
	if len(rec.MainData) < xlSeqRecSize {
		return errorString("sequence record shorter than xl_seq_rec")
	}
	if err := pg.Init(4); err != nil {
		return err
	}
	sp := pg.Special()
	binary.LittleEndian.PutUint32(pg[sp:], seqMagic)
	if _, err := pg.AddItem(rec.MainData[xlSeqRecSize:], page.FirstOffsetNumber, 0); err != nil {
		return err
	}
	return nil
}

// bytesRedo adapts an rmgr redo written against []byte pages.
func bytesRedo(f func([]byte, *wal.Record, *wal.BlockRef) error) func(page.Page, *wal.Record, *wal.BlockRef) error {
	return func(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error { return f(pg, rec, blk) }
}

// btreeStatus: REUSE_PAGE carries no block reference (a hot-standby conflict
// hint); every other Btree record is replayed by package nbtree.
func btreeStatus(op uint8) Status {
	if op == nbtree.ReusePage {
		return StatusNoPageEffect
	}
	return StatusRedo
}

// genericRedo applies a generic WAL record's delta (generic_redo): a sequence
// of fragments {offset u16, length u16, bytes}, each copied into the page,
// then the hole [pd_lower, pd_upper) zeroed.
func genericRedo(pg page.Page, _ *wal.Record, blk *wal.BlockRef) error {
	d := blk.Data
	for len(d) > 0 {
		if len(d) < 4 {
			return errorString("generic record: truncated fragment header")
		}
		off, n := int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:]))
		d = d[4:]
		if n > len(d) || off+n > page.Size {
			return errorString("generic record: fragment outside the page or the record")
		}
		copy(pg[off:off+n], d[:n])
		d = d[n:]
	}
	lo, up := pg.Lower(), pg.Upper()
	if lo > up || up > page.Size {
		return errorString("generic record: page has pd_lower > pd_upper")
	}
	clear(pg[lo:up])
	return nil
}
