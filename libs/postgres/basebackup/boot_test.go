package basebackup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/controlfile"
	"github.com/stratadb/strata/libs/postgres/pgtest"
)

// A stock PostgreSQL 15 starts from an archive built from a cleanly stopped
// primary's files and answers queries exactly as the primary did.
func TestStockPostgresStartsFromTheArchive(t *testing.T) {
	primary := pgtest.Start(t, pgtest.Options{NoSlot: true})
	primary.SQL(t,
		"create table accounts (id int primary key, balance bigint, note text)",
		"insert into accounts select g, g * 10, repeat(md5(g::text), 50) from generate_series(1, 20000) g",
		"create index on accounts (balance)",
		"create unlogged table scratch (v int)",
		"insert into scratch select generate_series(1, 1000)",
		"create sequence ticket",
		"select nextval('ticket') from generate_series(1, 42)",
		"create database second",
		"begin; insert into accounts values (-1, -1, 'prepared'); prepare transaction 'tx1'",
	)
	primary.SQLDB(t, "second", "create table t2 as select g as v from generate_series(1, 500) g")
	checks := []string{
		"select count(*), sum(balance), md5(string_agg(note, ',' order by id)) from accounts",
		"select count(*) from accounts where balance between 1000 and 2000",
		"select last_value from ticket",
		"select gid from pg_prepared_xacts",
	}
	want := map[string]string{}
	for _, q := range checks {
		want[q] = primary.Query(t, q)
	}
	wantSecond, err := primary.Psql("second", "select sum(v) from t2")
	if err != nil {
		t.Fatal(err)
	}
	primary.SQL(t, "checkpoint")
	primary.Stop(t, "fast")

	src := dirSource{dir: primary.DataDir}
	raw, err := os.ReadFile(filepath.Join(primary.DataDir, "global", "pg_control"))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controlfile.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	res, err := Write(context.Background(), &archive, src, Options{LSN: ctl.CheckPointLoc + 120, PrevLSN: ctl.CheckPointLoc, TimeLineID: 2, Compression: Zstd})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("archive: %d files, %d bytes (%d compressed), checkpoint at %s", res.Files, res.Bytes, archive.Len(), res.CheckpointLSN)

	r, err := Decompress(Zstd, &archive)
	if err != nil {
		t.Fatal(err)
	}
	copyPG := pgtest.FromArchive(t, r, pgtest.Options{NoSlot: true})
	copyPG.Start(t)
	for _, q := range checks {
		if got := copyPG.Query(t, q); got != want[q] {
			t.Errorf("%s: got %q, primary had %q", q, got, want[q])
		}
	}
	if got, err := copyPG.Psql("second", "select sum(v) from t2"); err != nil || got != wantSecond {
		t.Errorf("second database: %q, %v; want %q", got, err, wantSecond)
	}
	if got := copyPG.Query(t, "select count(*) from scratch"); got != "0" {
		t.Errorf("unlogged table has %s rows after the start, want 0", got)
	}
	copyPG.SQL(t, "commit prepared 'tx1'", "insert into accounts values (-2, 0, 'after start')", "checkpoint")
	if got := copyPG.Query(t, "select count(*) from accounts where id < 0"); got != "2" {
		t.Errorf("rows written after the start: %s", got)
	}
	if got := copyPG.Query(t, "select timeline_id from pg_control_checkpoint()"); got != "2" {
		t.Errorf("timeline = %s, want 2", got)
	}
}

// The checkpoint record does not fit before the end of the segment holding
// the requested LSN: it moves to the next segment's first page, and a stock
// PostgreSQL 15 still starts there and writes new WAL after it.
func TestStockPostgresStartsWhenTheCheckpointMovesToTheNextSegment(t *testing.T) {
	primary := pgtest.Start(t, pgtest.Options{NoSlot: true})
	primary.SQL(t, "create table t as select g from generate_series(1, 1000) g")
	primary.SQL(t, "checkpoint")
	primary.Stop(t, "fast")
	raw, err := os.ReadFile(filepath.Join(primary.DataDir, "global", "pg_control"))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controlfile.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	// 64 bytes before the next segment: past every page LSN of the data
	// directory, too close to the segment end for the 114-byte record.
	at := lsn.LSN((ctl.CheckPointLoc.SegmentNumber()+1)*lsn.SegmentSize - 64)
	var archive bytes.Buffer
	res, err := Write(context.Background(), &archive, dirSource{dir: primary.DataDir}, Options{LSN: at, TimeLineID: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := at + 64 + 40; res.CheckpointLSN != want {
		t.Fatalf("checkpoint at %s, want %s (next segment, after its long page header)", res.CheckpointLSN, want)
	}
	c := pgtest.FromArchive(t, &archive, pgtest.Options{NoSlot: true})
	c.Start(t)
	if got := c.Query(t, "select count(*) from t"); got != "1000" {
		t.Fatalf("count = %s", got)
	}
	c.SQL(t, "insert into t values (0)", "checkpoint")
	if got := c.Query(t, "select pg_current_wal_lsn() > '"+res.EndLSN.String()+"'::pg_lsn"); got != "t" {
		t.Fatalf("new WAL is not past the checkpoint (%s)", got)
	}
}
