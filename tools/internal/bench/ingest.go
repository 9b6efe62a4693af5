package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	"github.com/stratadb/strata/libs/postgres/datadir"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// IngestOptions configure `stratactl bench ingest`.
type IngestOptions struct {
	// Dir is the working directory (a fresh temporary one if empty); it is
	// removed afterwards unless Keep.
	Dir  string
	Keep bool
	// Scale and Duration of the pgbench run that generates the WAL.
	Scale    int
	Duration time.Duration
	Clients  int
	// CheckpointDistance of the Strata timeline (flushes to L0 layers with
	// fsync are part of the measured path).
	CheckpointDistance int64
	// CPUProfile, if set, receives a CPU profile of Strata's ingest.
	CPUProfile string
}

// IngestResult is one run's measurement.
type IngestResult struct {
	WALBytes   int64
	Records    int
	StartLSN   lsn.LSN
	EndLSN     lsn.LSN
	Strata     time.Duration // decode + map + put into the in-memory layer: WAL servable at the end
	Durable    time.Duration // Strata plus flushing everything to L0 layers with fsync
	Postgres   time.Duration // PostgreSQL 15 crash recovery of the same WAL ("redo done" elapsed)
	DecodeOnly time.Duration // reading and decoding alone, for reference
}

// StrataMBps and the other rates are in MB/s (10^6 bytes).
func (r IngestResult) StrataMBps() float64   { return mbps(r.WALBytes, r.Strata) }
func (r IngestResult) DurableMBps() float64  { return mbps(r.WALBytes, r.Durable) }
func (r IngestResult) PostgresMBps() float64 { return mbps(r.WALBytes, r.Postgres) }
func (r IngestResult) DecodeMBps() float64   { return mbps(r.WALBytes, r.DecodeOnly) }

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// RunIngest generates pgbench WAL on a fresh PostgreSQL 15 primary, then
// replays the same WAL twice: through Strata's ingest path (decode, map to
// keys, put into a timeline that flushes L0 layers to disk) and through
// PostgreSQL's own crash recovery from a base backup. progress receives
// human-readable steps.
func RunIngest(ctx context.Context, o IngestOptions, progress io.Writer) (IngestResult, error) {
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "strata-bench-ingest-")
		if err != nil {
			return IngestResult{}, err
		}
		dir = d
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the server's OS user must reach its directories
		return IngestResult{}, err
	}
	say := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }

	primary, err := pgserver.Init(filepath.Join(dir, "primary"), pgserver.Options{Settings: map[string]string{
		"shared_buffers": "256MB", "max_wal_size": "8GB", "checkpoint_timeout": "1h", "fsync": "on",
	}})
	if err != nil {
		return IngestResult{}, err
	}
	defer primary.Kill()
	if err := primary.Start(ctx); err != nil {
		return IngestResult{}, err
	}
	say("pgbench -i -s %d", o.Scale)
	if _, err := primary.Pgbench(ctx, "-i", "-s", strconv.Itoa(o.Scale), "-q"); err != nil {
		return IngestResult{}, err
	}
	if _, err := primary.Psql(ctx, "postgres", "select pg_create_physical_replication_slot('bench', true)"); err != nil {
		return IngestResult{}, err
	}
	baseDir := filepath.Join(dir, "base")
	if err := primary.MkdirOwned(baseDir); err != nil {
		return IngestResult{}, err
	}
	say("pg_basebackup into %s", baseDir)
	if out, err := primary.Run(ctx, true, "pg_basebackup", "-D", baseDir, "-X", "none", "-c", "fast", "-h", "127.0.0.1",
		"-p", strconv.Itoa(primary.Port), "-U", "postgres"); err != nil {
		return IngestResult{}, fmt.Errorf("pg_basebackup: %w\n%s", err, out)
	}
	start, err := backupStartLSN(filepath.Join(baseDir, "backup_label"))
	if err != nil {
		return IngestResult{}, err
	}
	say("pgbench -T %s -c %d", o.Duration, o.Clients)
	if _, err := primary.Pgbench(ctx, "-n", "-T", strconv.Itoa(int(o.Duration.Seconds())), "-c", strconv.Itoa(o.Clients), "-j", "2"); err != nil {
		return IngestResult{}, err
	}
	if err := primary.Stop(ctx, "fast"); err != nil {
		return IngestResult{}, err
	}

	res := IngestResult{StartLSN: start}
	say("decode only")
	if res.DecodeOnly, res.EndLSN, res.Records, err = decodeAll(primary.WALDir(), start); err != nil {
		return IngestResult{}, err
	}
	res.WALBytes = int64(res.EndLSN - start)
	say("Strata ingest of %d records, %.1f MB", res.Records, float64(res.WALBytes)/1e6)
	if res.Strata, res.Durable, err = strataIngest(ctx, filepath.Join(dir, "strata"), baseDir, primary.WALDir(), start, res.EndLSN, o.CheckpointDistance, o.CPUProfile); err != nil {
		return IngestResult{}, err
	}
	say("PostgreSQL recovery of the same WAL")
	if res.Postgres, err = postgresRecovery(ctx, filepath.Join(dir, "replay"), baseDir, primary.WALDir()); err != nil {
		return IngestResult{}, err
	}
	return res, nil
}

