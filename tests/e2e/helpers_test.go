package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	"github.com/stratadb/strata/tests/harness"
)

// env is one test's world: a directory for PostgreSQL servers (killed after
// the stack is stopped, so page-service never sees its source vanish while
// the logs are still checked) and a running stack.
type env struct {
	t     *testing.T
	pgDir string
	stack *harness.Stack
}

// restartAllowed are the lines a `stratactl service restart` may cause: while
// page-service is down an outgoing connection can take one of its ports, the
// new process then fails to bind (and stops its tenants' loading), and the
// restart command tries again.
var restartAllowed = []string{
	`"msg":"exiting".*address already in use`,
	`"msg":"tenant broken".*context canceled`,
}

// newEnv makes the server directory and starts the stack. allowed are extra
// WARN/ERROR log patterns the test expects.
func newEnv(t *testing.T, allowed ...string) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test on real PostgreSQL and binaries: skipped with -short")
	}
	if err := pgserver.Available(pgserver.BinDir()); err != nil {
		t.Fatalf("the e2e tests need PostgreSQL 15: %v", err)
	}
	dir, err := os.MkdirTemp("", "strata-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// The servers run as the postgres OS user when the tests run as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if s, err := pgserver.Open(filepath.Join(dir, e.Name()), pgserver.Options{}); err == nil {
				if err := s.Kill(); err != nil {
					t.Logf("kill PostgreSQL in %s: %v", e.Name(), err)
				}
			}
		}
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("PostgreSQL directories kept in %s", dir)
		}
	})
	e := &env{t: t, pgDir: dir}
	e.stack = harness.Start(t, harness.Options{AllowedLogs: allowed})
	return e
}

