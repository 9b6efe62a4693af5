// Package basebackup writes the tar archive from which a stock PostgreSQL 15
// starts at an LSN X of a timeline.
//
// The archive holds what postgres15-wal.md §5 lists as the minimum for a
// start without recovery:
//
//	PG_VERSION, postgresql.conf, pg_hba.conf, pg_ident.conf   config files
//	global/pg_control                                          control values at X, checkpoint at C
//	global/pg_filenode.map, global/<rel>                       shared catalogs at X
//	base/<db>/PG_VERSION, base/<db>/pg_filenode.map            per database
//	base/<db>/<rel>[_vm|_init][.N]                             relation forks at X (FSM left out)
//	pg_xact/XXXX, pg_multixact/{offsets,members}/XXXX          SLRU segments at X
//	pg_twophase/XXXXXXXX                                       prepared transactions at X
//	pg_wal/<segment>                                           a shutdown checkpoint record at C
//	pg_commit_ts/ pg_dynshmem/ pg_notify/ ... (initdb's empty directories)
//
// C is the first place at or after X where the checkpoint record fits (see
// package startwal). Unlogged relations are sent as their init fork plus a
// copy of it as the main fork, the empty relation PostgreSQL would reset
// them to. Everything is read from a Source pinned at X.
//
// If building fails midway the tar end-of-archive marker is never written
// (and a compressed stream is not finished), so no client can mistake a
// partial archive for a complete one.
package basebackup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/controlfile"
	"github.com/stratadb/strata/libs/postgres/startwal"
)

// Tablespace OIDs PostgreSQL assigns at initdb.
const (
	DefaultTablespace = 1663 // base/
	GlobalTablespace  = 1664 // global/
)

const (
	blockSize   = 8192
	relSegBlock = 131072 // RELSEG_SIZE: blocks per 1 GiB relation segment file
	// slruPagesPerSegment is SLRU_PAGES_PER_SEGMENT.
	slruPagesPerSegment = 32
)

// Database is one (tablespace, database) directory of the cluster.
type Database struct {
	SpcNode, DbNode uint32
	// HasRelMap is true when the database has a pg_filenode.map (and
	// PG_VERSION): every real database does; entries created only because a
	// relation was created in them do not.
	HasRelMap bool
}

// Source reads the cluster's contents at the backup LSN. Implementations
// (the datadir mapping over a timeline) answer every call at that one LSN.
// Page is called from several goroutines at once.
type Source interface {
	// Databases lists the database directories.
	Databases(ctx context.Context) ([]Database, error)
	// Relations lists the relation forks of a database.
	Relations(ctx context.Context, spc, db uint32) ([]key.RelTag, error)
	// RelSize returns the number of blocks of a relation fork.
	RelSize(ctx context.Context, rel key.RelTag) (uint32, error)
	// Page returns the 8 KiB page of a relation block or SLRU page key.
	Page(ctx context.Context, k key.Key) ([]byte, error)
	// RelMap returns the 512-byte pg_filenode.map of a database (db 0: global).
	RelMap(ctx context.Context, spc, db uint32) ([]byte, error)
	// SLRUSegments lists the segment numbers of an SLRU (key.SLRUClog, ...).
	SLRUSegments(ctx context.Context, kind uint32) ([]uint32, error)
	// SLRUSegmentSize returns the number of pages of an SLRU segment.
	SLRUSegmentSize(ctx context.Context, kind, segno uint32) (uint32, error)
	// TwoPhase lists the xids of transactions prepared and unresolved.
	TwoPhase(ctx context.Context) ([]uint32, error)
	// TwoPhaseFile returns the state file of a prepared transaction.
	TwoPhaseFile(ctx context.Context, xid uint32) ([]byte, error)
	// ControlFile returns the pg_control bytes stored at import.
	ControlFile(ctx context.Context) ([]byte, error)
	// CheckPoint returns the control values at the backup LSN (the 88-byte
	// CheckPoint struct: next xid/oid/multixact, oldest xid, ...).
	CheckPoint(ctx context.Context) ([]byte, error)
}

// Compression of the archive stream.
type Compression int

// Compression values.
const (
	None Compression = iota
	Gzip
	Zstd
)

// Options of one backup.
type Options struct {
	// LSN is the point in WAL the data directory reflects (a record boundary).
	LSN lsn.LSN
	// PrevLSN is the start of the record that ends at LSN, if known.
	PrevLSN lsn.LSN
	// TimeLineID is the PostgreSQL timeline the started server writes on.
	// Zero keeps the imported one.
	TimeLineID uint32
	// Compression of the whole archive.
	Compression Compression
	// PostgresqlConf, PgHbaConf, PgIdentConf are written as the config files;
	// empty values get the defaults of this package.
	PostgresqlConf, PgHbaConf, PgIdentConf string
	// Now is the clock for file times and the checkpoint time (time.Now if nil).
	Now func() time.Time
}