var startRE = regexp.MustCompile(`START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+)`)

func backupStartLSN(label string) (lsn.LSN, error) {
	b, err := os.ReadFile(label)
	if err != nil {
		return 0, err
	}
	m := startRE.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("%s has no START WAL LOCATION", label)
	}
	return lsn.Parse(string(m[1]))
}

func decodeAll(walDir string, start lsn.LSN) (time.Duration, lsn.LSN, int, error) {
	r, err := wal.NewReader(walDir, start, wal.ReaderOptions{})
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	end, n := start, 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, 0, err
		}
		end = rec.EndLSN
		n++
	}
	return time.Since(t0), end, n, nil
}

// strataIngest imports the base backup at its start LSN, then times the
// ingest of the WAL up to end and the final flush of everything to disk.
func strataIngest(ctx context.Context, dir, baseDir, walDir string, start, end lsn.LSN, distance int64, profile string) (servable, durable time.Duration, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	tl, err := timeline.Create(vfs.Default(), dir, id.Generate(),
		metadata.Metadata{InitDBLSN: start, LatestGCCutoffLSN: start, PGVersion: 15}, nil,
		timeline.Options{CheckpointDistance: distance}, timeline.Deps{})
	if err != nil {
		return 0, 0, err
	}
	defer tl.Close()
	loopCtx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); <-tl.FlushLoopDone() }()
	if err := tl.StartFlushLoop(loopCtx); err != nil {
		return 0, 0, err
	}
	w := tl.Writer()
	_, err = datadir.ImportDir(ctx, baseDir, start, w)
	if err == nil {
		err = w.FinishWrite(start)
	}
	w.Close()
	if err == nil {
		err = tl.FreezeAndFlush(ctx)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("import the base backup: %w", err)
	}
	r, err := wal.NewReader(walDir, start, wal.ReaderOptions{})
	if err != nil {
		return 0, 0, err
	}
	in := datadir.NewIngester(tl, start)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	for {
		rec, err := r.Next()
		if err == io.EOF || err == nil && rec.LSN >= end {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		w := tl.Writer()
		err = in.Ingest(ctx, rec, w)
		if err == nil {
			err = w.FinishWrite(rec.EndLSN)
		}
		w.Close()
		if err != nil {
			return 0, 0, err
		}
	}
	servable = time.Since(t0)
	if err := tl.FreezeAndFlush(ctx); err != nil {
		return 0, 0, err
	}
	return servable, time.Since(t0), nil
}

var redoDoneRE = regexp.MustCompile(`redo done at .* elapsed: ([0-9.]+) s`)

// postgresRecovery copies the base backup and the WAL into a new data
// directory and lets PostgreSQL 15 replay it (crash recovery from the backup
// label), returning the "redo done" elapsed time from its log.
func postgresRecovery(ctx context.Context, dir, baseDir, walDir string) (time.Duration, error) {
	s, err := pgserver.Init(dir, pgserver.Options{Settings: map[string]string{
		"shared_buffers": "256MB", "max_wal_size": "8GB", "log_min_messages": "log", "fsync": "on",
	}})
	if err != nil {
		return 0, err
	}
	defer s.Kill()
	conf, err := os.ReadFile(filepath.Join(s.DataDir, "postgresql.conf"))
	if err != nil {
		return 0, err
	}
	if err := os.RemoveAll(s.DataDir); err != nil {
		return 0, err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", baseDir, s.DataDir).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("copy base backup: %w\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "sh", "-c", "cp "+walDir+"/0000* "+filepath.Join(s.DataDir, "pg_wal")+"/").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("copy WAL: %w\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "postgresql.conf"), conf, 0o600); err != nil {
		return 0, err
	}
	if out, err := exec.CommandContext(ctx, "chown", "-R", "--reference="+s.Dir, s.DataDir).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("chown: %w\n%s", err, out)
	}
	if err := s.Start(ctx); err != nil {
		return 0, err
	}
	log, err := os.ReadFile(s.LogFile())
	if err != nil {
		return 0, err
	}
	m := redoDoneRE.FindSubmatch(log)
	if m == nil {
		return 0, fmt.Errorf("PostgreSQL's log has no \"redo done\" line:\n%s", tail(string(log), 2000))
	}
	sec, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(sec * float64(time.Second)), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
