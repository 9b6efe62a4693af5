package datadir

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/slru"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Transaction rmgr opcodes and xinfo bits (access/xact.h).
const (
	xactCommit         = 0x00
	xactPrepare        = 0x10
	xactAbort          = 0x20
	xactCommitPrepared = 0x30
	xactAbortPrepared  = 0x40
	xactAssignment     = 0x50
	xactOpMask         = 0x70
	xactHasInfo        = 0x80

	xinfoHasDBInfo       = 1 << 0
	xinfoHasSubxacts     = 1 << 1
	xinfoHasRelFileNodes = 1 << 2
	xinfoHasInvals       = 1 << 3
	xinfoHasTwoPhase     = 1 << 4
	xinfoHasDroppedStats = 1 << 8

	firstNormalXid = 3
)

// xactRecord is the part of a commit or abort record the mapping needs.
type xactRecord struct {
	time         int64
	subxacts     []uint32
	rels         []key.RelTag
	twoPhaseXid  uint32
	hasTwoPhase  bool
	isCommitKind bool
}

// parseXact decodes xl_xact_commit / xl_xact_abort main data (PG15 order:
// time, xinfo, dbinfo, subxacts, relfilenodes, dropped stats, invals,
// twophase).
func parseXact(info uint8, d []byte, commit bool) (xactRecord, error) {
	le := binary.LittleEndian
	var x xactRecord
	x.isCommitKind = commit
	need := func(n int, what string) error {
		if len(d) < n {
			return fmt.Errorf("transaction record: %s needs %d bytes, %d left", what, n, len(d))
		}
		return nil
	}
	if err := need(8, "time"); err != nil {
		return x, err
	}
	x.time = int64(le.Uint64(d))
	d = d[8:]
	var xinfo uint32
	if info&xactHasInfo != 0 {
		if err := need(4, "xinfo"); err != nil {
			return x, err
		}
		xinfo = le.Uint32(d)
		d = d[4:]
	}
	if xinfo&xinfoHasDBInfo != 0 {
		if err := need(8, "dbinfo"); err != nil {
			return x, err
		}
		d = d[8:]
	}
	count := func(size int, what string) (int, error) {
		if err := need(4, what); err != nil {
			return 0, err
		}
		n := int(int32(le.Uint32(d)))
		d = d[4:]
		if n < 0 || n > len(d)/size {
			return 0, fmt.Errorf("transaction record: %d %s do not fit in %d bytes", n, what, len(d))
		}
		return n, nil
	}
	if xinfo&xinfoHasSubxacts != 0 {
		n, err := count(4, "subtransactions")
		if err != nil {
			return x, err
		}
		for i := 0; i < n; i++ {
			x.subxacts = append(x.subxacts, le.Uint32(d[4*i:]))
		}
		d = d[4*n:]
	}
	if xinfo&xinfoHasRelFileNodes != 0 {
		n, err := count(12, "relations")
		if err != nil {
			return x, err
		}
		for i := 0; i < n; i++ {
			x.rels = append(x.rels, relFileNode(d[12*i:]))
		}
		d = d[12*n:]
	}
	if xinfo&xinfoHasDroppedStats != 0 {
		n, err := count(12, "dropped stats")
		if err != nil {
			return x, err
		}
		d = d[12*n:]
	}
	if commit && xinfo&xinfoHasInvals != 0 {
		n, err := count(16, "invalidations")
		if err != nil {
			return x, err
		}
		d = d[16*n:]
	}
	if xinfo&xinfoHasTwoPhase != 0 {
		if err := need(4, "two-phase xid"); err != nil {
			return x, err
		}
		x.twoPhaseXid, x.hasTwoPhase = le.Uint32(d), true
	}
	return x, nil
}