// Result describes a finished archive.
type Result struct {
	// CheckpointLSN is where the started server's shutdown checkpoint is; its
	// new WAL begins at EndLSN.
	CheckpointLSN, EndLSN lsn.LSN
	// TimeLineID the server starts on.
	TimeLineID uint32
	// Files and Bytes count the archive's entries and uncompressed bytes.
	Files int
	Bytes int64
}

// DefaultPgHbaConf lets local and loopback clients in without a password,
// replication included: the server is a private copy for the one who asked.
const DefaultPgHbaConf = `# Written by Strata's basebackup: loopback only, no password.
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
`

// DefaultPostgresqlConf keeps the server on loopback; callers add the rest.
const DefaultPostgresqlConf = "# Written by Strata's basebackup.\nlisten_addresses = 'localhost'\n"

// emptyDirs are the directories initdb creates that a server needs to start.
var emptyDirs = []string{
	"base", "global", "pg_commit_ts", "pg_dynshmem", "pg_logical", "pg_logical/mappings",
	"pg_logical/snapshots", "pg_multixact", "pg_multixact/members", "pg_multixact/offsets",
	"pg_notify", "pg_replslot", "pg_serial", "pg_snapshots", "pg_stat", "pg_stat_tmp",
	"pg_subtrans", "pg_tblspc", "pg_twophase", "pg_wal", "pg_wal/archive_status", "pg_xact",
}

