// Package demo is `stratactl demo`: Strata's main job, shown end to end on a
// running local stack.
//
//  1. start a local PostgreSQL 15 primary and load pgbench into it;
//  2. create a tenant and import the primary as a root timeline (Strata
//     takes a base backup and then streams the primary's WAL);
//  3. run pgbench, record an LSN and the primary's numbers at it, run
//     pgbench again;
//  4. branch the timeline at the recorded LSN and start a stock PostgreSQL 15
//     on the branch (its own WAL streams back into the branch);
//  5. print the primary's and the branch's query results side by side, and
//     how to connect and stop.
//
// Everything keeps running after the command returns.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	"github.com/stratadb/strata/tools/internal/pgcmd"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// Options configure Run.
type Options struct {
	// Stack is the stack directory (stack.json).
	Stack string
	// PGDir holds the demo's PostgreSQL servers (primary/ and branch/).
	PGDir string
	// Scale is the pgbench scale; Phase is the length of each pgbench run.
	Scale int
	Phase time.Duration
}

// New returns the `demo` command.
func New() *cobra.Command {
	var o Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Import a local PostgreSQL into the running stack, branch it in the past, compare",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.PGDir == "" {
				o.PGDir = defaultPGDir(o.Stack)
			}
			return Run(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Stack, "stack", ".strata", "stack directory of a running `stratactl up`")
	f.StringVar(&o.PGDir, "pg-dir", "", "directory for the demo's PostgreSQL servers (default: STACK/demo, or /tmp/strata-demo as root)")
	f.IntVar(&o.Scale, "scale", 5, "pgbench scale")
	f.DurationVar(&o.Phase, "phase", 10*time.Second, "length of each pgbench run")

	var stackDir, pgDir string
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop the demo's PostgreSQL servers and remove their directory (the stack keeps running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pgDir == "" {
				pgDir = defaultPGDir(stackDir)
			}
			return Stop(cmd.Context(), pgDir, cmd.OutOrStdout())
		},
	}
	stop.Flags().StringVar(&stackDir, "stack", ".strata", "stack directory the demo ran on")
	stop.Flags().StringVar(&pgDir, "pg-dir", "", "the demo's --pg-dir")
	cmd.AddCommand(stop)
	return cmd
}

