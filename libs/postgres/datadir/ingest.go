package datadir

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/heapam"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// XLOG rmgr opcodes this mapping reacts to.
const (
	xlogCheckpointShutdown = 0x00
	xlogCheckpointOnline   = 0x10
	xlogNextOid            = 0x30
	xlogFPIForHint         = 0xA0
	xlogFPI                = 0xB0
)

// Ingest turns one decoded record into puts at rec.EndLSN on sink. The
// caller makes them visible with FinishWrite(rec.EndLSN) afterwards.
func (in *Ingester) Ingest(ctx context.Context, rec *wal.Record, sink Sink) error {
	if rec.EndLSN <= in.tip {
		return fmt.Errorf("datadir: record at %s ends at %s, not after the ingested tip %s", rec.LSN, rec.EndLSN, in.tip)
	}
	in.begin(rec.EndLSN, sink)
	if err := in.ingest(ctx, rec); err != nil {
		return fmt.Errorf("datadir: ingest %s record at %s: %w", rec.TypeName(), rec.LSN, err)
	}
	if err := in.flushDirty(); err != nil {
		return fmt.Errorf("datadir: ingest %s record at %s: %w", rec.TypeName(), rec.LSN, err)
	}
	in.tip = rec.EndLSN
	return nil
}

func (in *Ingester) ingest(ctx context.Context, rec *wal.Record) error {
	if err := in.trackXid(ctx, rec.Xid); err != nil {
		return err
	}
	// Effects that are not block references come first: a relation created
	// by this record must exist before its blocks are stored.
	var err error
	switch rec.RmID {
	case wal.RmXLOG:
		err = in.xlog(ctx, rec)
	case wal.RmXact:
		err = in.xact(ctx, rec)
	case wal.RmSmgr:
		err = in.smgr(ctx, rec)
	case wal.RmCLOG:
		err = in.clog(ctx, rec)
	case wal.RmDbase:
		err = in.dbase(ctx, rec)
	case wal.RmMultiXact:
		err = in.multixact(ctx, rec)
	case wal.RmRelMap:
		err = in.relmap(ctx, rec)
	case wal.RmHeap, wal.RmHeap2:
		err = in.heapVM(ctx, rec)
	}
	if err != nil {
		return err
	}
	for i := range rec.Blocks {
		if err := in.block(ctx, rec, &rec.Blocks[i]); err != nil {
			return err
		}
	}
	return nil
}

// block stores the new version of one referenced page: the page itself when
// the record carries an image to apply, else the record for redo.
func (in *Ingester) block(ctx context.Context, rec *wal.Record, blk *wal.BlockRef) error {
	if err := in.extendRel(ctx, blk.Rel, blk.Blk); err != nil {
		return err
	}
	k := key.RelBlock(blk.Rel, blk.Blk)
	if blk.HasImage && blk.ApplyImage {
		pg := make([]byte, page.Size)
		if err := blk.RestoreImage(pg); err != nil {
			return fmt.Errorf("block %d of %s: %w", blk.Blk, blk.Rel, err)
		}
		if p := page.Page(pg); !p.IsNew() {
			p.SetLSN(rec.EndLSN)
		}
		return in.putImage(k, pg)
	}
	in.buf = redo.EncodePostgres(in.buf[:0], rec.EndLSN, rec.Raw)
	return in.putRecord(k, in.buf, blk.WillInit)
}

func (in *Ingester) xlog(ctx context.Context, rec *wal.Record) error {
	switch rec.Info & 0xF0 {
	case xlogNextOid:
		if len(rec.MainData) < 4 {
			return errShort("NEXTOID", len(rec.MainData))
		}
		cp, err := in.checkpoint(ctx)
		if err != nil {
			return err
		}
		cp.NextOid = binary.LittleEndian.Uint32(rec.MainData)
		in.dirtyCP = true
	case xlogCheckpointShutdown, xlogCheckpointOnline:
		return in.checkpointRecord(ctx, rec)
	}
	return nil
}

// heapVM clears visibility-map bits that heap records clear without naming
// the VM page as a block reference.
func (in *Ingester) heapVM(ctx context.Context, rec *wal.Record) error {
	newBlk, oldBlk, flags, ok := vmClears(rec)
	if !ok || len(rec.Blocks) == 0 {
		return nil
	}
	vm := rec.Blocks[0].Rel
	vm.Fork = key.ForkVM
	exists, err := in.relExists(ctx, vm)
	if err != nil || !exists {
		return err
	}
	size, err := in.relSize(ctx, vm)
	if err != nil {
		return err
	}
	put := func(vmBlk, newHeap, oldHeap uint32) error {
		if vmBlk >= size {
			return nil // beyond the VM: nothing set there to clear
		}
		in.buf = redo.EncodeClearVisibilityMap(in.buf[:0], newHeap, oldHeap, flags)
		return in.putRecord(key.RelBlock(vm, vmBlk), in.buf, false)
	}
	switch {
	case newBlk != redo.NoBlock && oldBlk != redo.NoBlock && heapam.VMBlock(newBlk) == heapam.VMBlock(oldBlk):
		return put(heapam.VMBlock(newBlk), newBlk, oldBlk)
	default:
		if newBlk != redo.NoBlock {
			if err := put(heapam.VMBlock(newBlk), newBlk, redo.NoBlock); err != nil {
				return err
			}
		}
		if oldBlk != redo.NoBlock {
			return put(heapam.VMBlock(oldBlk), redo.NoBlock, oldBlk)
		}
	}
	return nil
}

