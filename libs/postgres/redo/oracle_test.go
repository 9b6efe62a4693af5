package redo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/mask"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// heapWorkload writes every Heap and Heap2 record type a replica-level
// primary produces, plus sequences and multixacts.
func heapWorkload() []pgtest.Step {
	sql := func(name string, stmts ...string) pgtest.Step {
		return pgtest.Step{Name: name, Run: func(t testing.TB, c *pgtest.Cluster) { t.Helper(); c.SQL(t, stmts...) }}
	}
	return []pgtest.Step{
		{Name: "pgbench", Run: func(t testing.TB, c *pgtest.Cluster) {
			t.Helper()
			c.Pgbench(t, "-i", "-s", "1", "-q")
			c.Pgbench(t, "-n", "-c", "2", "-j", "2", "-t", "300")
		}},
		sql("hot and non-hot updates with prefix and suffix compression",
			"create table h (id int primary key, a int, b text, c text) with (fillfactor = 50)",
			"insert into h select g, g, repeat('p', 40) || g || repeat('s', 40), 'c' from generate_series(1, 4000) g",
			"update h set a = a + 1 where id % 2 = 0",             // HOT, prefix+suffix
			"update h set b = 'x' || b where id % 3 = 0",          // HOT, suffix only
			"update h set b = b || 'y' where id % 5 = 0",          // HOT, prefix only
			"update h set id = id + 100000 where id % 7 = 0",      // non-HOT
			"update h set c = repeat('w', 600) where id % 11 = 0", // grows: moves to other pages
			"delete from h where id % 13 = 0",
			"select count(*) from h", // prune on access
			"vacuum h",
			"vacuum (freeze) h",
			"update h set a = a + 1 where id % 17 = 0", // clears all-visible / all-frozen
			"delete from h where id % 19 = 0",
			"vacuum (freeze, disable_page_skipping) h",
		),
		sql("locks",
			"begin; select id from h where id < 200 for update; commit;",
			"begin; select id from h where id between 200 and 400 for no key update; commit;",
			"begin; select id from h where id between 400 and 600 for share; commit;",
			"begin; select id from h where id between 600 and 800 for key share; savepoint s; update h set a = 0 where id between 600 and 650; commit;",
			"begin; select id from h where id between 800 and 900 for share; savepoint s; select id from h where id between 800 and 900 for update; commit;",
		),
		{Name: "lock of an updated tuple (LOCK_UPDATED)", Run: lockUpdatedStep},
		sql("copy and copy freeze (multi insert)",
			"create table m (a int, b text)",
			"copy m (a) from program 'seq 1 3000'",
			"insert into m select g, 'x' from generate_series(1, 100) g",
			"copy m (a) from program 'seq 1 500'",
			"begin; create table mf (a int); copy mf from program 'seq 1 5000' with (freeze); commit;",
			"delete from m where a % 2 = 0",
			"vacuum m",
			"copy m (a) from program 'seq 1 200'", // reuses free space: offsets given
		),
		sql("upsert (speculative insertion)",
			"create table up (id int primary key, v int)",
			"insert into up select g, 0 from generate_series(1, 300) g on conflict (id) do update set v = up.v + 1",
			"insert into up select g, 0 from generate_series(1, 600) g on conflict (id) do update set v = up.v + 1",
			"insert into up select g, 0 from generate_series(1, 900) g on conflict do nothing",
		),
		sql("partition move",
			"create table pt (k int, v text) partition by range (k)",
			"create table pt1 partition of pt for values from (0) to (1000)",
			"create table pt2 partition of pt for values from (1000) to (2000)",
			"insert into pt select g, 'v' from generate_series(0, 999) g",
			"update pt set k = k + 1000 where k % 4 = 0",
		),
		sql("bloom index (generic WAL records)",
			"create extension bloom",
			"create table bl (a int, b int)",
			"insert into bl select g, g % 10 from generate_series(1, 2000) g",
			"create index bl_idx on bl using bloom (a, b)",
			"insert into bl select g, g % 7 from generate_series(1, 3000) g",
			"delete from bl where a % 2 = 0",
			"vacuum bl",
		),
		sql("gin fast-update pending list",
			"create table gn (id int, tags int[])",
			"create index gn_tags on gn using gin (tags) with (fastupdate = on, gin_pending_list_limit = 64)",
			"insert into gn select g, array[g % 10, g % 7] from generate_series(1, 3000) g",
			"vacuum gn", // flushes the pending list: DELETE_LISTPAGE
			"create table gp (tags int[])",
			"create index gp_tags on gp using gin (tags) with (fastupdate = off)",
			"insert into gp select array[1] from generate_series(1, 3000)", // posting list grows into a tree: CREATE_PTREE
			"insert into gp select array[1] from generate_series(1, 60000)",
			"delete from gp where ctid > '(20,0)' and ctid < '(250,0)'",
			"vacuum gp", // empty posting-tree leaves are unlinked: DELETE_PAGE
		),
		sql("gist index",
			"create table gi (id int, p point, b box)",
			"insert into gi select g, point(g % 300, g / 300), box(point(g % 50, g % 70), point(g % 50 + 1, g % 70 + 2)) from generate_series(1, 20000) g",
			"create index gi_p on gi using gist (p)",
			"create index gi_b on gi using gist (b)",
			"insert into gi select g, point(g % 17, g % 13), box(point(g, g), point(g + 1, g + 1)) from generate_series(1, 20000) g",
			"delete from gi where id % 3 = 0",
			// index scans mark the deleted entries LP_DEAD; inserts into the
			// full leaves then prune them (Gist DELETE)
			"set enable_seqscan = off; set enable_bitmapscan = off; select count(*) from gi where p <@ box(point(0, 0), point(1000, 1000))",
			"insert into gi select g, point(g % 300, g / 300), box(point(1, 1), point(2, 2)) from generate_series(1, 20000) g",
			"vacuum gi",
			"delete from gi where id > 5000",
			"vacuum gi", // page deletion
			"insert into gi select g, point(g, g), box(point(g, g), point(g, g)) from generate_series(1, 3000) g",
		),
		sql("brin index",
			"create table br (id int, v int, t text) with (fillfactor = 50)",
			"insert into br select g, g, 'a' from generate_series(1, 20000) g",
			"create index br_idx on br using brin (id, v, t) with (pages_per_range = 1)",
			"insert into br select g, g, 'b' from generate_series(20001, 30000) g",
			"update br set v = v + 1000000 where id % 500 = 0",
			"update br set t = repeat('z', 300) where id % 97 = 0", // summaries grow and move (UPDATE)
			"select brin_summarize_new_values('br_idx')",
			"select brin_desummarize_range('br_idx', 3)",
			"select brin_summarize_range('br_idx', 3)",
			"delete from br where id % 3 = 0",
			"vacuum br",
		),
		sql("sequences",
			"create sequence s1 cache 1",
			"select nextval('s1') from generate_series(1, 200)",
			"alter sequence s1 restart with 5",
			"select setval('s1', 1000)",
		),
		sql("toast",
			"create table t (id int primary key, body text)",
			"alter table t alter column body set storage external",
			"insert into t select g, repeat(md5(g::text), 300) from generate_series(1, 60) g",
			"update t set body = body || 'z' where id % 3 = 0",
			"delete from t where id % 4 = 0",
			"vacuum t",
		),
	}
}

