package datadir

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"sync"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/basebackup"
	"github.com/stratadb/strata/libs/postgres/slru"
)

// View reads the data directory as of one LSN. It implements
// basebackup.Source and the metadata calls of the page API. Safe for
// concurrent use if the Store is. What it reads at its LSN never changes, so
// it keeps the directories and relation sizes it has read (a basebackup asks
// for them once per page).
type View struct {
	store Store
	at    lsn.LSN

	mu    sync.Mutex
	dbDir map[DB]bool
	rels  map[DB]map[relEntry]struct{}
	sizes map[key.RelTag]uint32
}

var _ basebackup.Source = (*View)(nil)

// At returns the view of store at LSN at.
func At(store Store, at lsn.LSN) *View {
	return &View{store: store, at: at, rels: map[DB]map[relEntry]struct{}{}, sizes: map[key.RelTag]uint32{}}
}

// LSN is the view's LSN.
func (v *View) LSN() lsn.LSN { return v.at }

func (v *View) get(ctx context.Context, k key.Key) ([]byte, error) {
	b, err := v.store.Get(ctx, k, v.at)
	if err != nil {
		return nil, fmt.Errorf("datadir: read %s at %s: %w", k, v.at, err)
	}
	return b, nil
}

func (v *View) dbs(ctx context.Context) (map[DB]bool, error) {
	v.mu.Lock()
	m := v.dbDir
	v.mu.Unlock()
	if m != nil {
		return m, nil
	}
	b, err := v.get(ctx, key.DbDir())
	if err != nil {
		return nil, err
	}
	if m, err = decodeDbDir(b); err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.dbDir = m
	v.mu.Unlock()
	return m, nil
}

// Databases lists the database directories.
func (v *View) Databases(ctx context.Context) ([]basebackup.Database, error) {
	m, err := v.dbs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]basebackup.Database, 0, len(m))
	for db, hasMap := range m {
		out = append(out, basebackup.Database{SpcNode: db.Spc, DbNode: db.Db, HasRelMap: hasMap})
	}
	return out, nil
}

func (v *View) relDir(ctx context.Context, spc, db uint32) (map[relEntry]struct{}, error) {
	v.mu.Lock()
	d, ok := v.rels[DB{spc, db}]
	v.mu.Unlock()
	if ok {
		return d, nil
	}
	dbs, err := v.dbs(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := dbs[DB{spc, db}]; ok {
		b, err := v.get(ctx, key.RelDir(spc, db))
		if err != nil {
			return nil, err
		}
		if d, err = decodeRelDir(b); err != nil {
			return nil, err
		}
	}
	v.mu.Lock()
	v.rels[DB{spc, db}] = d
	v.mu.Unlock()
	return d, nil
}

// Relations lists the relation forks of a database.
func (v *View) Relations(ctx context.Context, spc, db uint32) ([]key.RelTag, error) {
	d, err := v.relDir(ctx, spc, db)
	if err != nil {
		return nil, err
	}
	out := make([]key.RelTag, 0, len(d))
	for e := range d {
		out = append(out, key.RelTag{SpcNode: spc, DbNode: db, RelNode: e.Rel, Fork: e.Fork})
	}
	return out, nil
}

// RelExists reports whether a relation fork exists.
func (v *View) RelExists(ctx context.Context, r key.RelTag) (bool, error) {
	d, err := v.relDir(ctx, r.SpcNode, r.DbNode)
	if err != nil {
		return false, err
	}
	_, ok := d[relEntry{r.RelNode, r.Fork}]
	return ok, nil
}

// RelSize returns the number of blocks of a relation fork; ErrNoRelation if
// it does not exist.
func (v *View) RelSize(ctx context.Context, r key.RelTag) (uint32, error) {
	ok, err := v.RelExists(ctx, r)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("datadir: %s at %s: %w", r, v.at, ErrNoRelation)
	}
	v.mu.Lock()
	n, ok := v.sizes[r]
	v.mu.Unlock()
	if ok {
		return n, nil
	}
	b, err := v.get(ctx, key.RelSize(r))
	if err != nil {
		return 0, err
	}
	if n, err = decodeSize(b, key.RelSize(r)); err != nil {
		return 0, err
	}
	v.mu.Lock()
	v.sizes[r] = n
	v.mu.Unlock()
	return n, nil
}