// vmClears decodes which heap blocks a heap record clears VM bits for.
func vmClears(rec *wal.Record) (newBlk, oldBlk uint32, flags uint8, ok bool) {
	newBlk, oldBlk = redo.NoBlock, redo.NoBlock
	d := rec.MainData
	blk := func(id uint8) uint32 {
		if b := rec.Block(id); b != nil {
			return b.Blk
		}
		return redo.NoBlock
	}
	op := rec.Info & 0x70
	if rec.RmID == wal.RmHeap {
		switch op {
		case heapam.XLogHeapInsert:
			if len(d) >= 3 && d[2]&0x01 != 0 { // XLH_INSERT_ALL_VISIBLE_CLEARED
				return blk(0), redo.NoBlock, heapam.VMValidBits, true
			}
		case heapam.XLogHeapDelete:
			if len(d) >= 8 && d[7]&0x01 != 0 { // XLH_DELETE_ALL_VISIBLE_CLEARED
				return blk(0), redo.NoBlock, heapam.VMValidBits, true
			}
		case heapam.XLogHeapUpdate, heapam.XLogHeapHotUpdate:
			if len(d) >= 8 {
				if d[7]&0x02 != 0 { // XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED
					newBlk = blk(0)
				}
				if d[7]&0x01 != 0 { // XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED
					if oldBlk = blk(1); oldBlk == redo.NoBlock {
						oldBlk = blk(0)
					}
				}
				return newBlk, oldBlk, heapam.VMValidBits, newBlk != redo.NoBlock || oldBlk != redo.NoBlock
			}
		case heapam.XLogHeapLock:
			if len(d) >= 8 && d[7]&0x01 != 0 { // XLH_LOCK_ALL_FROZEN_CLEARED
				return blk(0), redo.NoBlock, heapam.VMAllFrozen, true
			}
		}
		return newBlk, oldBlk, 0, false
	}
	switch op {
	case 0x50: // XLOG_HEAP2_MULTI_INSERT
		if len(d) >= 1 && d[0]&0x01 != 0 {
			return blk(0), redo.NoBlock, heapam.VMValidBits, true
		}
	case 0x60: // XLOG_HEAP2_LOCK_UPDATED
		if len(d) >= 8 && d[7]&0x01 != 0 {
			return blk(0), redo.NoBlock, heapam.VMAllFrozen, true
		}
	}
	return newBlk, oldBlk, 0, false
}

func (in *Ingester) smgr(ctx context.Context, rec *wal.Record) error {
	d := rec.MainData
	switch rec.Info & 0xF0 {
	case 0x10: // XLOG_SMGR_CREATE: RelFileNode, ForkNumber
		if len(d) < 16 {
			return errShort("SMGR CREATE", len(d))
		}
		r := relFileNode(d)
		r.Fork = uint8(binary.LittleEndian.Uint32(d[12:]))
		if r.Fork > key.ForkInit {
			return fmt.Errorf("SMGR CREATE of fork %d", r.Fork)
		}
		return in.createRel(ctx, r)
	case 0x20: // XLOG_SMGR_TRUNCATE: blkno, RelFileNode, flags
		if len(d) < 20 {
			return errShort("SMGR TRUNCATE", len(d))
		}
		blkno := binary.LittleEndian.Uint32(d)
		r := relFileNode(d[4:])
		flags := binary.LittleEndian.Uint32(d[16:])
		if flags&0x1 != 0 { // SMGR_TRUNCATE_HEAP
			if err := in.truncateRel(ctx, r, blkno); err != nil {
				return err
			}
		}
		if flags&0x4 != 0 { // SMGR_TRUNCATE_FSM: the FSM is a hint; PostgreSQL rebuilds a missing one
			fsm := r
			fsm.Fork = key.ForkFSM
			if err := in.truncateRel(ctx, fsm, 0); err != nil {
				return err
			}
		}
		if flags&0x2 != 0 { // SMGR_TRUNCATE_VM
			return in.truncateVM(ctx, r, blkno)
		}
	}
	return nil
}

