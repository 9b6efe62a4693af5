package datadir

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

const (
	defaultTablespace = 1663
	globalTablespace  = 1664
	relSegBlocks      = 131072
)

var (
	relFileRE    = regexp.MustCompile(`^([0-9]+)(_fsm|_vm|_init)?(\.[0-9]+)?$`)
	slruFileRE   = regexp.MustCompile(`^[0-9A-F]{4,6}$`)
	twoPhaseRE   = regexp.MustCompile(`^[0-9A-F]{8}$`)
	forkBySuffix = map[string]uint8{"": key.ForkMain, "_fsm": key.ForkFSM, "_vm": key.ForkVM, "_init": key.ForkInit}
	slruDirs     = map[string]uint32{"pg_xact": key.SLRUClog, "pg_multixact/offsets": key.SLRUMultiXactOffsets, "pg_multixact/members": key.SLRUMultiXactMembers}
)

// ImportResult describes an imported data directory.
type ImportResult struct {
	Files, Blocks int
	// ControlFile is the imported pg_control.
	ControlFile *controlfile.ControlFile
}

// ImportTar stores every file of a PostgreSQL 15 data directory archived in
// r (pg_basebackup -Ft, or a replication BASE_BACKUP stream) as images at
// LSN at: relation pages and sizes, directories, relmap files, SLRU pages,
// two-phase files, pg_control and the checkpoint values. Files PostgreSQL
// recreates (pg_wal, config, statistics) are skipped.
func ImportTar(ctx context.Context, r io.Reader, at lsn.LSN, sink Sink) (ImportResult, error) {
	im := newImporter(at, sink)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("datadir: import: read archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := im.file(ctx, h.Name, h.Size, tr); err != nil {
			return ImportResult{}, err
		}
	}
	return im.finish()
}

// ImportDir is ImportTar for a cleanly stopped data directory on disk.
func ImportDir(ctx context.Context, dir string, at lsn.LSN, sink Sink) (ImportResult, error) {
	im := newImporter(at, sink)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return im.file(ctx, filepath.ToSlash(rel), st.Size(), f)
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("datadir: import %s: %w", dir, err)
	}
	return im.finish()
}

type importer struct {
	at       lsn.LSN
	sink     Sink
	dbs      map[DB]bool
	rels     map[DB]map[relEntry]struct{}
	sizes    map[key.RelTag]uint32
	segs     map[uint32]map[uint32]struct{}
	twoPhase map[uint32]struct{}
	ctl      *controlfile.ControlFile
	files    int
	blocks   int
	page     []byte
}

func newImporter(at lsn.LSN, sink Sink) *importer {
	im := &importer{
		at: at, sink: sink,
		dbs: map[DB]bool{}, rels: map[DB]map[relEntry]struct{}{}, sizes: map[key.RelTag]uint32{},
		segs: map[uint32]map[uint32]struct{}{}, twoPhase: map[uint32]struct{}{}, page: make([]byte, 8192),
	}
	for _, k := range []uint32{key.SLRUClog, key.SLRUMultiXactOffsets, key.SLRUMultiXactMembers} {
		im.segs[k] = map[uint32]struct{}{}
	}
	return im
}

func (im *importer) put(k key.Key, b []byte) error {
	return im.sink.Put(k, im.at, value.Image(b))
}

func (im *importer) file(ctx context.Context, name string, size int64, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(name)), "./")
	dir, base := filepath.Dir(name), filepath.Base(name)
	im.files++
	slruKind, isSLRU := slruDirs[dir]
	var err error
	switch {
	case name == "global/pg_control":
		err = im.control(r)
	case base == "pg_filenode.map":
		if db, ok := dbOfDir(dir); ok {
			err = im.relmap(db, r)
		}
	case base == "PG_VERSION":
		if db, ok := dbOfDir(dir); ok {
			im.ensureDB(db)
		}
	case isSLRU:
		if slruFileRE.MatchString(base) {
			err = im.slru(slruKind, base, size, r)
		}
	case dir == "pg_twophase":
		if twoPhaseRE.MatchString(base) {
			err = im.twoPhaseFile(base, r)
		}
	default:
		if db, ok := dbOfDir(dir); ok {
			if m := relFileRE.FindStringSubmatch(base); m != nil {
				err = im.relation(db, m, size, r)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("datadir: import %s: %w", name, err)
	}
	return nil
}

// dbOfDir maps "global" and "base/<oid>" to their database.
func dbOfDir(dir string) (DB, bool) {
	if dir == "global" {
		return DB{globalTablespace, 0}, true
	}
	if oid, ok := strings.CutPrefix(dir, "base/"); ok {
		if v, err := strconv.ParseUint(oid, 10, 32); err == nil {
			return DB{defaultTablespace, uint32(v)}, true
		}
	}
	return DB{}, false
}

func (im *importer) ensureDB(db DB) {
	if _, ok := im.dbs[db]; !ok {
		im.dbs[db] = false
		im.rels[db] = map[relEntry]struct{}{}
	}
}

func (im *importer) control(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, controlfile.FileSize+1))
	if err != nil {
		return err
	}
	c, err := controlfile.Decode(b)
	if err != nil {
		return err
	}
	im.ctl = c
	if err := im.put(key.ControlFile(), b); err != nil {
		return err
	}
	return im.put(key.Checkpoint(), c.CheckPointCopy.Encode())
}

