// Package walcmd is stratactl's `wal` command group: tools that read
// PostgreSQL 15 WAL directly.
//
//	stratactl wal verify --wal-dir DIR [--from LSN] [--to LSN]
//
// verify replays WAL written with wal_consistency_checking=all through
// Strata's Go redo and compares every result with PostgreSQL's logged page
// (see package verify). It prints the first mismatches and unsupported
// records, then exactly one summary line
//
//	records=N blocks_verified=N mismatches=N unsupported=N
//
// and exits non-zero if there was any mismatch or unsupported record.
package walcmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/verify"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// New returns the `wal` command.
func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wal",
		Short: "Inspect and verify PostgreSQL 15 WAL",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(verifyCmd(redo.ApplyBlock))
	return cmd
}

// ErrVerifyFailed is returned by `wal verify` when it found mismatches or
// unsupported records.
var ErrVerifyFailed = errors.New("WAL verification failed")

// verifyCmd builds `wal verify` around a block redo function (redo.ApplyBlock
// in stratactl; tests substitute their own).
func verifyCmd(applyBlock func(pg []byte, rec *wal.Record, blockID uint8) error) *cobra.Command {
	var dir, from, to string
	var tli uint32
	var maxReports int
	cmd := &cobra.Command{
		Use:   "verify --wal-dir DIR [--from LSN] [--to LSN]",
		Short: "Replay wal_consistency_checking=all WAL with the Go redo and compare with PostgreSQL's pages",
		Long: `Replays WAL written with wal_consistency_checking=all through Strata's Go redo.
Every block reference whose logged image is verify-only (BKPIMAGE_APPLY clear) is
compared, after PostgreSQL's masks, with the page the Go redo produced; images with
APPLY set establish page state. Pages touched before --from are verified from their
next image on. Prints the first mismatches (LSN, record type, block and first
differing byte) and unsupported record types, then one summary line; exits non-zero
on any mismatch or unsupported record.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true, // a failed verification is not a usage error
		SilenceErrors: true, // the caller (stratactl's root) reports the error
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := verify.Options{
				TLI: tli, MaxReports: maxReports,
				Redo:          verify.RedoFunc(applyBlock),
				IsUnsupported: func(err error) bool { return errors.Is(err, redo.ErrUnsupported) },
			}
			var err error
			if opts.From, err = parseLSN("--from", from); err != nil {
				return err
			}
			if opts.To, err = parseLSN("--to", to); err != nil {
				return err
			}
			res, err := verify.Run(cmd.Context(), dir, opts)
			if res != nil {
				report(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			if !res.OK() {
				return fmt.Errorf("%w: %d mismatches, %d unsupported records", ErrVerifyFailed, res.Mismatches, res.Unsupported)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "wal-dir", "", "directory of WAL segment files (pg_wal)")
	cmd.Flags().StringVar(&from, "from", "", "start LSN (X/Y); default: the first segment in --wal-dir")
	cmd.Flags().StringVar(&to, "to", "", "stop before the first record at or after this LSN; default: end of WAL")
	cmd.Flags().Uint32Var(&tli, "timeline", 0, "timeline of the segment files; 0 picks the highest present")
	cmd.Flags().IntVar(&maxReports, "max-report", 10, "how many mismatches and unsupported records to print")
	_ = cmd.MarkFlagRequired("wal-dir")
	return cmd
}

func parseLSN(flag, s string) (lsn.LSN, error) {
	if s == "" {
		return lsn.Invalid, nil
	}
	l, err := lsn.Parse(s)
	if err != nil {
		return lsn.Invalid, fmt.Errorf("%s: %w", flag, err)
	}
	return l, nil
}

// report prints the details, then the summary line last.
func report(w io.Writer, res *verify.Result) {
	for _, m := range res.FirstMismatches {
		fmt.Fprintln(w, m)
	}
	if n := res.Mismatches - len(res.FirstMismatches); n > 0 {
		fmt.Fprintf(w, "... and %d more mismatches\n", n)
	}
	for _, u := range res.FirstUnsupported {
		fmt.Fprintf(w, "unsupported at %s %s: %s\n", u.LSN, u.Type, u.Reason)
	}
	for _, t := range res.UnsupportedTypes() {
		fmt.Fprintf(w, "unsupported type %s: %d records\n", t, res.UnsupportedByType[t])
	}
	fmt.Fprintln(w, res.Summary())
}