// Page returns a relation block (all zeros beyond the relation's end, as
// PostgreSQL reads an extended but unwritten block) or an SLRU page.
func (v *View) Page(ctx context.Context, k key.Key) ([]byte, error) {
	if r, ok := k.RelTag(); ok && k.IsRelBlock() {
		n, err := v.RelSize(ctx, r)
		if err != nil {
			return nil, err
		}
		if k.Field6 >= n {
			return make([]byte, 8192), nil
		}
	}
	return v.get(ctx, k)
}

// DbSize is the total size in bytes of a database's relations.
func (v *View) DbSize(ctx context.Context, spc, db uint32) (uint64, error) {
	rels, err := v.Relations(ctx, spc, db)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, r := range rels {
		n, err := v.RelSize(ctx, r)
		if err != nil {
			return 0, err
		}
		total += uint64(n) * 8192
	}
	return total, nil
}

// LogicalSize is the size of all relations of the cluster: Neon's logical
// size (SLRUs, two-phase files and metadata are not counted).
func (v *View) LogicalSize(ctx context.Context) (uint64, error) {
	dbs, err := v.dbs(ctx)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, db := range slices.SortedFunc(maps.Keys(dbs), func(a, b DB) int { return cmpU32(a.Db, b.Db) }) {
		n, err := v.DbSize(ctx, db.Spc, db.Db)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// RelMap returns the pg_filenode.map of a database.
func (v *View) RelMap(ctx context.Context, spc, db uint32) ([]byte, error) {
	return v.get(ctx, key.RelMap(spc, db))
}

// SLRUSegments lists the segments of an SLRU.
func (v *View) SLRUSegments(ctx context.Context, kind uint32) ([]uint32, error) {
	b, err := v.get(ctx, key.SLRUDir(kind))
	if err != nil {
		return nil, err
	}
	s, err := decodeSet(b, "SLRU directory")
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(s)), nil
}

// SLRUSegmentSize returns the number of pages of an SLRU segment.
func (v *View) SLRUSegmentSize(ctx context.Context, kind, segno uint32) (uint32, error) {
	b, err := v.get(ctx, key.SLRUSegSize(kind, segno))
	if err != nil {
		return 0, err
	}
	return decodeSize(b, key.SLRUSegSize(kind, segno))
}

// SLRUSegment returns the whole content of an SLRU segment file.
func (v *View) SLRUSegment(ctx context.Context, kind, segno uint32) ([]byte, error) {
	segs, err := v.SLRUSegments(ctx, kind)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(segs, segno) {
		return nil, fmt.Errorf("datadir: SLRU %d segment %04X does not exist at %s", kind, segno, v.at)
	}
	n, err := v.SLRUSegmentSize(ctx, kind, segno)
	if err != nil {
		return nil, err
	}
	if n > slru.PagesPerSegment {
		return nil, fmt.Errorf("datadir: SLRU %d segment %04X has %d pages", kind, segno, n)
	}
	out := make([]byte, 0, int(n)*8192)
	for b := uint32(0); b < n; b++ {
		pg, err := v.get(ctx, key.SLRUBlock(kind, segno, b))
		if err != nil {
			return nil, err
		}
		out = append(out, pg...)
	}
	return out, nil
}

// TwoPhase lists the prepared transactions.
func (v *View) TwoPhase(ctx context.Context) ([]uint32, error) {
	b, err := v.get(ctx, key.TwoPhaseDir())
	if err != nil {
		return nil, err
	}
	s, err := decodeSet(b, "two-phase directory")
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(s)), nil
}

// TwoPhaseFile returns the pg_twophase file of a prepared transaction: its
// state followed by the CRC-32C PostgreSQL expects at the end.
func (v *View) TwoPhaseFile(ctx context.Context, xid uint32) ([]byte, error) {
	b, err := v.get(ctx, key.TwoPhaseFile(xid))
	if err != nil {
		return nil, err
	}
	crc := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return binary.LittleEndian.AppendUint32(b, crc), nil
}

// ControlFile returns the pg_control stored at import.
func (v *View) ControlFile(ctx context.Context) ([]byte, error) { return v.get(ctx, key.ControlFile()) }

// CheckPoint returns the tracked control values at the view's LSN.
func (v *View) CheckPoint(ctx context.Context) ([]byte, error) { return v.get(ctx, key.Checkpoint()) }
