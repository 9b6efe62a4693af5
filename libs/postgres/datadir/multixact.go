package datadir

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/controlfile"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/slru"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func (in *Ingester) multixact(ctx context.Context, rec *wal.Record) error {
	d := rec.MainData
	le := binary.LittleEndian
	switch rec.Info & 0xF0 {
	case 0x00, 0x10: // ZERO_OFF_PAGE, ZERO_MEM_PAGE: pageno
		if len(d) < 4 {
			return errShort("MULTIXACT ZERO_PAGE", len(d))
		}
		kind := key.SLRUMultiXactOffsets
		if rec.Info&0xF0 == 0x10 {
			kind = key.SLRUMultiXactMembers
		}
		return in.zeroSLRUPage(ctx, kind, le.Uint32(d))
	case 0x20: // CREATE_ID: mid, moff, nmembers, members (xid, status)
		if len(d) < 12 {
			return errShort("MULTIXACT CREATE_ID", len(d))
		}
		mid, moff, n := le.Uint32(d), le.Uint32(d[4:]), int(int32(le.Uint32(d[8:])))
		if n < 0 || len(d)-12 < 8*n {
			return fmt.Errorf("MULTIXACT CREATE_ID announces %d members in %d bytes", n, len(d)-12)
		}
		members := make([]redo.Member, n)
		for i := range members {
			members[i] = redo.Member{Xid: le.Uint32(d[12+8*i:]), Status: le.Uint32(d[16+8*i:])}
		}
		return in.createMulti(ctx, mid, moff, members)
	case 0x30: // TRUNCATE_ID: oldestMultiDB, startTruncOff, endTruncOff, startTruncMemb, endTruncMemb
		if len(d) < 20 {
			return errShort("MULTIXACT TRUNCATE_ID", len(d))
		}
		startOff, endOff := le.Uint32(d[4:]), le.Uint32(d[8:])
		startMemb, endMemb := le.Uint32(d[12:]), le.Uint32(d[16:])
		segOf := func(page uint32) uint32 { s, _ := slru.SegmentBlock(page); return s }
		if err := in.dropSLRUSegments(ctx, key.SLRUMultiXactOffsets,
			cyclic(segOf(slru.MultiXactOffsetPage(startOff)), segOf(slru.MultiXactOffsetPage(endOff)))); err != nil {
			return err
		}
		if err := in.dropSLRUSegments(ctx, key.SLRUMultiXactMembers,
			cyclic(segOf(slru.MultiXactMemberPage(startMemb)), segOf(slru.MultiXactMemberPage(endMemb)))); err != nil {
			return err
		}
		cp, err := in.checkpoint(ctx)
		if err != nil {
			return err
		}
		cp.OldestMulti, cp.OldestMultiDB = endOff, le.Uint32(d)
		in.dirtyCP = true
	}
	return nil
}

// cyclic returns a predicate for segment numbers in [start, end) on a circle.
func cyclic(start, end uint32) func(uint32) bool {
	return func(s uint32) bool {
		if start <= end {
			return s >= start && s < end
		}
		return s >= start || s < end
	}
}