// Write streams the archive at opts.LSN from src into w.
func Write(ctx context.Context, w io.Writer, src Source, opts Options) (Result, error) {
	if !opts.LSN.IsValid() {
		return Result{}, errors.New("basebackup: LSN 0 is not a valid start point")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	out := w
	var finish func() error
	switch opts.Compression {
	case None:
		finish = func() error { return nil }
	case Gzip:
		gz := gzip.NewWriter(w)
		out, finish = gz, gz.Close
	case Zstd:
		zw, err := zstd.NewWriter(w)
		if err != nil {
			return Result{}, fmt.Errorf("basebackup: zstd: %w", err)
		}
		out, finish = zw, zw.Close
	default:
		return Result{}, fmt.Errorf("basebackup: unknown compression %d", opts.Compression)
	}
	b := &builder{ctx: ctx, src: src, opts: opts, tw: tar.NewWriter(out), mtime: opts.Now()}
	res, err := b.build()
	if err != nil {
		// Leave the archive unterminated: no end-of-archive marker, no
		// compression trailer.
		return Result{}, err
	}
	if err := b.tw.Close(); err != nil {
		return Result{}, fmt.Errorf("basebackup: finish tar: %w", err)
	}
	if err := finish(); err != nil {
		return Result{}, fmt.Errorf("basebackup: finish compression: %w", err)
	}
	res.Files = b.files
	res.Bytes = b.bytes
	return res, nil
}

type builder struct {
	ctx   context.Context
	src   Source
	opts  Options
	tw    *tar.Writer
	mtime time.Time
	files int
	bytes int64
}

func (b *builder) build() (Result, error) {
	for _, d := range emptyDirs {
		if err := b.dir(d); err != nil {
			return Result{}, err
		}
	}
	conf := orDefault(b.opts.PostgresqlConf, DefaultPostgresqlConf)
	hba := orDefault(b.opts.PgHbaConf, DefaultPgHbaConf)
	for _, f := range []struct{ name, body string }{
		{"PG_VERSION", "15\n"}, {"postgresql.conf", conf}, {"postgresql.auto.conf", ""},
		{"pg_hba.conf", hba}, {"pg_ident.conf", b.opts.PgIdentConf},
	} {
		if err := b.file(f.name, []byte(f.body)); err != nil {
			return Result{}, err
		}
	}
	if err := b.databases(); err != nil {
		return Result{}, err
	}
	if err := b.slrus(); err != nil {
		return Result{}, err
	}
	if err := b.twoPhase(); err != nil {
		return Result{}, err
	}
	return b.controlAndWAL()
}

func (b *builder) databases() error {
	dbs, err := b.src.Databases(b.ctx)
	if err != nil {
		return fmt.Errorf("basebackup: list databases: %w", err)
	}
	slices.SortFunc(dbs, func(x, y Database) int {
		if x.SpcNode != y.SpcNode {
			return int(int64(x.SpcNode) - int64(y.SpcNode))
		}
		return int(int64(x.DbNode) - int64(y.DbNode))
	})
	for _, d := range dbs {
		if err := b.database(d); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) database(d Database) error {
	rels, err := b.src.Relations(b.ctx, d.SpcNode, d.DbNode)
	if err != nil {
		return fmt.Errorf("basebackup: list relations of %d/%d: %w", d.SpcNode, d.DbNode, err)
	}
	var dir string
	switch {
	case d.SpcNode == GlobalTablespace:
		dir = "global"
	case !d.HasRelMap && len(rels) == 0:
		return nil // an implicit, empty entry: nothing to send
	case d.SpcNode != DefaultTablespace:
		return fmt.Errorf("basebackup: tablespace %d is not supported (only pg_default and pg_global)", d.SpcNode)
	default:
		dir = fmt.Sprintf("base/%d", d.DbNode)
		if err := b.dir(dir); err != nil {
			return err
		}
	}
	if d.HasRelMap {
		m, err := b.src.RelMap(b.ctx, d.SpcNode, d.DbNode)
		if err != nil {
			return fmt.Errorf("basebackup: relmap of %d/%d: %w", d.SpcNode, d.DbNode, err)
		}
		if err := b.file(dir+"/pg_filenode.map", m); err != nil {
			return err
		}
		if dir != "global" {
			if err := b.file(dir+"/PG_VERSION", []byte("15\n")); err != nil {
				return err
			}
		}
	}
	slices.SortFunc(rels, func(x, y key.RelTag) int { return key.RelBlock(x, 0).Compare(key.RelBlock(y, 0)) })
	for _, r := range rels {
		switch r.Fork {
		case key.ForkFSM:
			continue // never WAL-logged; PostgreSQL rebuilds it
		case key.ForkInit:
			main := r
			main.Fork = key.ForkMain
			if err := b.relation(dir, r, r); err != nil {
				return err
			}
			if err := b.relation(dir, r, main); err != nil {
				return err
			}
		case key.ForkMain:
			init := r
			init.Fork = key.ForkInit
			if slices.Contains(rels, init) {
				continue // unlogged: sent as a copy of its init fork
			}
			fallthrough
		default:
			if err := b.relation(dir, r, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// relation writes the fork `from` under the file name of fork `as`.
func (b *builder) relation(dir string, from, as key.RelTag) error {
	n, err := b.src.RelSize(b.ctx, from)
	if err != nil {
		return fmt.Errorf("basebackup: size of %s: %w", from, err)
	}
	base := fmt.Sprintf("%s/%d%s", dir, as.RelNode, forkSuffix(as.Fork))
	if n == 0 {
		return b.file(base, nil)
	}
	for seg := uint32(0); seg*relSegBlock < n; seg++ {
		name := base
		if seg > 0 {
			name = fmt.Sprintf("%s.%d", base, seg)
		}
		first := seg * relSegBlock
		count := min(n-first, relSegBlock)
		if err := b.pages(name, count, func(i uint32) key.Key { return key.RelBlock(from, first+i) }); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) slrus() error {
	for _, s := range []struct {
		kind uint32
		dir  string
	}{{key.SLRUClog, "pg_xact"}, {key.SLRUMultiXactOffsets, "pg_multixact/offsets"}, {key.SLRUMultiXactMembers, "pg_multixact/members"}} {
		segs, err := b.src.SLRUSegments(b.ctx, s.kind)
		if err != nil {
			return fmt.Errorf("basebackup: list %s segments: %w", s.dir, err)
		}
		slices.Sort(segs)
		for _, seg := range segs {
			n, err := b.src.SLRUSegmentSize(b.ctx, s.kind, seg)
			if err != nil {
				return fmt.Errorf("basebackup: size of %s/%04X: %w", s.dir, seg, err)
			}
			if n > slruPagesPerSegment {
				return fmt.Errorf("basebackup: %s/%04X has %d pages, more than a segment holds", s.dir, seg, n)
			}
			kind, segno := s.kind, seg
			name := fmt.Sprintf("%s/%04X", s.dir, seg)
			if err := b.pages(name, n, func(i uint32) key.Key { return key.SLRUBlock(kind, segno, i) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *builder) twoPhase() error {
	xids, err := b.src.TwoPhase(b.ctx)
	if err != nil {
		return fmt.Errorf("basebackup: list prepared transactions: %w", err)
	}
	slices.Sort(xids)
	for _, xid := range xids {
		data, err := b.src.TwoPhaseFile(b.ctx, xid)
		if err != nil {
			return fmt.Errorf("basebackup: two-phase file %08X: %w", xid, err)
		}
		if err := b.file(fmt.Sprintf("pg_twophase/%08X", xid), data); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) controlAndWAL() (Result, error) {
	raw, err := b.src.ControlFile(b.ctx)
	if err != nil {
		return Result{}, fmt.Errorf("basebackup: read pg_control: %w", err)
	}
	ctl, err := controlfile.Decode(raw)
	if err != nil {
		return Result{}, fmt.Errorf("basebackup: stored pg_control: %w", err)
	}
	rawCP, err := b.src.CheckPoint(b.ctx)
	if err != nil {
		return Result{}, fmt.Errorf("basebackup: read checkpoint values: %w", err)
	}
	cp, err := controlfile.DecodeCheckPoint(rawCP)
	if err != nil {
		return Result{}, fmt.Errorf("basebackup: stored checkpoint values: %w", err)
	}
	if b.opts.TimeLineID != 0 {
		cp.ThisTimeLineID, cp.PrevTimeLineID = b.opts.TimeLineID, b.opts.TimeLineID
	}
	cp.Time = b.mtime.Unix()
	cp.OldestActiveXid = 0 // a shutdown checkpoint has no running transactions
	cp.FullPageWrites = true
	seg, err := startwal.Build(ctl.SystemIdentifier, b.opts.LSN, b.opts.PrevLSN, cp)
	if err != nil {
		return Result{}, fmt.Errorf("basebackup: WAL segment: %w", err)
	}
	if err := b.file("global/pg_control", ctl.ForStartAt(seg.CheckpointLSN, seg.CheckPoint).Encode()); err != nil {
		return Result{}, err
	}
	if err := b.file("pg_wal/"+seg.Name, seg.Data); err != nil {
		return Result{}, err
	}
	return Result{CheckpointLSN: seg.CheckpointLSN, EndLSN: seg.EndLSN, TimeLineID: cp.ThisTimeLineID}, nil
}

// readAhead is how many pages are fetched concurrently ahead of the one
// being written: most pages of a busy database need redo, a round trip to
// the walredo pool, and those overlap.
const readAhead = 16

// pages writes a file of n 8 KiB pages, page i being the value of keyOf(i).
// Pages are fetched up to readAhead at a time and written in order.
func (b *builder) pages(name string, n uint32, keyOf func(i uint32) key.Key) error {
	if err := b.header(name, int64(n)*blockSize); err != nil {
		return err
	}
	type result struct {
		pg  []byte
		err error
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	queue := make(chan chan result, readAhead)
	go func() {
		defer close(queue)
		for i := uint32(0); i < n; i++ {
			f := make(chan result, 1)
			select {
			case queue <- f:
			case <-ctx.Done():
				return
			}
			go func(k key.Key) {
				pg, err := b.src.Page(ctx, k)
				f <- result{pg, err}
			}(keyOf(i))
		}
	}()
	i := uint32(0)
	for f := range queue {
		r := <-f
		if r.err == nil && len(r.pg) != blockSize {
			r.err = fmt.Errorf("%d bytes, want %d", len(r.pg), blockSize)
		}
		if r.err != nil {
			return fmt.Errorf("basebackup: read %s block %d (key %s): %w", name, i, keyOf(i), r.err)
		}
		if _, err := b.tw.Write(r.pg); err != nil {
			return fmt.Errorf("basebackup: write %s: %w", name, err)
		}
		b.bytes += blockSize
		i++
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if i != n {
		return fmt.Errorf("basebackup: %s: wrote %d of %d blocks", name, i, n)
	}
	return nil
}

func (b *builder) file(name string, data []byte) error {
	if err := b.header(name, int64(len(data))); err != nil {
		return err
	}
	if _, err := b.tw.Write(data); err != nil {
		return fmt.Errorf("basebackup: write %s: %w", name, err)
	}
	b.bytes += int64(len(data))
	return nil
}

func (b *builder) header(name string, size int64) error {
	b.files++
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: b.mtime, Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("basebackup: tar header %s: %w", name, err)
	}
	return nil
}

func (b *builder) dir(name string) error {
	h := &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o700, ModTime: b.mtime, Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("basebackup: tar header %s: %w", name, err)
	}
	return nil
}

func forkSuffix(fork uint8) string {
	switch fork {
	case key.ForkFSM:
		return "_fsm"
	case key.ForkVM:
		return "_vm"
	case key.ForkInit:
		return "_init"
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Decompress undoes compression c on an archive stream r (for clients).
func Decompress(c Compression, r io.Reader) (io.Reader, error) {
	switch c {
	case Gzip:
		return gzip.NewReader(r)
	case Zstd:
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return r, nil
}
