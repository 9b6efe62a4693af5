// Package pgserver runs a stock PostgreSQL 15 server on this machine: a new
// cluster (initdb) or a data directory restored from a base backup archive,
// listening on loopback, started and stopped with pg_ctl.
//
//	s, err := pgserver.Init("/tmp/pg1", pgserver.Options{})
//	err = s.Start(ctx)
//	out, err := s.Psql(ctx, "postgres", "select 1")
//	err = s.Stop(ctx, "fast")
//
// A server lives in its own directory: data/ (PGDATA), server.log, the unix
// socket, and server.json (port and binaries, so Open can find it again).
// PostgreSQL refuses to run as root: when this process is root, initdb and
// the server run as the `postgres` OS user (Options.OSUser), and the
// directory is handed to that user. Connections are trusted on loopback,
// replication included: these are private servers for development, tests and
// branches, not production primaries.
package pgserver

import (
	"bytes"
	"context"
	"encoding/json"
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
	"time"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Options configure a server.
type Options struct {
	// BinDir overrides $STRATA_PG_BIN and DefaultBinDir.
	BinDir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Settings are written to postgresql.conf after the defaults and override
	// them, e.g. "wal_consistency_checking": "all".
	Settings map[string]string
	// OSUser runs the server when this process is root; default "postgres".
	OSUser string
}

// Server is one data directory and, while started, its postmaster.
type Server struct {
	// Dir holds everything of the server.
	Dir string
	// DataDir is PGDATA (Dir/data).
	DataDir string
	// BinDir holds the PostgreSQL binaries.
	BinDir string
	// Port is the TCP port on 127.0.0.1.
	Port int

	cred *syscall.Credential // nil unless running as root
}

type state struct {
	Port   int    `json:"port"`
	BinDir string `json:"bin_dir"`
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
			return fmt.Errorf("PostgreSQL 15 binary %s not found in %s (install postgresql-15 or set STRATA_PG_BIN): %w", b, binDir, err)
		}
	}
	return nil
}

func newServer(dir string, opts Options) (*Server, error) {
	bin := opts.BinDir
	if bin == "" {
		bin = BinDir()
	}
	if err := Available(bin); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	s := &Server{Dir: abs, DataDir: filepath.Join(abs, "data"), BinDir: bin, Port: opts.Port}
	if err := s.prepareDir(opts.OSUser); err != nil {
		return nil, err
	}
	if s.Port == 0 {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Init creates a new cluster in dir with initdb and configures it. The
// server is not started.
func Init(dir string, opts Options) (*Server, error) {
	s, err := newServer(dir, opts)
	if err != nil {
		return nil, err
	}
	if out, err := s.Run(context.Background(), true, "initdb", "-D", s.DataDir, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return s, s.configure(opts)
}

// Open finds the server Init or Restore made in dir.
func Open(dir string, opts Options) (*Server, error) {
	b, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		return nil, fmt.Errorf("no server in %s: %w", dir, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s/server.json: %w", dir, err)
	}
	if opts.BinDir == "" {
		opts.BinDir = st.BinDir
	}
	opts.Port = st.Port
	return newServer(dir, opts)
}

// prepareDir makes the directory usable by the server's OS user when this
// process is root.
func (s *Server) prepareDir(osUser string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if osUser == "" {
		osUser = "postgres"
	}
	u, err := user.Lookup(osUser)
	if err != nil {
		return fmt.Errorf("running PostgreSQL as root needs the %s OS user: %w", osUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	return os.Chown(s.Dir, uid, gid)
}

// configure appends the settings to postgresql.conf, writes a pg_hba.conf
// that trusts loopback (replication included) and records server.json.
func (s *Server) configure(opts Options) error {
	settings := map[string]string{
		"listen_addresses":          "'127.0.0.1'",
		"port":                      strconv.Itoa(s.Port),
		"unix_socket_directories":   "'" + s.Dir + "'",
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
	conf.WriteString("\n# strata pgserver\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	if err := appendFile(filepath.Join(s.DataDir, "postgresql.conf"), conf.String()); err != nil {
		return err
	}
	hba := "local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(s.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	st, _ := json.Marshal(state{Port: s.Port, BinDir: s.BinDir})
	if err := os.WriteFile(filepath.Join(s.Dir, "server.json"), st, 0o644); err != nil {
		return err
	}
	return s.chownData()
}

// chownData hands the data directory to the server's OS user.
func (s *Server) chownData() error {
	if s.cred == nil {
		return nil
	}
	return filepath.Walk(s.DataDir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(s.cred.Uid), int(s.cred.Gid))
	})
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

// Run executes a PostgreSQL binary with the server's connection environment
// and returns its combined output; asServer runs it as the server's OS user.
func (s *Server) Run(ctx context.Context, asServer bool, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(s.Port), "PGUSER=postgres",
		"PGDATABASE=postgres", "LC_ALL=C")
	if asServer && s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// LogFile is the server log.
func (s *Server) LogFile() string { return filepath.Join(s.Dir, "server.log") }

// WALDir is the server's pg_wal directory.
func (s *Server) WALDir() string { return filepath.Join(s.DataDir, "pg_wal") }

// Start starts the server and waits until it accepts connections.
func (s *Server) Start(ctx context.Context) error {
	out, err := s.Run(ctx, true, "pg_ctl", "-D", s.DataDir, "-l", s.LogFile(), "-w", "-t", "100", "start")
	if err != nil {
		log, _ := os.ReadFile(s.LogFile())
		return fmt.Errorf("pg_ctl start: %w\n%s\nserver log:\n%s", err, out, log)
	}
	return nil
}

// Running reports whether a postmaster runs on the data directory.
func (s *Server) Running(ctx context.Context) bool {
	_, err := s.Run(ctx, true, "pg_ctl", "-D", s.DataDir, "status")
	return err == nil
}

// Stop stops the server with a pg_ctl mode ("fast", "immediate", "smart").
// Stopping a server that is not running is not an error.
func (s *Server) Stop(ctx context.Context, mode string) error {
	if !s.Running(ctx) {
		return nil
	}
	out, err := s.Run(ctx, true, "pg_ctl", "-D", s.DataDir, "-m", mode, "-w", "-t", "100", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w\n%s", mode, err, out)
	}
	return nil
}

// Kill stops the server however it can: pg_ctl immediate, then SIGKILL of
// the postmaster's process group named in postmaster.pid.
func (s *Server) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx, "immediate"); err == nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(s.DataDir, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return fmt.Errorf("postmaster.pid: bad pid %q", line)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return syscall.Kill(pid, syscall.SIGKILL)
}

// ConnString returns a libpq URL for database db ("" means postgres).
func (s *Server) ConnString(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// Psql runs psql -c sql against db and returns its trimmed, unaligned,
// tuples-only output.
func (s *Server) Psql(ctx context.Context, db, sql string) (string, error) {
	out, err := s.Run(ctx, false, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql)
	if err != nil {
		return "", fmt.Errorf("psql %q: %w\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Pgbench runs pgbench with args against database postgres.
func (s *Server) Pgbench(ctx context.Context, args ...string) (string, error) {
	out, err := s.Run(ctx, false, "pgbench", append(args, "postgres")...)
	if err != nil {
		return string(out), fmt.Errorf("pgbench %v: %w\n%s", args, err, out)
	}
	return string(out), nil
}

// MkdirOwned creates directory path (and its parents) owned by the server's
// OS user, for tools such as pg_basebackup that run as that user.
func (s *Server) MkdirOwned(path string) error {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return err
	}
	if s.cred == nil {
		return nil
	}
	return os.Chown(path, int(s.cred.Uid), int(s.cred.Gid))
}
