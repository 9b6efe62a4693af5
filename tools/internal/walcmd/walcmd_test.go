package walcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/wal"
)

var summary = regexp.MustCompile(`(?m)^records=\d+ blocks_verified=\d+ mismatches=\d+ unsupported=\d+\n\z`)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runWith(t, New(), args...)
}

// withoutGin is the real redo except that GIN records count as unsupported,
// so the failure path is tested whatever the redo coverage is.
func withoutGin(pg []byte, rec *wal.Record, blockID uint8) error {
	if rec.RmID == wal.RmGin {
		return fmt.Errorf("%w: %s at %s", redo.ErrUnsupported, rec.TypeName(), rec.LSN)
	}
	return redo.ApplyBlock(pg, rec, blockID)
}

func runWith(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestVerifyReportsSummaryAndFailsOnUnsupported(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real PostgreSQL workload")
	}
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{"wal_consistency_checking": "all"}})
	c.SQL(t,
		"create table t (id int primary key, v text)",
		"insert into t select g, 'x' || g from generate_series(1, 2000) g",
		"update t set v = v || 'y' where id % 3 = 0",
		"delete from t where id % 4 = 0",
		"vacuum t",
	)
	heapEnd := c.CurrentLSN(t)
	c.SQL(t,
		"create table g (a int[])",
		"create index g_gin on g using gin (a)",
		"insert into g select array[i % 5] from generate_series(1, 200) i",
		"checkpoint",
	)
	end := c.FlushLSN(t)
	c.Stop(t, "fast")

	out, err := run(t, "verify", "--wal-dir", c.WALDir(), "--from", c.StartLSN.String(), "--to", heapEnd.String())
	if err != nil {
		t.Fatalf("heap-only range failed: %v\n%s", err, out)
	}
	if !summary.MatchString(out) || !strings.Contains(out, "mismatches=0 unsupported=0") || strings.Contains(out, "blocks_verified=0") {
		t.Errorf("unexpected output for the heap range:\n%s", out)
	}

	out, err = run(t, "verify", "--wal-dir", c.WALDir(), "--from", c.StartLSN.String(), "--to", end.String())
	if err != nil || !strings.Contains(out, "mismatches=0 unsupported=0") {
		t.Fatalf("the GIN range failed with the real redo: %v\n%s", err, out)
	}

	noGin := &cobra.Command{Use: "wal"}
	noGin.AddCommand(verifyCmd(withoutGin))
	out, err = runWith(t, noGin, "verify", "--wal-dir", c.WALDir(), "--from", c.StartLSN.String(), "--to", end.String())
	if !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("GIN records did not fail verification: %v\n%s", err, out)
	}
	if !summary.MatchString(out) || !strings.Contains(out, "unsupported type Gin/") || !strings.Contains(out, "unsupported at ") {
		t.Errorf("unexpected output with GIN records:\n%s", out)
	}
}

func TestVerifyRejectsBadArguments(t *testing.T) {
	if _, err := run(t, "verify"); err == nil {
		t.Error("missing --wal-dir accepted")
	}
	if _, err := run(t, "verify", "--wal-dir", t.TempDir(), "--from", "nonsense"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("bad --from: %v", err)
	}
	if _, err := run(t, "verify", "--wal-dir", t.TempDir()); err == nil {
		t.Error("empty WAL directory accepted")
	}
}
