// Package pgcmd is stratactl's PostgreSQL commands: fetch a base backup of a
// timeline, start a stock PostgreSQL 15 on one (a branch or a time-travel
// copy), stop it, and run a plain local primary to import.
//
//	stratactl basebackup --stack .strata --tenant T --timeline TL [--lsn X/Y] [--compression none|gzip|zstd] -o FILE
//	stratactl pg start --stack .strata --tenant T --timeline TL --port P --dir D [--lsn X/Y]
//	stratactl pg stop --dir D
//	stratactl pg init --dir D [--port P]
//
// `pg start` restores the archive into D/data (see libs/postgres/pgserver)
// and starts the server on 127.0.0.1:P. When the timeline has no WAL source
// yet — a branch, typically — the new server becomes its WAL source, so
// everything written to it streams back into that timeline.
package pgcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// DefaultStack is the stack directory when --stack is not given.
const DefaultStack = ".strata"

// New returns the `basebackup` and `pg` commands.
func New() []*cobra.Command {
	pg := &cobra.Command{Use: "pg", Short: "Run stock PostgreSQL 15 servers on Strata timelines", Args: cobra.NoArgs}
	pg.AddCommand(startCmd(), stopCmd(), initCmd())
	return []*cobra.Command{basebackupCmd(), pg}
}

// target is a timeline and an LSN from the command line, checked.
type target struct {
	tenant, timeline string
	at               lsn.LSN // lsn.Invalid: the timeline's last record
}

func parseTarget(tenant, timeline, at string) (target, error) {
	var t target
	var err error
	if t.tenant, err = stackapi.ParseID("tenant", tenant); err != nil {
		return t, err
	}
	if t.timeline, err = stackapi.ParseID("timeline", timeline); err != nil {
		return t, err
	}
	if at != "" {
		if t.at, err = stackapi.ParseLSN(at); err != nil {
			return t, fmt.Errorf("--lsn: %w", err)
		}
		if t.at == lsn.Invalid {
			return t, fmt.Errorf("--lsn: 0/0 is not a valid LSN (leave --lsn out for the timeline's last record)")
		}
	}
	return t, nil
}