func (in *Ingester) xact(ctx context.Context, rec *wal.Record) error {
	op := rec.Info & xactOpMask
	switch op {
	case xactCommit, xactAbort, xactCommitPrepared, xactAbortPrepared:
		x, err := parseXact(rec.Info, rec.MainData, op == xactCommit || op == xactCommitPrepared)
		if err != nil {
			return err
		}
		xid := rec.Xid
		if op == xactCommitPrepared || op == xactAbortPrepared {
			if !x.hasTwoPhase {
				return fmt.Errorf("%s record without the prepared transaction's xid", rec.TypeName())
			}
			xid = x.twoPhaseXid
		}
		return in.finishXact(ctx, xid, x, op == xactCommitPrepared || op == xactAbortPrepared)
	case xactPrepare:
		return in.prepare(ctx, rec)
	case xactAssignment: // xtop, nsubxacts, subxids
		d := rec.MainData
		if len(d) < 8 {
			return errShort("XACT ASSIGNMENT", len(d))
		}
		n := int(int32(binary.LittleEndian.Uint32(d[4:])))
		if n < 0 || len(d)-8 < 4*n {
			return fmt.Errorf("XACT ASSIGNMENT announces %d subtransactions", n)
		}
		for i := 0; i < n; i++ {
			if err := in.trackXid(ctx, binary.LittleEndian.Uint32(d[8+4*i:])); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishXact records the outcome of xid and its subtransactions in CLOG,
// drops the relations the transaction dropped (at commit) or created (at
// abort), and forgets a prepared transaction.
func (in *Ingester) finishXact(ctx context.Context, xid uint32, x xactRecord, prepared bool) error {
	xids := append([]uint32{xid}, x.subxacts...)
	for _, s := range x.subxacts {
		if err := in.trackXid(ctx, s); err != nil {
			return err
		}
	}
	if err := in.setClog(ctx, xids, x.time, x.isCommitKind); err != nil {
		return err
	}
	for _, r := range x.rels {
		for fork := key.ForkMain; fork <= key.ForkInit; fork++ {
			r.Fork = fork
			if err := in.dropRel(ctx, r); err != nil {
				return err
			}
		}
	}
	if prepared {
		tp, err := in.loadTwoPhase(ctx)
		if err != nil {
			return err
		}
		if _, ok := tp[xid]; ok {
			delete(tp, xid)
			in.dirty2PC = true
		}
	}
	return nil
}

// setClog writes one Clog record per CLOG page the xids live on.
func (in *Ingester) setClog(ctx context.Context, xids []uint32, ts int64, committed bool) error {
	slices.SortFunc(xids, func(a, b uint32) int { return cmpU32(slru.ClogPage(a), slru.ClogPage(b)) })
	for len(xids) > 0 {
		pageno := slru.ClogPage(xids[0])
		n := 1
		for n < len(xids) && slru.ClogPage(xids[n]) == pageno {
			n++
		}
		k, ok, err := in.slruPageKey(ctx, key.SLRUClog, pageno)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("CLOG page %d of xid %d does not exist", pageno, xids[0])
		}
		if committed {
			in.buf = redo.EncodeClogSetCommitted(in.buf[:0], xids[:n], ts)
		} else {
			in.buf = redo.EncodeClogSetAborted(in.buf[:0], xids[:n])
		}
		if err := in.putRecord(k, in.buf, false); err != nil {
			return err
		}
		xids = xids[n:]
	}
	return nil
}

// prepare keeps the two-phase state of a prepared transaction: the record's
// main data is the state file's content (basebackup appends its CRC).
func (in *Ingester) prepare(ctx context.Context, rec *wal.Record) error {
	tp, err := in.loadTwoPhase(ctx)
	if err != nil {
		return err
	}
	tp[rec.Xid] = struct{}{}
	in.dirty2PC = true
	return in.putImage(key.TwoPhaseFile(rec.Xid), rec.MainData)
}

func (in *Ingester) clog(ctx context.Context, rec *wal.Record) error {
	d := rec.MainData
	le := binary.LittleEndian
	switch rec.Info & 0xF0 {
	case 0x00: // CLOG_ZEROPAGE: pageno
		if len(d) < 4 {
			return errShort("CLOG ZEROPAGE", len(d))
		}
		return in.zeroSLRUPage(ctx, key.SLRUClog, le.Uint32(d))
	case 0x10: // CLOG_TRUNCATE: pageno, oldestXact, oldestXactDb
		if len(d) < 12 {
			return errShort("CLOG TRUNCATE", len(d))
		}
		cutoff := le.Uint32(d)
		if err := in.dropSLRUSegments(ctx, key.SLRUClog, func(seg uint32) bool {
			first := seg * slru.PagesPerSegment
			return clogPagePrecedes(first, cutoff) && clogPagePrecedes(first+slru.PagesPerSegment-1, cutoff)
		}); err != nil {
			return err
		}
		cp, err := in.checkpoint(ctx)
		if err != nil {
			return err
		}
		if oldest := le.Uint32(d[4:]); !xidFollowsOrEquals(cp.OldestXid, oldest) {
			cp.OldestXid, cp.OldestXidDB = oldest, le.Uint32(d[8:])
			in.dirtyCP = true
		}
	}
	return nil
}

// clogPagePrecedes is PostgreSQL's ClogPagePrecedes: page p1 is older than p2
// in the circular xid space.
func clogPagePrecedes(p1, p2 uint32) bool {
	x1 := p1*slru.ClogXactsPerPage + firstNormalXid + 1
	x2 := p2*slru.ClogXactsPerPage + firstNormalXid + 1
	return int32(x1-x2) < 0 && int32(x1-(x2+slru.ClogXactsPerPage-1)) < 0
}

// trackXid advances the tracked nextXid (with epoch) past xid.
func (in *Ingester) trackXid(ctx context.Context, xid uint32) error {
	if xid < firstNormalXid {
		return nil
	}
	cp, err := in.checkpoint(ctx)
	if err != nil {
		return err
	}
	next := uint32(cp.NextXid)
	if !xidFollowsOrEquals(xid, next) {
		return nil
	}
	epoch := cp.NextXid >> 32
	if xid < next { // xid wrapped around past 2^32
		epoch++
	}
	full := epoch<<32 | uint64(xid)
	full++
	if uint32(full) < firstNormalXid {
		full += firstNormalXid - uint64(uint32(full))
	}
	cp.NextXid = full
	in.dirtyCP = true
	return nil
}