// lockUpdatedStep makes PostgreSQL write Heap2 LOCK_UPDATED: while one
// session holds a non-key update of some rows, another locks them FOR KEY
// SHARE, which does not conflict, locks the old versions and follows the
// update chain to the new ones.
func lockUpdatedStep(t testing.TB, c *pgtest.Cluster) {
	t.Helper()
	c.SQL(t, "create table lu (id int primary key, v int)", "insert into lu select g, 0 from generate_series(1, 50) g")
	cmd := exec.Command(filepath.Join(c.BinDir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1")
	cmd.Env = append(os.Environ(), "PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(c.Port), "PGUSER=postgres", "PGDATABASE=postgres")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, err := io.WriteString(stdin, "begin;\nupdate lu set v = v + 1 where id <= 20;\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for c.Query(t, "select count(*) from pg_stat_activity where state = 'idle in transaction'") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("updating session did not become idle in transaction: %s", out.String())
		}
	}
	c.SQL(t, "select id from lu where id <= 20 for key share")
	if _, err := io.WriteString(stdin, "commit;\n"); err != nil {
		t.Fatal(err)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("updating session: %v: %s", err, out.String())
	}
}

// oracleResult is what replaying WAL written with wal_consistency_checking
// through ApplyBlock found.
type oracleResult struct {
	verified    map[string]int // record type -> blocks compared with their image
	unsupported map[string]int // record type -> blocks failing with ErrUnsupported
	mismatches  map[string]int
	errors      map[string]int
	applied     int // images restored
	skipped     int // blocks whose previous page was unknown
	first       []string
}

func (r *oracleResult) total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type pageID struct {
	rel key.RelTag
	blk uint32
}

// runOracle replays every block reference of every record in [start, end)
// through ApplyBlock, starting each from the page the WAL last showed for
// that block, and compares masked results with the verification images.
func runOracle(tb testing.TB, walDir string, start, end lsn.LSN) oracleResult {
	tb.Helper()
	r, err := wal.NewReader(walDir, start, wal.ReaderOptions{})
	if err != nil {
		tb.Fatalf("open WAL: %v", err)
	}
	defer r.Close()
	res := oracleResult{verified: map[string]int{}, unsupported: map[string]int{}, mismatches: map[string]int{}, errors: map[string]int{}}
	pages := map[pageID][]byte{}
	img := make([]byte, page.Size)
	note := func(m map[string]int, typ, msg string) {
		m[typ]++
		if m[typ] <= 2 && len(res.first) < 40 { // the first two of each kind and type
			res.first = append(res.first, msg)
		}
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, wal.ErrEndOfWAL) {
			break
		}
		if err != nil {
			tb.Fatalf("read WAL: %v", err)
		}
		if rec.LSN >= end {
			break
		}
		typ := rec.TypeName()
		for i := range rec.Blocks {
			b := &rec.Blocks[i]
			k := pageID{b.Rel, b.Blk}
			where := fmt.Sprintf("%s %s block %d (%s blk %d)", rec.LSN, typ, b.ID, b.Rel, b.Blk)
			base, known := pages[k]
			if !known && (b.WillInit || b.ApplyImage) {
				base, known = make([]byte, page.Size), true
			}
			if !known {
				res.skipped++
				if b.HasImage {
					if err := b.RestoreImage(img); err != nil {
						tb.Fatalf("%s: restore image: %v", where, err)
					}
					pages[k] = bytes.Clone(img)
				}
				continue
			}
			pg := bytes.Clone(base)
			err := ApplyBlock(pg, rec, b.ID)
			switch {
			case errors.Is(err, ErrUnsupported):
				note(res.unsupported, typ, where+": "+err.Error())
			case err != nil:
				note(res.errors, typ, where+": "+err.Error())
			case b.ApplyImage:
				res.applied++
			case b.HasImage:
				if err := b.RestoreImage(img); err != nil {
					tb.Fatalf("%s: restore image: %v", where, err)
				}
				maskFn := mask.ForRmgr(rec.RmID)
				if maskFn == nil {
					note(res.errors, typ, where+": verification image for an rmgr without a mask")
					break
				}
				want := bytes.Clone(img)
				got := bytes.Clone(pg)
				if err := errors.Join(maskFn(got, b.Blk), maskFn(want, b.Blk)); err != nil {
					note(res.mismatches, typ, fmt.Sprintf("%s: mask: %v", where, err))
				} else if at := firstDiff(got, want); at >= 0 {
					note(res.mismatches, typ, fmt.Sprintf("%s: differs at byte %d: got %02x want %02x", where, at, got[at], want[at]))
				} else {
					res.verified[typ]++
				}
			}
			switch {
			case b.HasImage && !b.ApplyImage:
				pages[k] = bytes.Clone(img) // the truth, whatever redo produced
			case err == nil:
				pages[k] = pg
			default:
				delete(pages, k)
			}
		}
	}
	return res
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func summary(m map[string]int) string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%d", n, m[n])
	}
	return b.String()
}

