// Package bench is stratactl's `bench` command group: benchmarks of Strata's
// real paths, each reported next to a baseline measured in the same run.
//
//	stratactl bench ingest [--scale 10] [--duration 30s]
//
//	stratactl bench getpage --stack DIR [--tenant T --timeline TL] [--depth 1,8] [--duration 20s]
//	stratactl bench basebackup --stack DIR [--scale 10] [--runs 3]
//
// ingest generates pgbench WAL on a fresh PostgreSQL 15 primary and replays
// the same WAL through Strata's ingest path and through PostgreSQL's own
// crash recovery, printing both rates and their ratio. getpage reads random
// blocks of a pgbench database over page-service's GetPages stream at each
// queue depth, next to the same stream against an in-process gRPC server that
// answers with a constant 8 KiB page. basebackup times Strata's GetBaseBackup
// of a pgbench database next to pg_basebackup of the same primary.
package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/tools/internal/stackapi"
)

// New returns the `bench` command.
func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks of Strata's real paths against same-run baselines",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(ingestCmd(), getpageCmd(), basebackupCmd(), echoServerCmd())
	return cmd
}

func ingestCmd() *cobra.Command {
	var o IngestOptions
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Replay pgbench WAL through Strata's ingest path and through PostgreSQL 15's recovery",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := RunIngest(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "WAL %s..%s: %.1f MB, %d records (pgbench scale %d, %s, %d clients)\n",
				res.StartLSN, res.EndLSN, float64(res.WALBytes)/1e6, res.Records, o.Scale, o.Duration, o.Clients)
			fmt.Fprintf(out, "%-34s %10s %10s\n", "path", "seconds", "MB/s")
			fmt.Fprintf(out, "%-34s %10.3f %10.1f\n", "Strata ingest (servable)", res.Strata.Seconds(), res.StrataMBps())
			fmt.Fprintf(out, "%-34s %10.3f %10.1f\n", "Strata ingest + L0 flush (fsync)", res.Durable.Seconds(), res.DurableMBps())
			fmt.Fprintf(out, "%-34s %10.3f %10.1f\n", "PostgreSQL 15 recovery (baseline)", res.Postgres.Seconds(), res.PostgresMBps())
			fmt.Fprintf(out, "%-34s %10.3f %10.1f\n", "WAL read + decode only", res.DecodeOnly.Seconds(), res.DecodeMBps())
			fmt.Fprintf(out, "ratio Strata (servable) / PostgreSQL recovery: %.2fx\n", res.StrataMBps()/res.PostgresMBps())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "work-dir", "", "working directory (default: a temporary one)")
	f.BoolVar(&o.Keep, "keep", false, "keep the working directory")
	f.IntVar(&o.Scale, "scale", 10, "pgbench scale of the initial database")
	f.DurationVar(&o.Duration, "duration", 30*time.Second, "length of the pgbench run that writes the WAL")
	f.IntVar(&o.Clients, "clients", 4, "pgbench clients")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of Strata's ingest to this file")
	f.Int64Var(&o.CheckpointDistance, "checkpoint-distance", 256<<20, "Strata timeline checkpoint_distance in bytes")
	return cmd
}

func getpageCmd() *cobra.Command {
	var o GetPageOptions
	var depths, at string
	cmd := &cobra.Command{
		Use:   "getpage",
		Short: "GetPages latency and rate at queue depths, next to a raw gRPC round trip of 8 KiB",
		Long: `Read random existing blocks of a pgbench database over page-service's
GetPages gRPC stream (one block per request) with DEPTH requests in flight,
then run the same client against a gRPC server in another process that
answers every request with a constant 8 KiB page (the raw round-trip
baseline), and against that server inside stratactl itself. Without
--tenant/--timeline a fresh PostgreSQL primary with pgbench at --scale is
imported into the stack first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Depths, err = ParseDepths(depths); err != nil {
				return err
			}
			if (o.Tenant == "") != (o.Timeline == "") {
				return fmt.Errorf("give both --tenant and --timeline, or neither")
			}
			if o.Tenant != "" {
				if o.Tenant, err = stackapi.ParseID("tenant", o.Tenant); err != nil {
					return err
				}
				if o.Timeline, err = stackapi.ParseID("timeline", o.Timeline); err != nil {
					return err
				}
			}
			if at != "" {
				if o.LSN, err = stackapi.ParseLSN(at); err != nil {
					return err
				}
			}
			res, err := RunGetPage(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%-26s %5s %9s %10s %10s %10s %10s\n", "path", "depth", "requests", "req/s", "mean", "p50", "p99")
			for _, r := range res {
				fmt.Fprintf(out, "%-26s %5d %9d %10.0f %10s %10s %10s\n", r.Name, r.Depth, r.Requests, r.ReqPerSec(),
					us(r.Mean), us(r.P50), us(r.P99))
			}
			for _, r := range res {
				for _, b := range res {
					if r.Name == pageName && b.Depth == r.Depth && b.Name == RawName {
						fmt.Fprintf(out, "depth %d: p50 page-service / raw echo (process) = %.2fx\n", r.Depth, float64(r.P50)/float64(b.P50))
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Stack, "stack", ".strata", "stack directory of a running `stratactl up`")
	f.StringVar(&o.Tenant, "tenant", "", "tenant of an existing pgbench timeline")
	f.StringVar(&o.Timeline, "timeline", "", "existing pgbench timeline")
	f.StringVar(&at, "lsn", "", "LSN to read at (default: the timeline's last record)")
	f.IntVar(&o.Scale, "scale", 10, "pgbench scale when the bench imports its own primary")
	f.StringVar(&depths, "depth", "1,8", "queue depths, comma-separated")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "measured time per depth and path")
	return cmd
}

func basebackupCmd() *cobra.Command {
	var o BaseBackupOptions
	cmd := &cobra.Command{
		Use:   "basebackup",
		Short: "Strata's basebackup of a pgbench database next to pg_basebackup of the same primary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Runs < 1 {
				return fmt.Errorf("--runs must be at least 1")
			}
			res, err := RunBaseBackup(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "pgbench scale %d, %d runs each (median; min..max)\n", o.Scale, o.Runs)
			fmt.Fprintf(out, "%-36s %10s %10s %10s %20s\n", "path", "MB", "seconds", "MB/s", "min..max")
			row := func(name string, n int64, ds []time.Duration) {
				m := Median(ds)
				fmt.Fprintf(out, "%-36s %10.1f %10.3f %10.1f %9.3f..%-9.3f\n", name, float64(n)/1e6, m.Seconds(),
					float64(n)/1e6/m.Seconds(), slices.Min(ds).Seconds(), slices.Max(ds).Seconds())
			}
			row("Strata GetBaseBackup (tar, gRPC)", res.StrataBytes, res.Strata)
			row("pg_basebackup -Ft -X none (baseline)", res.PGBytes, res.PG)
			fmt.Fprintf(out, "ratio Strata / pg_basebackup (median time): %.2fx\n", Median(res.Strata).Seconds()/Median(res.PG).Seconds())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Stack, "stack", ".strata", "stack directory of a running `stratactl up`")
	f.IntVar(&o.Scale, "scale", 10, "pgbench scale")
	f.IntVar(&o.Runs, "runs", 3, "runs of each path")
	return cmd
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
