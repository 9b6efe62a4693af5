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
// Tests are skipped with a clear message only when those binaries are
// missing.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

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
type Cluster struct {
	// Dir is the temporary directory holding everything of the cluster.
	Dir string
	// DataDir is the data directory (PGDATA).
	DataDir string
	// BinDir holds the PostgreSQL binaries used.
	BinDir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// StartLSN is the insert LSN right after the cluster was first started
	// (and the slot created): WAL from here on is kept.
	StartLSN lsn.LSN

	cred    *syscall.Credential // nil unless running as root
	running bool
}

// BinDir returns the directory of the PostgreSQL binaries to use.
func BinDir() string {
	if d := os.Getenv("STRATA_PG_BIN"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Available reports whether the PostgreSQL 15 binaries are installed.
func Available(binDir string) error {
	for _, b := range []string{"initdb", "pg_ctl", "postgres", "psql", "pg_waldump", "pgbench"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("PostgreSQL 15 binary %s not found in %s (set STRATA_PG_BIN): %w", b, binDir, err)
		}
	}
	return nil
}

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
	bin := opts.BinDir
	if bin == "" {
		bin = BinDir()
	}
	if err := Available(bin); err != nil {
		t.Skipf("skipping: %v", err)
	}
	c := newCluster(t, bin)
	if err := c.init(opts); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c
}

// newCluster makes the temporary directory of a cluster and registers its
// cleanup: the server is killed and the directory removed when the test ends.
func newCluster(t testing.TB, bin string) *Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "strata-pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c := &Cluster{Dir: dir, DataDir: filepath.Join(dir, "data"), BinDir: bin}
	t.Cleanup(func() {
		c.kill(t)
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("pgtest: remove %s: %v", dir, err)
		}
	})
	return c
}

func (c *Cluster) init(opts Options) error {
	if err := c.prepareDir(); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	if out, err := c.run(context.Background(), true, "initdb", "-D", c.DataDir, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return c.configure(opts)
}

// prepareDir makes the cluster directory usable by the postgres OS user when
// the test runs as root.
func (c *Cluster) prepareDir() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(c.Dir, 0o755); err != nil {
			return err
		}
		if err := os.Chown(c.Dir, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// configure appends the harness settings to postgresql.conf and writes a
// pg_hba.conf that trusts loopback, replication included.
func (c *Cluster) configure(opts Options) error {
	settings := map[string]string{
		"listen_addresses":          "'127.0.0.1'",
		"port":                      strconv.Itoa(c.Port),
		"unix_socket_directories":   "'" + c.Dir + "'",
		"wal_level":                 "replica",
		"max_wal_senders":           "10",
		"max_replication_slots":     "10",
		"max_prepared_transactions": "10",
		"fsync":                     "off",
		"synchronous_commit":        "off",
		"full_page_writes":          "on",
		"max_wal_size":              "1GB",
		"logging_collector":         "off",
		"log_min_messages":          "warning",
	}
	for k, v := range opts.Settings {
		settings[k] = quoteSetting(v)
	}
	var conf strings.Builder
	conf.WriteString("\n# strata pgtest\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	if err := appendFile(filepath.Join(c.DataDir, "postgresql.conf"), conf.String()); err != nil {
		return err
	}
	hba := "local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	return os.WriteFile(filepath.Join(c.DataDir, "pg_hba.conf"), []byte(hba), 0o600)
}

// quoteSetting quotes a postgresql.conf value unless it is a plain word or
// number or already quoted.
func quoteSetting(v string) string {
	if strings.HasPrefix(v, "'") {
		return v
	}
	for _, r := range v {
		if !(r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
	}
	return v
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run executes a PostgreSQL binary; asPG runs it as the postgres OS user
// when the test runs as root.
func (c *Cluster) run(ctx context.Context, asPG bool, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(c.Port), "PGUSER=postgres",
		"PGDATABASE=postgres", "LC_ALL=C")
	if asPG && c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.run(ctx, true, "pg_ctl", "-D", c.DataDir, "-l", filepath.Join(c.Dir, "server.log"), "-w", "-t", "100", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
		t.Fatalf("pgtest: pg_ctl start: %v\n%s\nserver log:\n%s", err, out, log)
	}
	c.running = true
}

// Stop stops the server with the given pg_ctl mode ("fast", "immediate", "smart").
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if err := c.stop(mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func (c *Cluster) stop(mode string) error {
	if !c.running {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.run(ctx, true, "pg_ctl", "-D", c.DataDir, "-m", mode, "-w", "-t", "100", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w\n%s", mode, err, out)
	}
	c.running = false
	return nil
}

// kill stops the server however it can: pg_ctl immediate, then SIGKILL of
// the postmaster named in postmaster.pid.
func (c *Cluster) kill(t testing.TB) {
	if !c.running {
		return
	}
	if err := c.stop("immediate"); err == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 {
		// Kill the postmaster's process group: it and its children.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Logf("pgtest: killed postmaster %d", pid)
	}
	c.running = false
}

// WALDir is the cluster's pg_wal directory.
func (c *Cluster) WALDir() string { return filepath.Join(c.DataDir, "pg_wal") }

// ConnString returns a libpq URL for database db ("" means postgres).
func (c *Cluster) ConnString(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
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
	out, err := c.run(ctx, false, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql)
	if err != nil {
		return "", fmt.Errorf("psql %q: %w\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Pgbench runs pgbench with args against database postgres.
func (c *Cluster) Pgbench(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := c.run(ctx, false, "pgbench", append(args, "postgres")...)
	if err != nil {
		t.Fatalf("pgtest: pgbench %v: %v\n%s", args, err, out)
	}
	return string(out)
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
	out, err := c.run(ctx, false, "pg_waldump", append([]string{"-p", c.WALDir()}, args...)...)
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
	b, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
	return string(b)
}
