package pgtest

import (
	"fmt"
	"testing"
)

// Step is one named part of a workload.
type Step struct {
	Name string
	Run  func(t testing.TB, c *Cluster)
}

// sql is a Step running statements one psql -c each.
func sql(name string, stmts ...string) Step {
	return Step{Name: name, Run: func(t testing.TB, c *Cluster) {
		t.Helper()
		c.SQL(t, stmts...)
	}}
}

// CoverageWorkload returns steps that together write the record types a
// page server must handle: pgbench init and run, HOT and non-HOT updates,
// deletes, VACUUM and VACUUM FREEZE, btree splits, page deletion and dedup,
// hash index growth through bucket splits, sequences, TOAST, CREATE DATABASE
// with both strategies, DROP and TRUNCATE, subtransactions, a multixact,
// two-phase commit, GIN/GiST/SP-GiST/BRIN indexes, a logical message and a
// WAL switch. scale multiplies the row counts; at 1 the WAL is about 20 MB,
// and about 200 MB with wal_consistency_checking=all (every change carries
// a page image; pgbench -i alone writes 58 MB). The cluster needs
// max_prepared_transactions > 0 (pgtest's default).
func CoverageWorkload(scale int) []Step {
	if scale < 1 {
		scale = 1
	}
	n := func(k int) string { return fmt.Sprint(k * scale) }
	return []Step{
		{Name: "pgbench", Run: func(t testing.TB, c *Cluster) {
			t.Helper()
			c.Pgbench(t, "-i", "-s", "1", "-q")
			c.Pgbench(t, "-n", "-c", "2", "-j", "2", "-t", n(50))
		}},
		sql("heap and btree",
			"create table items (id int primary key, grp int, val text) with (fillfactor = 70)",
			"create index items_grp on items (grp)",
			"insert into items select g, g % 10, 'v' || g from generate_series(1, "+n(1500)+") g",
			"update items set val = val || 'x' where id % 5 = 0", // HOT (fillfactor leaves room)
			"update items set grp = grp + 100 where id % 7 = 0",  // non-HOT (indexed column)
			"delete from items where id % 3 = 0",
			"vacuum items",
			"delete from items where id > "+n(350), // empties many leaf pages
			"vacuum items",                         // btree page deletion
			"vacuum (freeze) items",
			"insert into items select g, 1, 'again' from generate_series("+n(2500)+", "+n(2900)+") g", // dedup in items_grp
		),
		sql("btree splits in both directions",
			"create table splits (k int)",
			"create index splits_k on splits (k)",
			"insert into splits select g from generate_series(1, "+n(1200)+") g",
			"insert into splits select -g from generate_series(1, "+n(1200)+") g",
		),
		sql("hash index growth",
			"create table hashed (v int)",
			"create index hashed_v on hashed using hash (v)",
			"insert into hashed select g from generate_series(1, "+n(3000)+") g",
			"insert into hashed select g % 3 from generate_series(1, "+n(1500)+") g", // overflow pages
			"delete from hashed where v % 2 = 0",
			"vacuum hashed",
			"insert into hashed select g from generate_series(1, "+n(500)+") g",
		),
		sql("sequences",
			"create sequence seq1 cache 1",
			"select nextval('seq1') from generate_series(1, 100)",
			"create table serials (id bigserial primary key, note text)",
			"insert into serials (note) select 'n' from generate_series(1, 200)",
		),
		sql("toast",
			"create table toasty (id int primary key, body text)",
			"alter table toasty alter column body set storage external",
			"insert into toasty select g, repeat(md5(g::text), 200) from generate_series(1, "+n(40)+") g",
			"update toasty set body = repeat(md5((id + 1)::text), 210) where id % 2 = 0",
			"delete from toasty where id % 4 = 0",
			"vacuum toasty",
		),
		sql("databases",
			"create database db_wal_log strategy wal_log",
			"create database db_file_copy strategy file_copy",
			"drop database db_file_copy",
			"drop database db_wal_log",
		),
		sql("truncate and drop",
			"create table gone (id int)",
			"insert into gone select generate_series(1, 1000)",
			"truncate gone",
			"insert into gone select generate_series(1, 100)",
			"begin; create table tmp_trunc (id int); insert into tmp_trunc values (1); truncate tmp_trunc; commit;",
			"drop table gone",
			"drop table tmp_trunc",
		),
		sql("subtransactions and a multixact",
			"create table subx (id int primary key, v int)",
			"insert into subx select g, 0 from generate_series(1, 100) g",
			`do $$ begin for i in 1..50 loop begin update subx set v = v + 1 where id = i; perform 1/0; exception when division_by_zero then null; end; end loop; end $$`,
			"begin; savepoint a; insert into subx values (1001, 1); savepoint b; insert into subx values (1002, 2); release b; commit;",
			"begin; select * from subx where id = 5 for share; savepoint s; update subx set v = 99 where id = 5; commit;",
			"begin; select * from subx where id = 6 for key share; savepoint s; update subx set v = 98 where id = 6; commit;",
		),
		sql("two-phase commit",
			"create table twophase (id int)",
			"begin; insert into twophase values (1); prepare transaction 'p1';",
			"commit prepared 'p1'",
			"begin; insert into twophase values (2); prepare transaction 'p2';",
			"rollback prepared 'p2'",
		),
		sql("other index types",
			"create table docs (id int, tags int[], pt point, body tsvector, r int4range)",
			"insert into docs select g, array[g % 10, g % 7], point(g % 100, g / 100), to_tsvector('simple', 'w' || (g % 50)), int4range(g, g + 10) from generate_series(1, "+n(600)+") g",
			"create index docs_gin on docs using gin (tags)",
			"create index docs_gist on docs using gist (pt)",
			"create index docs_spgist on docs using spgist (pt)",
			"create index docs_brin on docs using brin (id) with (pages_per_range = 2)",
			"insert into docs select g, array[g % 3], point(g % 30, 1), to_tsvector('simple', 'x'), int4range(g, g + 1) from generate_series(1, "+n(200)+") g",
			"delete from docs where id % 2 = 0",
			"vacuum docs",
		),
		sql("messages and switch",
			"select pg_logical_emit_message(true, 'strata', 'hello')",
			"select pg_switch_wal()",
			"checkpoint",
		),
	}
}

// RunSteps runs steps in order, logging each name and the WAL it wrote.
func RunSteps(t testing.TB, c *Cluster, steps []Step) {
	t.Helper()
	for _, s := range steps {
		before := c.CurrentLSN(t)
		s.Run(t, c)
		t.Logf("workload step %q: %.1f MB of WAL", s.Name, float64(c.CurrentLSN(t)-before)/1e6)
	}
}

// CompressionSteps change wal_compression to each method in turn and
// write full-page images with it (after a checkpoint every page's first
// change is an FPI).
func CompressionSteps() []Step {
	var steps []Step
	for _, m := range []string{"pglz", "lz4", "zstd"} {
		steps = append(steps, sql("wal_compression="+m,
			"alter system set wal_compression = '"+m+"'",
			"select pg_reload_conf()",
			"create table if not exists comp (id int, v text)",
			"insert into comp select g, repeat('z', 100) from generate_series(1, 3000) g",
			"checkpoint",
			"update comp set v = v || '1'",
		))
	}
	steps = append(steps, sql("wal_compression=off", "alter system reset wal_compression", "select pg_reload_conf()"))
	return steps
}
