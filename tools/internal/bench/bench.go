// Package bench is stratactl's `bench` command group: benchmarks of Strata's
// real paths, each reported next to a baseline measured in the same run.
//
//	stratactl bench ingest [--scale 10] [--duration 30s]
//
// ingest generates pgbench WAL on a fresh PostgreSQL 15 primary and replays
// the same WAL through Strata's ingest path and through PostgreSQL's own
// crash recovery, printing both rates and their ratio.
package bench

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// New returns the `bench` command.
func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks of Strata's real paths against same-run baselines",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(ingestCmd())
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