// sub returns the env for a subtest: helpers then fail the subtest.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// primary starts a new PostgreSQL 15 primary named name.
func (e *env) primary(name string) *pgserver.Server {
	e.t.Helper()
	s, err := pgserver.Init(filepath.Join(e.pgDir, name), pgserver.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// open finds a server `stratactl pg start` made under the env's directory.
func (e *env) open(name string) *pgserver.Server {
	e.t.Helper()
	s, err := pgserver.Open(filepath.Join(e.pgDir, name), pgserver.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// ctl runs stratactl with --stack added for the commands that take it, and
// fails the test on error.
func (e *env) ctl(args ...string) string {
	e.t.Helper()
	out, err := e.ctlErr(args...)
	if err != nil {
		e.t.Fatalf("stratactl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) ctlErr(args ...string) (string, error) {
	switch args[0] {
	case "tenant", "timeline", "basebackup":
		args = append(args, "--stack", e.stack.Dir)
	case "pg":
		if args[1] == "start" {
			args = append(args, "--stack", e.stack.Dir)
		}
	case "service":
		args = append(args, "--dir", e.stack.Dir)
	}
	return e.stack.Stratactl(args...)
}

// lastLine is the last non-empty line of a command's output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// timeline is the part of the gateway's TimelineInfo the tests read.
type timeline struct {
	TimelineID         string  `json:"timeline_id"`
	AncestorTimelineID *string `json:"ancestor_timeline_id"`
	LastRecordLSN      string  `json:"last_record_lsn"`
	DiskConsistentLSN  string  `json:"disk_consistent_lsn"`
	MinReadableLSN     *string `json:"min_readable_lsn"`
	WalSourceConnstr   *string `json:"wal_source_connstr"`
	State              string  `json:"state"`
	BrokenReason       *string `json:"broken_reason"`
}

// importPrimary creates a tenant and imports p as its root timeline with the
// stratactl commands; it returns the tenant and timeline ids.
func (e *env) importPrimary(p *pgserver.Server) (string, string) {
	e.t.Helper()
	tenant := lastLine(e.ctl("tenant", "create"))
	out := e.ctl("timeline", "import", "--tenant", tenant, "--pg", p.ConnString("postgres"))
	tls := e.timelines(tenant)
	if len(tls) != 1 {
		e.t.Fatalf("after import the tenant has %d timelines:\n%s", len(tls), out)
	}
	return tenant, tls[0].TimelineID
}

func (e *env) timelines(tenant string) []timeline {
	e.t.Helper()
	var tls []timeline
	if err := json.Unmarshal([]byte(e.ctl("timeline", "show", "--tenant", tenant, "--json")), &tls); err != nil {
		e.t.Fatal(err)
	}
	return tls
}

// api calls the gateway with the admin token and returns the status and body.
func (e *env) api(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.stack.GatewayURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.stack.AdminToken)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) getTimeline(tenant, tl string) timeline {
	e.t.Helper()
	code, b := e.api(http.MethodGet, "/v1/tenant/"+tenant+"/timeline/"+tl, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET timeline %s: HTTP %d %s", tl, code, b)
	}
	var t timeline
	if err := json.Unmarshal(b, &t); err != nil {
		e.t.Fatal(err)
	}
	return t
}

// waitLSN polls until the timeline's last_record_lsn reaches at.
func (e *env) waitLSN(tenant, tl string, at lsn.LSN) timeline {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := e.getTimeline(tenant, tl)
		if l, err := lsn.Parse(got.LastRecordLSN); err == nil && l >= at {
			return got
		}
		if got.State == "Broken" {
			e.t.Fatalf("timeline %s is Broken: %s", tl, deref(got.BrokenReason))
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timeline %s at %s, want %s", tl, got.LastRecordLSN, at)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sql runs statements on a server, failing the test on error.
func sql(t testing.TB, s *pgserver.Server, db string, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.Psql(context.Background(), db, q); err != nil {
			t.Fatal(err)
		}
	}
}

func query(t testing.TB, s *pgserver.Server, db, q string) string {
	t.Helper()
	out, err := s.Psql(context.Background(), db, q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func flushLSN(t testing.TB, s *pgserver.Server) lsn.LSN {
	t.Helper()
	l, err := lsn.Parse(query(t, s, "postgres", "select pg_current_wal_flush_lsn()"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// snapshot is the checksum of every user table of each database: row count
// and md5 over the rows in text form.
func snapshot(t testing.TB, s *pgserver.Server, dbs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, db := range dbs {
		tables := query(t, s, db, "select string_agg(format('%I.%I', schemaname, relname), ' ' order by schemaname, relname) from pg_stat_user_tables")
		for _, tab := range strings.Fields(tables) {
			out := query(t, s, db, fmt.Sprintf("select count(*), coalesce(md5(string_agg(t::text, ',' order by t::text)), '-') from %s t", tab))
			fmt.Fprintf(&b, "%s %s: %s\n", db, tab, out)
		}
		// Indexes must be usable and agree with the heap.
		idx := query(t, s, db, "select count(*) from pg_indexes where schemaname = 'public'")
		fmt.Fprintf(&b, "%s indexes: %s\n", db, idx)
	}
	return b.String()
}

// point is a recorded LSN with the primary's snapshot at it.
type point struct {
	at   lsn.LSN
	want string
	dbs  []string
}

// mark switches WAL (nothing in flight: the snapshot is the state at the
// flush LSN right after it) and records a point.
func mark(t testing.TB, p *pgserver.Server, dbs ...string) point {
	t.Helper()
	sql(t, p, "postgres", "select pg_switch_wal()")
	want := snapshot(t, p, dbs...)
	return point{at: flushLSN(t, p), want: want, dbs: dbs}
}

// startAt starts a stock PostgreSQL from Strata's basebackup of a timeline
// at an LSN with `stratactl pg start` (never as the timeline's WAL source).
func (e *env) startAt(name, tenant, tl string, at lsn.LSN) *pgserver.Server {
	e.t.Helper()
	e.ctl("pg", "start", "--tenant", tenant, "--timeline", tl, "--lsn", at.String(),
		"--dir", filepath.Join(e.pgDir, name), "--no-wal-source")
	return e.open(name)
}