func (im *importer) relmap(db DB, r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return err
	}
	im.ensureDB(db)
	im.dbs[db] = true
	return im.put(key.RelMap(db.Spc, db.Db), b)
}

func (im *importer) relation(db DB, m []string, size int64, r io.Reader) error {
	rel, _ := strconv.ParseUint(m[1], 10, 32)
	seg := uint64(0)
	if m[3] != "" {
		seg, _ = strconv.ParseUint(m[3][1:], 10, 32)
	}
	if size%8192 != 0 {
		return fmt.Errorf("size %d is not a multiple of 8192", size)
	}
	tag := key.RelTag{SpcNode: db.Spc, DbNode: db.Db, RelNode: uint32(rel), Fork: forkBySuffix[m[2]]}
	im.ensureDB(db)
	im.rels[db][relEntry{tag.RelNode, tag.Fork}] = struct{}{}
	first := uint32(seg) * relSegBlocks
	n := uint32(size / 8192)
	for i := uint32(0); i < n; i++ {
		if _, err := io.ReadFull(r, im.page); err != nil {
			return err
		}
		if err := im.put(key.RelBlock(tag, first+i), im.page); err != nil {
			return err
		}
		im.blocks++
	}
	if end := first + n; end > im.sizes[tag] || n == 0 && seg == 0 {
		im.sizes[tag] = max(end, im.sizes[tag])
	}
	return nil
}

func (im *importer) slru(kind uint32, base string, size int64, r io.Reader) error {
	segno, _ := strconv.ParseUint(base, 16, 32)
	if size%8192 != 0 || size/8192 > 32 {
		return fmt.Errorf("SLRU segment of %d bytes", size)
	}
	n := uint32(size / 8192)
	for i := uint32(0); i < n; i++ {
		if _, err := io.ReadFull(r, im.page); err != nil {
			return err
		}
		if err := im.put(key.SLRUBlock(kind, uint32(segno), i), im.page); err != nil {
			return err
		}
	}
	im.segs[kind][uint32(segno)] = struct{}{}
	return im.put(key.SLRUSegSize(kind, uint32(segno)), encodeSize(n))
}

func (im *importer) twoPhaseFile(base string, r io.Reader) error {
	xid, _ := strconv.ParseUint(base, 16, 32)
	b, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return err
	}
	if len(b) < 4 {
		return fmt.Errorf("two-phase file of %d bytes", len(b))
	}
	im.twoPhase[uint32(xid)] = struct{}{}
	return im.put(key.TwoPhaseFile(uint32(xid)), b[:len(b)-4]) // without its CRC
}

func (im *importer) finish() (ImportResult, error) {
	if im.ctl == nil {
		return ImportResult{}, fmt.Errorf("datadir: import: no global/pg_control in the data directory")
	}
	for tag, n := range im.sizes {
		if err := im.put(key.RelSize(tag), encodeSize(n)); err != nil {
			return ImportResult{}, err
		}
	}
	for db, rels := range im.rels {
		for e := range rels {
			tag := key.RelTag{SpcNode: db.Spc, DbNode: db.Db, RelNode: e.Rel, Fork: e.Fork}
			if _, ok := im.sizes[tag]; !ok {
				if err := im.put(key.RelSize(tag), encodeSize(0)); err != nil {
					return ImportResult{}, err
				}
			}
		}
		if err := im.put(key.RelDir(db.Spc, db.Db), encodeRelDir(rels)); err != nil {
			return ImportResult{}, err
		}
	}
	if err := im.put(key.DbDir(), encodeDbDir(im.dbs)); err != nil {
		return ImportResult{}, err
	}
	for kind, segs := range im.segs {
		if err := im.put(key.SLRUDir(kind), encodeSet(segs)); err != nil {
			return ImportResult{}, err
		}
	}
	if err := im.put(key.TwoPhaseDir(), encodeSet(im.twoPhase)); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Files: im.files, Blocks: im.blocks, ControlFile: im.ctl}, nil
}