func basebackupCmd() *cobra.Command {
	var dir, tenant, timeline, at, comp, out string
	cmd := &cobra.Command{
		Use:   "basebackup",
		Short: "Write a base backup (tar) of a timeline at an LSN to a file",
		Long: `Write a base backup of a timeline at an LSN (default: its last record) to a
file. The archive is written to FILE.partial and renamed to FILE only once
page-service has sent all of it, so FILE is always a complete archive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTarget(tenant, timeline, at)
			if err != nil {
				return err
			}
			if _, err := stackapi.ParseCompression(comp); err != nil {
				return err
			}
			if out == "" {
				return errors.New("-o FILE is required")
			}
			cl, err := stackapi.Open(dir)
			if err != nil {
				return err
			}
			n, err := WriteBaseBackup(cmd.Context(), cl, t.tenant, t.timeline, t.at, comp, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, n)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "stack", DefaultStack, "stack directory")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&timeline, "timeline", "", "timeline id (required)")
	f.StringVar(&at, "lsn", "", "LSN X/Y (default: the timeline's last record)")
	f.StringVar(&comp, "compression", "none", "none, gzip or zstd")
	f.StringVarP(&out, "output", "o", "", "output file (required)")
	return cmd
}

// WriteBaseBackup streams a base backup into path through path.partial
// (fsynced, then renamed): a failure leaves no file at path. compression is
// "none", "gzip" or "zstd".
func WriteBaseBackup(ctx context.Context, c *stackapi.Client, tenant, timeline string, at lsn.LSN, compression, path string) (int64, error) {
	comp, err := stackapi.ParseCompression(compression)
	if err != nil {
		return 0, err
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("basebackup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := c.BaseBackup(ctx, tenant, timeline, at, comp, f)
	if err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("basebackup: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("basebackup: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("basebackup: %w", err)
	}
	ok = true
	return n, nil
}

// StartOptions configure StartOnTimeline.
type StartOptions struct {
	Tenant, Timeline string
	// At is the LSN; lsn.Invalid means the timeline's last record.
	At lsn.LSN
	// Dir is the server directory (must not hold a server yet).
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// NoWalSource keeps the timeline's WAL source as it is even when it has
	// none.
	NoWalSource bool
}

// Started describes a server StartOnTimeline started.
type Started struct {
	Server *pgserver.Server
	// At is the LSN the server started from.
	At lsn.LSN
	// WalSource is true when the server was registered as the timeline's
	// WAL source.
	WalSource bool
	// OtherSource is the timeline's existing WAL source (redacted) when the
	// server was not registered: then what is written to it is not kept.
	OtherSource string
}

// StartOnTimeline fetches a base backup of a timeline, restores it into
// opts.Dir, starts PostgreSQL 15 on it and, when the timeline has no WAL
// source, makes the server its source. On failure the server is stopped.
func StartOnTimeline(ctx context.Context, c *stackapi.Client, opts StartOptions) (*Started, error) {
	if _, err := os.Stat(filepath.Join(opts.Dir, "server.json")); err == nil {
		return nil, fmt.Errorf("%s already holds a server (stop it with `stratactl pg stop --dir %s` and remove the directory)", opts.Dir, opts.Dir)
	}
	if err := checkReachable(opts.Dir); err != nil {
		return nil, err
	}
	tl, err := c.GetTimeline(ctx, opts.Tenant, opts.Timeline)
	if err != nil {
		return nil, fmt.Errorf("timeline %s/%s: %w", opts.Tenant, opts.Timeline, err)
	}
	at := opts.At
	if at == lsn.Invalid {
		if at, err = lsn.Parse(tl.LastRecordLSN); err != nil {
			return nil, fmt.Errorf("timeline %s: last_record_lsn: %w", opts.Timeline, err)
		}
	}
	// Stream the archive straight into the data directory: a stream that
	// fails midway has no end-of-archive marker, and Restore refuses it.
	pr, pw := io.Pipe()
	go func() {
		_, err := c.BaseBackup(ctx, opts.Tenant, opts.Timeline, at, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE, pw)
		pw.CloseWithError(err)
	}()
	srv, err := pgserver.Restore(opts.Dir, pr, pgserver.Options{Port: opts.Port})
	pr.CloseWithError(errors.New("restore ended"))
	if err != nil {
		return nil, fmt.Errorf("restore base backup of %s at %s into %s: %w", opts.Timeline, at, opts.Dir, err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	st := &Started{Server: srv, At: at}
	if !opts.NoWalSource && (tl.WalSourceConnstr == nil || *tl.WalSourceConnstr == "") {
		if _, err := c.SetWalSource(ctx, opts.Tenant, opts.Timeline, stackapi.Source{Connstr: srv.ConnString("postgres")}); err != nil {
			_ = srv.Stop(context.WithoutCancel(ctx), "fast")
			return nil, fmt.Errorf("make the new server the WAL source of %s: %w", opts.Timeline, err)
		}
		st.WalSource = true
	} else if tl.WalSourceConnstr != nil {
		st.OtherSource = *tl.WalSourceConnstr
	}
	return st, nil
}

func startCmd() *cobra.Command {
	var stackDir, tenant, timeline, at, dir string
	var port int
	var noSource bool
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a stock PostgreSQL 15 from a timeline's base backup",
		Long: `Fetch a base backup of a timeline at an LSN (default: its last record),
restore it into DIR/data and start PostgreSQL 15 on 127.0.0.1:PORT. When the
timeline has no WAL source (a fresh branch), the new server becomes its WAL
source: what you write to it streams back into the timeline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTarget(tenant, timeline, at)
			if err != nil {
				return err
			}
			if dir == "" {
				return errors.New("--dir is required: the directory for the new server")
			}
			if port < 0 || port > 65535 {
				return fmt.Errorf("--port %d: want 1-65535 (0 picks a free one)", port)
			}
			c, err := stackapi.Open(stackDir)
			if err != nil {
				return err
			}
			st, err := StartOnTimeline(cmd.Context(), c, StartOptions{
				Tenant: t.tenant, Timeline: t.timeline, At: t.at, Dir: dir, Port: port, NoWalSource: noSource,
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "PostgreSQL 15 started from timeline %s at %s\n", t.timeline, st.At)
			if st.WalSource {
				fmt.Fprintf(out, "its WAL streams into timeline %s\n", t.timeline)
			} else {
				fmt.Fprintf(out, "a copy: what you write to it is not kept by Strata (timeline %s streams from %s; branch it to keep writes)\n",
					t.timeline, orNone(st.OtherSource))
			}
			fmt.Fprintf(out, "connect: psql '%s'\n", st.Server.ConnString("postgres"))
			fmt.Fprintf(out, "stop:    stratactl pg stop --dir %s\n", dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&stackDir, "stack", DefaultStack, "stack directory")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&timeline, "timeline", "", "timeline id (required)")
	f.StringVar(&at, "lsn", "", "LSN X/Y (default: the timeline's last record)")
	f.StringVar(&dir, "dir", "", "directory for the new server (required)")
	f.IntVar(&port, "port", 0, "TCP port on 127.0.0.1 (default: a free one)")
	f.BoolVar(&noSource, "no-wal-source", false, "do not make the server the timeline's WAL source")
	return cmd
}

func stopCmd() *cobra.Command {
	var dir, mode string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop a PostgreSQL server started by `pg start` or `pg init`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			s, err := pgserver.Open(dir, pgserver.Options{})
			if err != nil {
				return err
			}
			if err := Stop(cmd.Context(), s, mode, wait); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PostgreSQL in %s stopped\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "server directory (required)")
	cmd.Flags().StringVar(&mode, "mode", "fast", "pg_ctl stop mode: smart, fast or immediate")
	cmd.Flags().DurationVar(&wait, "wal-sender-wait", 5*time.Second, "how long to let WAL senders finish before ending them")
	return cmd
}

func initCmd() *cobra.Command {
	var dir string
	var port int
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create and start a new local PostgreSQL 15 primary (initdb) to import into Strata",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			if _, err := os.Stat(filepath.Join(dir, "server.json")); err == nil {
				return fmt.Errorf("%s already holds a server", dir)
			}
			if err := checkReachable(dir); err != nil {
				return err
			}
			s, err := pgserver.Init(dir, pgserver.Options{Port: port})
			if err != nil {
				return err
			}
			if err := s.Start(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PostgreSQL 15 primary started\nconnect: psql '%s'\nstop:    stratactl pg stop --dir %s\n",
				s.ConnString("postgres"), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "server directory (required)")
	cmd.Flags().IntVar(&port, "port", 0, "TCP port on 127.0.0.1 (default: a free one)")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "no source"
	}
	return s
}
