// Package datadir maps a PostgreSQL 15 cluster onto Strata's key space: it
// turns decoded WAL records into key/value puts (the ingest side) and answers
// "what does the data directory look like at LSN X" (the read side).
//
// Every value lives under a key of package key: relation pages and sizes,
// database and relation directories, relmap files, SLRU pages and segment
// directories, two-phase state files, pg_control and the tracked checkpoint
// values. Directories are authoritative: a relation, segment or prepared
// transaction exists at X only if its directory lists it at X; keys of
// dropped things are left behind and never read.
//
// Ingest side (one Ingester per timeline, one goroutine):
//
//	in := datadir.NewIngester(tl, tl.LastRecordLSN())
//	w := tl.Writer()
//	err := in.Ingest(ctx, rec, w)   // puts at rec.EndLSN
//	err = w.FinishWrite(rec.EndLSN)
//
// The Ingester caches the directories and sizes it has read or written, so
// most records cost no reads. If Ingest fails, the cache may be ahead of the
// store: the timeline must stop ingesting (it becomes Broken).
//
// Read side: At(store, lsn) is a read-only view implementing the basebackup
// Source and the page API's metadata calls.
package datadir

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

// Store reads values of a timeline (timeline.Timeline satisfies it).
type Store interface {
	Get(ctx context.Context, k key.Key, at lsn.LSN) ([]byte, error)
}

// Sink takes the puts of one record, all at one LSN (timeline.Writer
// satisfies it).
type Sink interface {
	Put(k key.Key, at lsn.LSN, v value.Value) error
}

// ErrNoRelation is returned for reads of relations that do not exist at the
// requested LSN.
var ErrNoRelation = errors.New("relation does not exist")

type slruSeg struct{ kind, segno uint32 }

// Ingester maps decoded WAL records of one timeline to puts. It is not safe
// for concurrent use.
type Ingester struct {
	store Store
	tip   lsn.LSN // everything ingested so far is readable at tip

	dbs       map[DB]bool // nil until loaded
	rels      map[DB]map[relEntry]struct{}
	sizes     map[key.RelTag]uint32
	slruSegs  map[uint32]map[uint32]struct{}
	slruSizes map[slruSeg]uint32
	twoPhase  map[uint32]struct{} // nil until loaded
	cp        *controlfile.CheckPoint

	// per record
	at        lsn.LSN
	sink      Sink
	dirtyDbs  bool
	dirtyRels map[DB]bool
	dirtySegs map[uint32]bool
	dirty2PC  bool
	dirtyCP   bool
	buf       []byte
}

// NewIngester returns an Ingester for a timeline whose ingested WAL ends at
// tip (its last_record_lsn).
func NewIngester(store Store, tip lsn.LSN) *Ingester {
	return &Ingester{
		store:     store,
		tip:       tip,
		rels:      map[DB]map[relEntry]struct{}{},
		sizes:     map[key.RelTag]uint32{},
		slruSegs:  map[uint32]map[uint32]struct{}{},
		slruSizes: map[slruSeg]uint32{},
	}
}

// Tip is the LSN up to which records have been ingested.
func (in *Ingester) Tip() lsn.LSN { return in.tip }

func (in *Ingester) get(ctx context.Context, k key.Key) ([]byte, error) {
	b, err := in.store.Get(ctx, k, in.tip)
	if err != nil {
		return nil, fmt.Errorf("datadir: read %s at %s: %w", k, in.tip, err)
	}
	return b, nil
}

func (in *Ingester) loadDbs(ctx context.Context) (map[DB]bool, error) {
	if in.dbs == nil {
		b, err := in.get(ctx, key.DbDir())
		if err != nil {
			return nil, err
		}
		if in.dbs, err = decodeDbDir(b); err != nil {
			return nil, err
		}
	}
	return in.dbs, nil
}

