package datadir

import (
	"context"
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/slru"
)

var zeroPage = make([]byte, 8192)

// ensureDB adds a database directory entry (and an empty relation
// directory) if it is missing. withRelMap marks it as having a relmap file.
func (in *Ingester) ensureDB(ctx context.Context, db DB, withRelMap bool) error {
	dbs, err := in.loadDbs(ctx)
	if err != nil {
		return err
	}
	had, ok := dbs[db]
	if ok && (had || !withRelMap) {
		return nil
	}
	dbs[db] = had || withRelMap
	in.dirtyDbs = true
	if !ok {
		in.rels[db] = map[relEntry]struct{}{}
		in.dirtyRels[db] = true
	}
	return nil
}

// createRel adds a relation fork of size 0 if it does not exist.
func (in *Ingester) createRel(ctx context.Context, r key.RelTag) error {
	db := DB{r.SpcNode, r.DbNode}
	if err := in.ensureDB(ctx, db, false); err != nil {
		return err
	}
	d, err := in.relDir(ctx, db)
	if err != nil {
		return err
	}
	e := relEntry{r.RelNode, r.Fork}
	if _, ok := d[e]; ok {
		return nil
	}
	d[e] = struct{}{}
	in.dirtyRels[db] = true
	return in.setRelSize(r, 0)
}

func (in *Ingester) setRelSize(r key.RelTag, n uint32) error {
	in.sizes[r] = n
	return in.putImage(key.RelSize(r), encodeSize(n))
}

// extendRel makes sure block blk exists: a missing relation is created and
// blocks between the old end and blk become zero pages, as PostgreSQL's
// smgrextend leaves them.
func (in *Ingester) extendRel(ctx context.Context, r key.RelTag, blk uint32) error {
	if err := in.createRel(ctx, r); err != nil {
		return err
	}
	n, err := in.relSize(ctx, r)
	if err != nil {
		return err
	}
	if blk < n {
		return nil
	}
	for b := n; b < blk; b++ {
		if err := in.putImage(key.RelBlock(r, b), zeroPage); err != nil {
			return err
		}
	}
	return in.setRelSize(r, blk+1)
}

// truncateRel shrinks an existing relation fork to n blocks (no-op if it is
// already that small or does not exist).
func (in *Ingester) truncateRel(ctx context.Context, r key.RelTag, n uint32) error {
	ok, err := in.relExists(ctx, r)
	if err != nil || !ok {
		return err
	}
	cur, err := in.relSize(ctx, r)
	if err != nil {
		return err
	}
	if n >= cur {
		return nil
	}
	return in.setRelSize(r, n)
}

// dropRel removes a relation fork from its directory.
func (in *Ingester) dropRel(ctx context.Context, r key.RelTag) error {
	db := DB{r.SpcNode, r.DbNode}
	d, err := in.relDir(ctx, db)
	if err != nil || d == nil {
		return err
	}
	e := relEntry{r.RelNode, r.Fork}
	if _, ok := d[e]; !ok {
		return nil
	}
	delete(d, e)
	delete(in.sizes, r)
	in.dirtyRels[db] = true
	return nil
}

// dropDB removes a database and every relation in it.
func (in *Ingester) dropDB(ctx context.Context, db DB) error {
	dbs, err := in.loadDbs(ctx)
	if err != nil {
		return err
	}
	if _, ok := dbs[db]; !ok {
		return nil
	}
	d, err := in.relDir(ctx, db)
	if err != nil {
		return err
	}
	for e := range d {
		delete(in.sizes, key.RelTag{SpcNode: db.Spc, DbNode: db.Db, RelNode: e.Rel, Fork: e.Fork})
	}
	delete(dbs, db)
	delete(in.rels, db)
	delete(in.dirtyRels, db)
	in.dirtyDbs = true
	return nil
}

// zeroSLRUPage writes a zero page at pageno, creating or growing its segment.
func (in *Ingester) zeroSLRUPage(ctx context.Context, kind, pageno uint32) error {
	segno, blk := slru.SegmentBlock(pageno)
	segs, err := in.segments(ctx, kind)
	if err != nil {
		return err
	}
	var size uint32
	if _, ok := segs[segno]; ok {
		if size, err = in.segmentSize(ctx, kind, segno); err != nil {
			return err
		}
	} else {
		segs[segno] = struct{}{}
		in.dirtySegs[kind] = true
	}
	if err := in.putImage(key.SLRUBlock(kind, segno, blk), zeroPage); err != nil {
		return err
	}
	if blk >= size {
		// PostgreSQL writes SLRU pages in order; pages in a gap are zeros.
		for b := size; b < blk; b++ {
			if err := in.putImage(key.SLRUBlock(kind, segno, b), zeroPage); err != nil {
				return err
			}
		}
		in.slruSizes[slruSeg{kind, segno}] = blk + 1
		return in.putImage(key.SLRUSegSize(kind, segno), encodeSize(blk+1))
	}
	return nil
}

// dropSLRUSegments removes the segments for which drop(segno) is true.
func (in *Ingester) dropSLRUSegments(ctx context.Context, kind uint32, drop func(segno uint32) bool) error {
	segs, err := in.segments(ctx, kind)
	if err != nil {
		return err
	}
	for s := range segs {
		if drop(s) {
			delete(segs, s)
			delete(in.slruSizes, slruSeg{kind, s})
			in.dirtySegs[kind] = true
		}
	}
	return nil
}

// slruPageKey returns the key of an SLRU page if its segment exists and is
// long enough, so special records are never put where no base image exists.
func (in *Ingester) slruPageKey(ctx context.Context, kind, pageno uint32) (key.Key, bool, error) {
	segno, blk := slru.SegmentBlock(pageno)
	segs, err := in.segments(ctx, kind)
	if err != nil {
		return key.Key{}, false, err
	}
	if _, ok := segs[segno]; !ok {
		return key.Key{}, false, nil
	}
	n, err := in.segmentSize(ctx, kind, segno)
	if err != nil {
		return key.Key{}, false, err
	}
	if blk >= n {
		return key.Key{}, false, nil
	}
	return key.SLRUBlock(kind, segno, blk), true, nil
}

func errShort(what string, n int) error {
	return fmt.Errorf("datadir: %s record is too short (%d bytes)", what, n)
}