// Stop stops every server under pgDir (branch first, so the primary has no
// branch reading from it) and removes pgDir. A missing pgDir is not an error.
func Stop(ctx context.Context, pgDir string, w io.Writer) error {
	if _, err := os.Stat(pgDir); err != nil {
		fmt.Fprintf(w, "no demo in %s\n", pgDir)
		return nil
	}
	for _, name := range []string{"branch", "primary"} {
		dir := filepath.Join(pgDir, name)
		s, err := pgserver.Open(dir, pgserver.Options{})
		if err != nil {
			continue
		}
		if err := pgcmd.Stop(ctx, s, "fast", 5*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(w, "stopped PostgreSQL in %s\n", dir)
	}
	if err := os.RemoveAll(pgDir); err != nil {
		return err
	}
	fmt.Fprintf(w, "removed %s\n", pgDir)
	return nil
}

// defaultPGDir puts the servers next to the stack, except as root: then the
// servers run as the postgres user, who may not reach the stack directory
// (for example under /root), so they go to /tmp.
func defaultPGDir(stackDir string) string {
	if os.Geteuid() == 0 {
		return filepath.Join(os.TempDir(), "strata-demo")
	}
	abs, err := filepath.Abs(stackDir)
	if err != nil {
		abs = stackDir
	}
	return filepath.Join(abs, "demo")
}

// numbers are the queries the demo compares.
var numbers = []struct{ label, sql string }{
	{"pgbench_history rows", "select count(*) from pgbench_history"},
	{"sum(pgbench_accounts.abalance)", "select sum(abalance) from pgbench_accounts"},
	{"max(pgbench_history.mtime)", "select coalesce(max(mtime)::time(0)::text, '-') from pgbench_history"},
	{"rows in pgbench_accounts with abalance <> 0", "select count(*) from pgbench_accounts where abalance <> 0"},
}

func query(ctx context.Context, s *pgserver.Server) ([]string, error) {
	var out []string
	for _, n := range numbers {
		v, err := s.Psql(ctx, "postgres", n.sql)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Run runs the demo against the stack in o.Stack, reporting to w.
func Run(ctx context.Context, o Options, w io.Writer) error {
	c, err := stackapi.Open(o.Stack)
	if err != nil {
		return err
	}
	step := func(format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }
	if _, err := os.Stat(o.PGDir); err == nil {
		return fmt.Errorf("%s exists from an earlier demo: run `stratactl demo stop --stack %s` first (or pass --pg-dir)", o.PGDir, o.Stack)
	}
	primaryDir, branchDir := filepath.Join(o.PGDir, "primary"), filepath.Join(o.PGDir, "branch")

	step("starting a local PostgreSQL 15 primary in %s", primaryDir)
	primary, err := pgserver.Init(primaryDir, pgserver.Options{})
	if err != nil {
		return err
	}
	if err := primary.Start(ctx); err != nil {
		return err
	}
	step("pgbench -i -s %d", o.Scale)
	if _, err := primary.Pgbench(ctx, "-i", "-s", fmt.Sprint(o.Scale), "-q"); err != nil {
		return err
	}

	step("creating a tenant and importing the primary (base backup, then WAL streaming)")
	tenant, err := c.CreateTenant(ctx, "")
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	tl, err := c.CreateTimeline(ctx, tenant, stackapi.CreateTimeline{Source: &stackapi.Source{Connstr: primary.ConnString("postgres")}})
	if err != nil {
		return fmt.Errorf("import the primary: %w", err)
	}
	root := tl.TimelineID
	step("tenant %s, timeline %s (initdb_lsn %s)", tenant, root, deref(tl.InitdbLSN))

	step("pgbench for %s (phase 1)", o.Phase)
	if _, err := primary.Pgbench(ctx, "-c", "2", "-T", secs(o.Phase), "-n"); err != nil {
		return err
	}
	// pgbench has stopped: after a WAL switch (which flushes every commit,
	// even the asynchronous ones) the numbers are exactly the state at the
	// flush LSN.
	if _, err := primary.Psql(ctx, "postgres", "select pg_switch_wal()"); err != nil {
		return err
	}
	atMid, err := query(ctx, primary)
	if err != nil {
		return err
	}
	mid, err := primary.Psql(ctx, "postgres", "select pg_current_wal_flush_lsn()")
	if err != nil {
		return err
	}
	midLSN, err := lsn.Parse(mid)
	if err != nil {
		return err
	}
	step("recorded LSN %s (pgbench_history has %s rows here)", midLSN, atMid[0])

	step("pgbench for %s (phase 2)", o.Phase)
	if _, err := primary.Pgbench(ctx, "-c", "2", "-T", secs(o.Phase), "-n"); err != nil {
		return err
	}
	end, err := primary.Psql(ctx, "postgres", "select pg_current_wal_flush_lsn()")
	if err != nil {
		return err
	}
	endLSN, _ := lsn.Parse(end)
	if _, err := c.WaitLSN(ctx, tenant, root, endLSN, 2*time.Minute); err != nil {
		return err
	}
	step("Strata has streamed the primary up to %s", endLSN)

	step("branching timeline %s at %s and starting PostgreSQL on the branch", root, midLSN)
	br, err := c.CreateTimeline(ctx, tenant, stackapi.CreateTimeline{AncestorTimelineID: root, AncestorStartLSN: midLSN.String()})
	if err != nil {
		return fmt.Errorf("branch: %w", err)
	}
	started, err := pgcmd.StartOnTimeline(ctx, c, pgcmd.StartOptions{Tenant: tenant, Timeline: br.TimelineID, Dir: branchDir})
	if err != nil {
		return err
	}
	branch := started.Server
	if _, err := branch.Psql(ctx, "postgres", "create table branch_note as select 'written on the branch'::text as note, now() as at"); err != nil {
		return err
	}

	p, err := query(ctx, primary)
	if err != nil {
		return err
	}
	b, err := query(ctx, branch)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintf(tw, "query\tprimary (now)\tbranch (at %s)\tprimary at %s\n", midLSN, midLSN)
	for i, n := range numbers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.label, p[i], b[i], atMid[i])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	same := strings.Join(b, ",") == strings.Join(atMid, ",")
	fmt.Fprintf(w, "The branch shows the primary as it was at %s (same numbers: %t), while the primary has moved on.\n", midLSN, same)
	fmt.Fprintf(w, `
Everything keeps running:
  primary:  psql '%[2]s'
  branch:   psql '%[3]s'     (writes stream into timeline %[4]s)
  timelines: %[1]s timeline show --stack %[5]s --tenant %[6]s
  another branch: %[1]s timeline branch --stack %[7]s --tenant %[8]s --from %[9]s --at %[10]s
  start another PostgreSQL on any timeline at any LSN:
    %[1]s pg start --stack %[11]s --tenant %[12]s --timeline %[13]s --lsn %[14]s --dir /tmp/pg-%[15]s --no-wal-source
Stop:
  %[1]s demo stop --stack %[16]s      (or one server: %[1]s pg stop --dir %[17]s)
  %[1]s down --dir %[18]s
`, self(), primary.ConnString("postgres"), branch.ConnString("postgres"), br.TimelineID,
		o.Stack, tenant, o.Stack, tenant, root, midLSN, o.Stack, tenant, root, initLSN(tl), "copy",
		o.Stack, branchDir, o.Stack)
	return nil
}

func secs(d time.Duration) string {
	s := int(d.Seconds())
	if s < 1 {
		s = 1
	}
	return fmt.Sprint(s)
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// initLSN is a readable LSN of a freshly imported timeline, for the hint.
func initLSN(tl *stackapi.Timeline) string {
	if tl.MinReadableLSN != nil {
		return *tl.MinReadableLSN
	}
	return tl.LastRecordLSN
}

// self is how the user ran stratactl, for the commands the demo prints.
func self() string {
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		return os.Args[0]
	}
	return "stratactl"
}