// relDir returns the relation directory of db, loading it if the database
// exists; nil if it does not.
func (in *Ingester) relDir(ctx context.Context, db DB) (map[relEntry]struct{}, error) {
	if d, ok := in.rels[db]; ok {
		return d, nil
	}
	dbs, err := in.loadDbs(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := dbs[db]; !ok {
		return nil, nil
	}
	b, err := in.get(ctx, key.RelDir(db.Spc, db.Db))
	if err != nil {
		return nil, err
	}
	d, err := decodeRelDir(b)
	if err != nil {
		return nil, err
	}
	in.rels[db] = d
	return d, nil
}

func (in *Ingester) relExists(ctx context.Context, r key.RelTag) (bool, error) {
	d, err := in.relDir(ctx, DB{r.SpcNode, r.DbNode})
	if err != nil || d == nil {
		return false, err
	}
	_, ok := d[relEntry{r.RelNode, r.Fork}]
	return ok, nil
}

// relSize returns the size of an existing relation fork.
func (in *Ingester) relSize(ctx context.Context, r key.RelTag) (uint32, error) {
	if n, ok := in.sizes[r]; ok {
		return n, nil
	}
	b, err := in.get(ctx, key.RelSize(r))
	if err != nil {
		return 0, err
	}
	n, err := decodeSize(b, key.RelSize(r))
	if err != nil {
		return 0, err
	}
	in.sizes[r] = n
	return n, nil
}

func (in *Ingester) segments(ctx context.Context, kind uint32) (map[uint32]struct{}, error) {
	if s, ok := in.slruSegs[kind]; ok {
		return s, nil
	}
	b, err := in.get(ctx, key.SLRUDir(kind))
	if err != nil {
		return nil, err
	}
	s, err := decodeSet(b, "SLRU directory")
	if err != nil {
		return nil, err
	}
	in.slruSegs[kind] = s
	return s, nil
}

func (in *Ingester) segmentSize(ctx context.Context, kind, segno uint32) (uint32, error) {
	if n, ok := in.slruSizes[slruSeg{kind, segno}]; ok {
		return n, nil
	}
	k := key.SLRUSegSize(kind, segno)
	b, err := in.get(ctx, k)
	if err != nil {
		return 0, err
	}
	n, err := decodeSize(b, k)
	if err != nil {
		return 0, err
	}
	in.slruSizes[slruSeg{kind, segno}] = n
	return n, nil
}

func (in *Ingester) loadTwoPhase(ctx context.Context) (map[uint32]struct{}, error) {
	if in.twoPhase == nil {
		b, err := in.get(ctx, key.TwoPhaseDir())
		if err != nil {
			return nil, err
		}
		if in.twoPhase, err = decodeSet(b, "two-phase directory"); err != nil {
			return nil, err
		}
	}
	return in.twoPhase, nil
}

func (in *Ingester) checkpoint(ctx context.Context) (*controlfile.CheckPoint, error) {
	if in.cp == nil {
		b, err := in.get(ctx, key.Checkpoint())
		if err != nil {
			return nil, err
		}
		cp, err := controlfile.DecodeCheckPoint(b)
		if err != nil {
			return nil, fmt.Errorf("datadir: stored checkpoint values: %w", err)
		}
		in.cp = &cp
	}
	return in.cp, nil
}

// put stores an image value at the current record's LSN.
func (in *Ingester) putImage(k key.Key, b []byte) error {
	return in.sink.Put(k, in.at, value.Image(b))
}

func (in *Ingester) putRecord(k key.Key, b []byte, willInit bool) error {
	return in.sink.Put(k, in.at, value.Record(b, willInit))
}

// flushDirty writes the directories and control values a record changed:
// one put per changed directory, after all the record's other puts.
func (in *Ingester) flushDirty() error {
	if in.dirtyDbs {
		if err := in.putImage(key.DbDir(), encodeDbDir(in.dbs)); err != nil {
			return err
		}
	}
	for db := range in.dirtyRels {
		if err := in.putImage(key.RelDir(db.Spc, db.Db), encodeRelDir(in.rels[db])); err != nil {
			return err
		}
	}
	for kind := range in.dirtySegs {
		if err := in.putImage(key.SLRUDir(kind), encodeSet(in.slruSegs[kind])); err != nil {
			return err
		}
	}
	if in.dirty2PC {
		if err := in.putImage(key.TwoPhaseDir(), encodeSet(in.twoPhase)); err != nil {
			return err
		}
	}
	if in.dirtyCP {
		if err := in.putImage(key.Checkpoint(), in.cp.Encode()); err != nil {
			return err
		}
	}
	return nil
}

func (in *Ingester) begin(at lsn.LSN, sink Sink) {
	in.at, in.sink = at, sink
	in.dirtyDbs, in.dirty2PC, in.dirtyCP = false, false, false
	clear(in.dirtyRels)
	clear(in.dirtySegs)
	if in.dirtyRels == nil {
		in.dirtyRels = map[DB]bool{}
		in.dirtySegs = map[uint32]bool{}
	}
}
