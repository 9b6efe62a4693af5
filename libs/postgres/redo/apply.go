package redo

import (
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/heapam"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/slru"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Record is one stored WAL-record value to apply: the LSN it is stored at
// (the record's end LSN) and its Strata encoding (value.go).
type Record struct {
	LSN  lsn.LSN
	Data []byte
}

// Apply rebuilds the page of key k: base (nil when the first record
// initializes the page by itself) with records applied in order. It returns a
// new page.Size buffer. See Applier.ApplyInto.
func Apply(k key.Key, base []byte, records []Record) ([]byte, error) {
	var a Applier
	return a.ApplyInto(nil, k, base, records)
}

// Applier applies Strata records, reusing its decoding scratch between calls.
// The zero value is ready to use. Not safe for concurrent use.
type Applier struct {
	rec wal.Record
}

// ApplyInto is Apply writing into dst (grown to page.Size if its capacity is
// smaller; its contents are overwritten) and returning it. base may alias
// dst. k must be a relation block key (Postgres and visibility-map records) or
// an SLRU page key (CLOG and multixact records).
func (a *Applier) ApplyInto(dst []byte, k key.Key, base []byte, records []Record) ([]byte, error) {
	if cap(dst) < page.Size {
		dst = make([]byte, page.Size)
	}
	dst = dst[:page.Size]
	switch {
	case base == nil:
		clear(dst)
	case len(base) != page.Size:
		return nil, fmt.Errorf("apply to key %s: base image has %d bytes, want %d", k, len(base), page.Size)
	case &base[0] != &dst[0]:
		copy(dst, base)
	}
	for i := range records {
		if err := a.applyOne(dst, k, base == nil && i == 0, &records[i]); err != nil {
			return nil, fmt.Errorf("apply record %d of %d at %s to key %s: %w", i+1, len(records), records[i].LSN, k, err)
		}
	}
	return dst, nil
}

func (a *Applier) applyOne(pg []byte, k key.Key, noBase bool, r *Record) error {
	op, err := DecodeOp(r.Data)
	if err != nil {
		return err
	}
	if noBase && op.Tag != TagPostgres {
		return fmt.Errorf("%s needs a base image", op.String())
	}
	switch op.Tag {
	case TagPostgres:
		return a.applyPostgres(pg, k, noBase, &op)
	case TagClearVisibilityMap, TagTruncateVisibilityMap:
		return applyVM(pg, k, &op)
	}
	return applySLRU(pg, k, &op)
}

func (a *Applier) applyPostgres(pg []byte, k key.Key, noBase bool, op *Op) error {
	rel, ok := k.RelTag()
	if !ok || !k.IsRelBlock() {
		return fmt.Errorf("postgres record for non-relation key")
	}
	if err := wal.DecodeInto(&a.rec, op.Raw, lsn.Invalid, op.EndLSN); err != nil {
		return err
	}
	for i := range a.rec.Blocks {
		b := &a.rec.Blocks[i]
		if b.Rel != rel || b.Blk != k.Field6 {
			continue
		}
		if noBase && !b.WillInit && !(b.HasImage && b.ApplyImage) {
			return fmt.Errorf("%s block %d needs a base image", recordAt(&a.rec), b.ID)
		}
		return applyBlock(page.Page(pg), &a.rec, b)
	}
	return fmt.Errorf("%s: %s blk %d: %w", recordAt(&a.rec), rel, k.Field6, ErrNoBlock)
}

func applyVM(pg []byte, k key.Key, op *Op) error {
	rel, ok := k.RelTag()
	if !ok || !k.IsRelBlock() || rel.Fork != key.ForkVM {
		return fmt.Errorf("%s for a key that is not a visibility-map page", op.String())
	}
	vmBlk := k.Field6
	if op.Tag == TagTruncateVisibilityMap {
		return heapam.VMTruncate(pg, op.TruncByte, op.TruncOffs)
	}
	n := 0
	for _, hb := range []uint32{op.NewHeapBlk, op.OldHeapBlk} {
		if hb == NoBlock {
			continue
		}
		if err := heapam.VMClear(pg, vmBlk, hb, op.Flags); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s names no heap block", op.String())
	}
	return nil
}

func applySLRU(pg []byte, k key.Key, op *Op) error {
	kind, segno, blk, ok := k.SLRUPage()
	if !ok {
		return fmt.Errorf("%s for a key that is not an SLRU page", op.String())
	}
	pageno := slru.PageNo(segno, blk)
	if kind != slruKindOf(op.Tag) {
		return fmt.Errorf("%s for SLRU kind %d", op.String(), kind)
	}
	switch op.Tag {
	case TagClogSetCommitted, TagClogSetAborted:
		status := uint8(slru.StatusCommitted)
		if op.Tag == TagClogSetAborted {
			status = slru.StatusAborted
		}
		for i := 0; i < op.NumXids(); i++ {
			if err := slru.ClogSetStatus(pg, pageno, op.Xid(i), status); err != nil {
				return err
			}
		}
	case TagMultiXactOffsetCreate:
		for i := 0; i < op.NumOffsets(); i++ {
			mid, moff := op.Offset(i)
			if err := slru.MultiXactSetOffset(pg, pageno, mid, moff); err != nil {
				return err
			}
		}
	case TagMultiXactMembersCreate:
		for i := 0; i < op.NumMembers(); i++ {
			m := op.Member(i)
			if err := slru.MultiXactSetMember(pg, pageno, op.Moff+uint32(i), m.Xid, m.Status); err != nil {
				return err
			}
		}
	}
	return nil
}

// slruKindOf returns the SLRU an op applies to.
func slruKindOf(tag byte) uint32 {
	switch tag {
	case TagClogSetCommitted, TagClogSetAborted:
		return key.SLRUClog
	case TagMultiXactOffsetCreate:
		return key.SLRUMultiXactOffsets
	case TagMultiXactMembersCreate:
		return key.SLRUMultiXactMembers
	}
	return ^uint32(0)
}
