package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
)

// The main job: a primary streamed into Strata is reproduced exactly at every
// recorded LSN by a stock PostgreSQL started from Strata's basebackup, and a
// branch started the same way is a writable primary whose WAL lands in the
// branch timeline.
func TestStreamedPrimaryIsReproducedAtRecordedLSNsAndBranchesAcceptWrites(t *testing.T) {
	e := newEnv(t)
	p := e.primary("primary")
	sql(t, p, "postgres",
		"create table accounts (id int primary key, balance bigint, note text)",
		"insert into accounts select g, 0, repeat('x', g % 300) from generate_series(1, 5000) g",
	)
	tenant, root := e.importPrimary(p)

	var points []point
	points = append(points, mark(t, p, "postgres"))
	if _, err := p.Pgbench(context.Background(), "-i", "-s", "1", "-q"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pgbench(context.Background(), "-c", "2", "-t", "300", "-n"); err != nil {
		t.Fatal(err)
	}
	sql(t, p, "postgres",
		"create index accounts_balance on accounts (balance)",
		"update accounts set balance = balance + id where id % 3 = 0",
		"delete from accounts where id % 7 = 0",
		"create table toasted (id int, body text)",
		"insert into toasted select g, string_agg(md5(g::text || i::text), '') from generate_series(1, 30) g, generate_series(1, 200) i group by g",
		"create table dropme (v int)",
		"insert into dropme select generate_series(1, 1000)",
		"create database copied template template1 strategy file_copy",
		"create database logged strategy wal_log",
	)
	sql(t, p, "copied", "create table c (v int primary key)", "insert into c select generate_series(1, 1000)")
	points = append(points, mark(t, p, "postgres", "copied", "logged"))
	sql(t, p, "postgres",
		"drop index accounts_balance",
		"drop table dropme",
		"create index accounts_note on accounts (note)",
		"vacuum accounts",
		"vacuum (freeze) pgbench_accounts",
		"truncate toasted",
		"delete from pgbench_accounts where aid % 5 = 0",
		"vacuum pgbench_accounts",
		"drop database logged",
	)
	sql(t, p, "copied", "update c set v = v + 1000000")
	if _, err := p.Pgbench(context.Background(), "-c", "2", "-t", "200", "-n"); err != nil {
		t.Fatal(err)
	}
	points = append(points, mark(t, p, "postgres", "copied"))
	e.waitLSN(tenant, root, points[len(points)-1].at)

	for i, pt := range points {
		t.Run(fmt.Sprintf("a stock PostgreSQL from the basebackup at point %d answers like the primary did", i), func(t *testing.T) {
			e := e.sub(t)
			var c *pgserver.Server
			if i == 0 {
				// Through `stratactl basebackup -o FILE` and a plain restore.
				file := filepath.Join(e.pgDir, "point0.tar")
				e.ctl("basebackup", "--tenant", tenant, "--timeline", root, "--lsn", pt.at.String(), "-o", file)
				f, err := os.Open(file)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if c, err = pgserver.Restore(filepath.Join(e.pgDir, "point0"), f, pgserver.Options{}); err != nil {
					t.Fatal(err)
				}
				if err := c.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				c = e.startAt(fmt.Sprintf("point%d", i), tenant, root, pt.at)
			}
			if got := snapshot(t, c, pt.dbs...); got != pt.want {
				t.Errorf("query results differ at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
			}
			// The copy is a working primary: it writes and checkpoints.
			sql(t, c, "postgres", "insert into accounts values (-1, 0, 'written on the copy')", "checkpoint")
			if err := c.Stop(context.Background(), "fast"); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("a branch started as its own PostgreSQL accepts writes that stream into the branch timeline", func(t *testing.T) {
		e := e.sub(t)
		at := points[1].at
		out := e.ctl("timeline", "branch", "--tenant", tenant, "--from", root, "--at", at.String())
		var branch string
		for _, tl := range e.timelines(tenant) {
			if tl.AncestorTimelineID != nil && *tl.AncestorTimelineID == root {
				branch = tl.TimelineID
			}
		}
		if branch == "" {
			t.Fatalf("no branch of %s after `timeline branch`:\n%s", root, out)
		}
		out = e.ctl("pg", "start", "--tenant", tenant, "--timeline", branch, "--dir", filepath.Join(e.pgDir, "branch"))
		if !strings.Contains(out, "its WAL streams into timeline "+branch) {
			t.Fatalf("pg start did not make the branch server the WAL source:\n%s", out)
		}
		b := e.open("branch")
		if got := snapshot(t, b, points[1].dbs...); got != points[1].want {
			t.Fatalf("the branch at %s differs from the primary at that LSN\n got:\n%s\nwant:\n%s", at, got, points[1].want)
		}
		before := e.getTimeline(tenant, branch)
		sql(t, b, "postgres",
			"create table branch_only (id int primary key, v text)",
			"insert into branch_only select g, md5(g::text) from generate_series(1, 2000) g",
			"update accounts set note = 'branched' where id < 100",
		)
		if _, err := b.Pgbench(context.Background(), "-c", "2", "-t", "100", "-n"); err != nil {
			t.Fatal(err)
		}
		want := mark(t, b, "postgres")
		got := e.waitLSN(tenant, branch, want.at)
		if before.LastRecordLSN == got.LastRecordLSN {
			t.Fatalf("the branch's last_record_lsn did not advance from %s", before.LastRecordLSN)
		}
		c := e.startAt("branch-tip", tenant, branch, want.at)
		if got := snapshot(t, c, "postgres"); got != want.want {
			t.Errorf("basebackup of the branch at its new tip %s differs from the branch server\n got:\n%s\nwant:\n%s", want.at, got, want.want)
		}
		if n := query(t, c, "postgres", "select count(*) from branch_only"); n != "2000" {
			t.Errorf("branch_only has %s rows in the basebackup, want 2000", n)
		}
		// The root timeline is untouched by the branch's writes.
		rootAt, _ := lsn.Parse(e.getTimeline(tenant, root).LastRecordLSN)
		r := e.startAt("root-tip", tenant, root, rootAt)
		if n := query(t, r, "postgres", "select count(*) from pg_tables where tablename = 'branch_only'"); n != "0" {
			t.Errorf("the root timeline shows the branch's table")
		}
	})
}