func TestRedoMatchesPostgresUnderConsistencyChecking(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the PostgreSQL oracle in -short mode")
	}
	t.Run("wal_level replica, heap and coverage workloads", func(t *testing.T) {
		checkOracle(t, "replica", true)
	})
	t.Run("wal_level logical (old tuples logged, no prefix/suffix compression), heap workload", func(t *testing.T) {
		checkOracle(t, "logical", false)
	})
}

func checkOracle(t *testing.T, walLevel string, coverage bool) {
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"wal_level":                walLevel,
		"wal_consistency_checking": "all",
		"autovacuum":               "off",
	}})
	c.SQL(t, "create table replident (id int primary key, v text)", "alter table replident replica identity full",
		"insert into replident select g, 'r' from generate_series(1, 100) g",
		"update replident set v = v || 'x'", "delete from replident where id % 2 = 0", "truncate replident")
	pgtest.RunSteps(t, c, heapWorkload())
	if coverage {
		pgtest.RunSteps(t, c, pgtest.CoverageWorkload(1))
	}
	end := c.FlushLSN(t)
	res := runOracle(t, c.WALDir(), c.StartLSN, end)
	t.Logf("verified blocks:%s", summary(res.verified))
	t.Logf("images applied %d, blocks skipped (page unknown) %d", res.applied, res.skipped)
	if len(res.unsupported) > 0 {
		t.Logf("unsupported:%s", summary(res.unsupported))
	}
	for _, f := range res.first {
		t.Log(f)
	}
	if n := res.total(res.mismatches) + res.total(res.errors); n > 0 {
		t.Errorf("%d mismatches (%s) and %d errors (%s)", res.total(res.mismatches), summary(res.mismatches), res.total(res.errors), summary(res.errors))
	}
	for typ := range res.unsupported {
		if !Supported(rmidByName(typ), opByName(typ)) {
			continue // reported above; still "unsupported yet" in the coverage table
		}
		rm := strings.SplitN(typ, "/", 2)[0]
		switch rm {
		case "SPGist":
		default:
			t.Errorf("record type %s is unsupported", typ)
		}
	}
	for _, typ := range []string{"Heap/INSERT", "Heap/INSERT+INIT", "Heap/UPDATE", "Heap/HOT_UPDATE", "Heap/DELETE",
		"Heap/LOCK", "Heap/INPLACE", "Heap/HEAP_CONFIRM", "Heap2/PRUNE", "Heap2/VACUUM", "Heap2/FREEZE_PAGE",
		"Heap2/VISIBLE", "Heap2/MULTI_INSERT", "Heap2/MULTI_INSERT+INIT", "Heap2/LOCK_UPDATED", "Sequence/LOG",
		"Generic/Generic", "BRIN/CREATE_INDEX", "BRIN/INSERT", "BRIN/SAMEPAGE_UPDATE", "BRIN/REVMAP_EXTEND",
		"BRIN/DESUMMARIZE", "BRIN/UPDATE", "Gist/PAGE_UPDATE", "Gist/PAGE_SPLIT", "Gist/DELETE", "Gist/PAGE_DELETE",
		"Gin/UPDATE_META_PAGE", "Gin/INSERT_LISTPAGE", "Gin/DELETE_LISTPAGE", "Gin/CREATE_PTREE",
		"Gin/DELETE_PAGE"} {
		if res.verified[typ] == 0 {
			t.Errorf("workload produced no verified %s block", typ)
		}
	}
}

// rmidByName and opByName map "Rmgr/TYPE" back to ids.
func rmidByName(typ string) uint8 {
	for id := uint8(0); id <= wal.RmMaxBuiltin; id++ {
		if strings.HasPrefix(typ, wal.RmgrName(id)+"/") {
			return id
		}
	}
	return 255
}

func opByName(typ string) uint8 {
	id := rmidByName(typ)
	for op := 0; op < 256; op += 16 {
		if wal.TypeName(id, uint8(op)) == typ {
			return uint8(op)
		}
	}
	return 0
}
