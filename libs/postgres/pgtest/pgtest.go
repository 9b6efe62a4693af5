// Package pgtest runs a real PostgreSQL 15 cluster for tests.
//
//	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{"wal_compression": "lz4"}})
//	c.SQL(t, "create table t (id int)", "vacuum t")
//	end := c.CurrentLSN(t)
//	r, _ := wal.NewReader(c.WALDir(), c.StartLSN, wal.ReaderOptions{})
//
// The cluster lives in a fresh temporary directory. It listens on a free
// loopback port and a unix socket in that directory, trusts every loopback
// connection (replication included), and keeps all WAL with a reserved
// physical replication slot ("strata_keep"). When the test process runs as
// root, initdb and the server run as the `postgres` OS user (PostgreSQL
// refuses root); the directory is made reachable for that user. t.Cleanup
// stops the server (immediate mode, then SIGKILL of the postmaster if needed)
// and removes the directory, also when the test fails.
//
// The binaries come from $STRATA_PG_BIN, else /usr/lib/postgresql/15/bin.
// Tests are skipped with a clear message when those binaries are missing,
// and in -short mode: clusters make a test an integration test, which CI runs
// in its full pass (the -race pass runs -short). The server handling itself is package pgserver; this package
// adds the testing.TB conveniences.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 binaries.
const DefaultBinDir = pgserver.DefaultBinDir

// SlotName is the physical replication slot that keeps all WAL.
const SlotName = "strata_keep"

// Options configure a cluster. The zero value is a wal_level=replica cluster
// with fsync off.
type Options struct {
	// BinDir overrides $STRATA_PG_BIN and DefaultBinDir.
	BinDir string
	// Settings are added to postgresql.conf after the defaults (and override
	// them), e.g. "wal_consistency_checking": "all".
	Settings map[string]string
	// NoSlot skips creating the reserved replication slot.
	NoSlot bool
}

// Cluster is one PostgreSQL data directory and, while started, its server.
// Dir, DataDir, BinDir and Port come from the embedded pgserver.Server.
type Cluster struct {
	*pgserver.Server
	// StartLSN is the insert LSN right after the cluster was first started
	// (and the slot created): WAL from here on is kept.
	StartLSN lsn.LSN
}

// BinDir returns the directory of the PostgreSQL binaries to use.
func BinDir() string { return pgserver.BinDir() }

// Available reports whether the PostgreSQL 15 binaries are installed.
func Available(binDir string) error { return pgserver.Available(binDir) }

// Start creates and starts a cluster (and the WAL-keeping slot unless
// opts.NoSlot). It skips the test if the binaries are missing and fails it on
// any other error.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := New(t, opts)
	c.Start(t)
	if !opts.NoSlot {
		c.SQL(t, fmt.Sprintf("select pg_create_physical_replication_slot('%s', true)", SlotName))
	}
	c.StartLSN = c.CurrentLSN(t)
	return c
}

// New runs initdb and writes the configuration; the server is not started.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	return newCluster(t, opts, func(dir string, o pgserver.Options) (*pgserver.Server, error) { return pgserver.Init(dir, o) })
}

// FromArchive makes a cluster whose data directory is the tar archive r (a
// base backup, such as one from Strata's basebackup package), configured like
// every pgtest cluster. The server is not started and no slot is created;
// call Start.
func FromArchive(t testing.TB, r io.Reader, opts Options) *Cluster {
	t.Helper()
	return newCluster(t, opts, func(dir string, o pgserver.Options) (*pgserver.Server, error) { return pgserver.Restore(dir, r, o) })
}

// newCluster makes the temporary directory of a cluster, registers its
// cleanup (the server is killed and the directory removed when the test
// ends) and lets mk create the server in it.
func newCluster(t testing.TB, opts Options, mk func(string, pgserver.Options) (*pgserver.Server, error)) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: starts a real PostgreSQL (integration test; not run with -short)")
	}
	bin := opts.BinDir
	if bin == "" {
		bin = BinDir()
	}
	if err := Available(bin); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir, err := os.MkdirTemp("", "strata-pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c := &Cluster{}
	t.Cleanup(func() {
		if c.Server != nil {
			if err := c.Server.Kill(); err != nil {
				t.Logf("pgtest: kill server: %v", err)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("pgtest: remove %s: %v", dir, err)
		}
	})
	s, err := mk(dir, pgserver.Options{BinDir: bin, Settings: opts.Settings})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.Server = s
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Server.Start(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Stop stops the server with the given pg_ctl mode ("fast", "immediate", "smart").
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Server.Stop(ctx, mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// SQL runs each statement in its own psql -c (so VACUUM and CREATE DATABASE
// work) against database postgres, failing the test on error.
func (c *Cluster) SQL(t testing.TB, stmts ...string) {
	t.Helper()
	c.SQLDB(t, "postgres", stmts...)
}

// SQLDB is SQL against database db.
func (c *Cluster) SQLDB(t testing.TB, db string, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Psql(db, s); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
}

// Query runs one statement and returns its unaligned, tuples-only output
// with surrounding whitespace trimmed.
func (c *Cluster) Query(t testing.TB, sql string) string {
	t.Helper()
	out, err := c.Psql("postgres", sql)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return out
}

// Psql runs psql -c sql against db and returns its trimmed output.
func (c *Cluster) Psql(db, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return c.Server.Psql(ctx, db, sql)
}

// Pgbench runs pgbench with args against database postgres.
func (c *Cluster) Pgbench(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := c.Server.Pgbench(ctx, args...)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return out
}

// CurrentLSN returns pg_current_wal_insert_lsn().
func (c *Cluster) CurrentLSN(t testing.TB) lsn.LSN {
	t.Helper()
	return c.lsnQuery(t, "select pg_current_wal_insert_lsn()")
}

// FlushLSN returns pg_current_wal_flush_lsn().
func (c *Cluster) FlushLSN(t testing.TB) lsn.LSN {
	t.Helper()
	return c.lsnQuery(t, "select pg_current_wal_flush_lsn()")
}

func (c *Cluster) lsnQuery(t testing.TB, q string) lsn.LSN {
	t.Helper()
	l, err := lsn.Parse(c.Query(t, q))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", q, err)
	}
	return l
}

// Waldump runs pg_waldump with args (the WAL directory is added with -p) and
// returns its standard output and error.
func (c *Cluster) Waldump(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := c.Run(ctx, false, "pg_waldump", append([]string{"-p", c.WALDir()}, args...)...)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return "", fmt.Errorf("pg_waldump: %w", err)
		}
		return string(out), fmt.Errorf("pg_waldump %v: %w", args, err)
	}
	return string(out), nil
}

// ServerLog returns the server log so far.
func (c *Cluster) ServerLog() string {
	b, _ := os.ReadFile(c.LogFile())
	return string(b)
}