func (in *Ingester) truncateVM(ctx context.Context, heap key.RelTag, nHeap uint32) error {
	vm := heap
	vm.Fork = key.ForkVM
	exists, err := in.relExists(ctx, vm)
	if err != nil || !exists {
		return err
	}
	size, err := in.relSize(ctx, vm)
	if err != nil {
		return err
	}
	vmBlk, truncByte, truncOffs := heapam.VMTruncatePoint(nHeap)
	keep := vmBlk
	if truncByte != 0 || truncOffs != 0 {
		if vmBlk < size {
			in.buf = redo.EncodeTruncateVisibilityMap(in.buf[:0], truncByte, truncOffs)
			if err := in.putRecord(key.RelBlock(vm, vmBlk), in.buf, false); err != nil {
				return err
			}
		}
		keep = vmBlk + 1
	}
	return in.truncateRel(ctx, vm, keep)
}

func (in *Ingester) relmap(ctx context.Context, rec *wal.Record) error {
	d := rec.MainData
	if len(d) < 12 {
		return errShort("RELMAP UPDATE", len(d))
	}
	db, spc, n := binary.LittleEndian.Uint32(d), binary.LittleEndian.Uint32(d[4:]), int(int32(binary.LittleEndian.Uint32(d[8:])))
	if n < 0 || len(d)-12 < n {
		return fmt.Errorf("RELMAP UPDATE announces %d bytes, has %d", n, len(d)-12)
	}
	if err := in.ensureDB(ctx, DB{spc, db}, true); err != nil {
		return err
	}
	return in.putImage(key.RelMap(spc, db), d[12:12+n])
}

func (in *Ingester) dbase(ctx context.Context, rec *wal.Record) error {
	d := rec.MainData
	le := binary.LittleEndian
	switch rec.Info & 0xF0 {
	case 0x00: // XLOG_DBASE_CREATE_FILE_COPY: db, spc, src db, src spc
		if len(d) < 16 {
			return errShort("DBASE CREATE_FILE_COPY", len(d))
		}
		return in.copyDB(ctx, DB{le.Uint32(d[4:]), le.Uint32(d)}, DB{le.Uint32(d[12:]), le.Uint32(d[8:])})
	case 0x10: // XLOG_DBASE_CREATE_WAL_LOG: db, spc; contents follow as their own records
		if len(d) < 8 {
			return errShort("DBASE CREATE_WAL_LOG", len(d))
		}
		return in.ensureDB(ctx, DB{le.Uint32(d[4:]), le.Uint32(d)}, false)
	case 0x20: // XLOG_DBASE_DROP: db, ntablespaces, tablespace ids
		if len(d) < 8 {
			return errShort("DBASE DROP", len(d))
		}
		db, n := le.Uint32(d), int(int32(le.Uint32(d[4:])))
		if n < 0 || len(d)-8 < 4*n {
			return fmt.Errorf("DBASE DROP announces %d tablespaces, has room for %d", n, (len(d)-8)/4)
		}
		for i := 0; i < n; i++ {
			if err := in.dropDB(ctx, DB{le.Uint32(d[8+4*i:]), db}); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyDB makes dst a copy of src as of the current tip: CREATE DATABASE with
// the file_copy strategy copies the template's files without logging them.
func (in *Ingester) copyDB(ctx context.Context, dst, src DB) error {
	srcRels, err := in.relDir(ctx, src)
	if err != nil {
		return err
	}
	if srcRels == nil {
		return fmt.Errorf("CREATE DATABASE copies database %d/%d, which does not exist", src.Spc, src.Db)
	}
	dbs, _ := in.loadDbs(ctx)
	if err := in.ensureDB(ctx, dst, dbs[src]); err != nil {
		return err
	}
	if dbs[src] {
		m, err := in.get(ctx, key.RelMap(src.Spc, src.Db))
		if err != nil {
			return err
		}
		if err := in.putImage(key.RelMap(dst.Spc, dst.Db), m); err != nil {
			return err
		}
	}
	for e := range srcRels {
		from := key.RelTag{SpcNode: src.Spc, DbNode: src.Db, RelNode: e.Rel, Fork: e.Fork}
		to := key.RelTag{SpcNode: dst.Spc, DbNode: dst.Db, RelNode: e.Rel, Fork: e.Fork}
		n, err := in.relSize(ctx, from)
		if err != nil {
			return err
		}
		if err := in.createRel(ctx, to); err != nil {
			return err
		}
		for b := uint32(0); b < n; b++ {
			pg, err := in.get(ctx, key.RelBlock(from, b))
			if err != nil {
				return err
			}
			if err := in.putImage(key.RelBlock(to, b), pg); err != nil {
				return err
			}
		}
		if err := in.setRelSize(to, n); err != nil {
			return err
		}
	}
	return nil
}

func relFileNode(d []byte) key.RelTag {
	le := binary.LittleEndian
	return key.RelTag{SpcNode: le.Uint32(d), DbNode: le.Uint32(d[4:]), RelNode: le.Uint32(d[8:])}
}

// xidFollowsOrEquals reports whether a >= b for xids in PostgreSQL's circular order.
func xidFollowsOrEquals(a, b uint32) bool { return int32(a-b) >= 0 }