// createMulti writes the offset of multixact mid and its members, one record
// per SLRU page touched, and advances nextMulti, nextMultiOffset and nextXid.
func (in *Ingester) createMulti(ctx context.Context, mid, moff uint32, members []redo.Member) error {
	// PostgreSQL (15.18 and later minor versions) also sets the offset of
	// the next multixact to the end of these members, skipping 0 for both.
	next, nextOff := mid+1, moff+uint32(len(members))
	if next == 0 {
		next = 1
	}
	if nextOff == 0 {
		nextOff = 1
	}
	pageno := slru.MultiXactOffsetPage(mid)
	k, ok, err := in.slruPageKey(ctx, key.SLRUMultiXactOffsets, pageno)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("multixact offsets page of %d does not exist", mid)
	}
	pairs := [][2]uint32{{mid, moff}}
	if slru.MultiXactOffsetPage(next) == pageno {
		pairs = append(pairs, [2]uint32{next, nextOff})
	}
	in.buf = redo.EncodeMultiXactOffsetCreate(in.buf[:0], pairs...)
	if err := in.putRecord(k, in.buf, false); err != nil {
		return err
	}
	if len(pairs) == 1 {
		// The next page exists once the primary zeroed it (it does so before
		// handing out the first multixact on it); older minor versions did
		// not, and then there is nothing to write yet.
		nk, ok, err := in.slruPageKey(ctx, key.SLRUMultiXactOffsets, slru.MultiXactOffsetPage(next))
		if err != nil {
			return err
		}
		if ok {
			in.buf = redo.EncodeMultiXactOffsetCreate(in.buf[:0], [2]uint32{next, nextOff})
			if err := in.putRecord(nk, in.buf, false); err != nil {
				return err
			}
		}
	}
	for i := 0; i < len(members); {
		off := moff + uint32(i)
		pageno := slru.MultiXactMemberPage(off)
		j := i + 1
		for j < len(members) && slru.MultiXactMemberPage(moff+uint32(j)) == pageno {
			j++
		}
		k, ok, err := in.slruPageKey(ctx, key.SLRUMultiXactMembers, pageno)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("multixact members page %d does not exist", pageno)
		}
		in.buf = redo.EncodeMultiXactMembersCreate(in.buf[:0], off, members[i:j])
		if err := in.putRecord(k, in.buf, false); err != nil {
			return err
		}
		i = j
	}
	for _, m := range members {
		if err := in.trackXid(ctx, m.Xid); err != nil {
			return err
		}
	}
	cp, err := in.checkpoint(ctx)
	if err != nil {
		return err
	}
	nextMulti := mid + 1
	if nextMulti == 0 { // FirstMultiXactId is 1
		nextMulti = 1
	}
	if int32(nextMulti-cp.NextMulti) > 0 {
		cp.NextMulti = nextMulti
		in.dirtyCP = true
	}
	if nextOff := moff + uint32(len(members)); int32(nextOff-cp.NextMultiOffset) > 0 {
		cp.NextMultiOffset = nextOff
		in.dirtyCP = true
	}
	return nil
}

// checkpointRecord folds a checkpoint record's control values into the
// tracked ones, as PostgreSQL's redo does: next ids only move forward; a
// shutdown checkpoint sets the oldest ids, an online one only advances them.
func (in *Ingester) checkpointRecord(ctx context.Context, rec *wal.Record) error {
	rc, err := controlfile.DecodeCheckPoint(rec.MainData)
	if err != nil {
		return fmt.Errorf("checkpoint record: %w", err)
	}
	cp, err := in.checkpoint(ctx)
	if err != nil {
		return err
	}
	shutdown := rec.Info&0xF0 == xlogCheckpointShutdown
	before := *cp
	if rc.NextXid > cp.NextXid {
		cp.NextXid = rc.NextXid
	}
	if shutdown {
		cp.NextOid = rc.NextOid
	}
	if int32(rc.NextMulti-cp.NextMulti) > 0 {
		cp.NextMulti = rc.NextMulti
	}
	if int32(rc.NextMultiOffset-cp.NextMultiOffset) > 0 {
		cp.NextMultiOffset = rc.NextMultiOffset
	}
	if shutdown || !xidFollowsOrEquals(cp.OldestXid, rc.OldestXid) {
		cp.OldestXid, cp.OldestXidDB = rc.OldestXid, rc.OldestXidDB
	}
	if shutdown || int32(rc.OldestMulti-cp.OldestMulti) > 0 {
		cp.OldestMulti, cp.OldestMultiDB = rc.OldestMulti, rc.OldestMultiDB
	}
	cp.ThisTimeLineID, cp.PrevTimeLineID = rc.ThisTimeLineID, rc.PrevTimeLineID
	cp.OldestCommitTsXid, cp.NewestCommitTsXid = rc.OldestCommitTsXid, rc.NewestCommitTsXid
	if *cp != before {
		in.dirtyCP = true
	}
	return nil
}
