package pageservice

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// A pg_basebackup tar of a running primary, given as a path with its start
// and end LSNs, becomes a root timeline that then streams from the primary.
func TestRootTimelineFromAPgBasebackupTar(t *testing.T) {
	primary := pgtest.Start(t, pgtest.Options{})
	primary.Pgbench(t, "-i", "-s", "1", "-q")
	dir := t.TempDir()
	out, err := exec.Command(filepath.Join(primary.BinDir, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port),
		"-U", "postgres", "-D", dir, "-Ft", "-X", "none", "--checkpoint=fast").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "backup_manifest"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		WALRanges []struct {
			Start string `json:"Start-LSN"`
			End   string `json:"End-LSN"`
		} `json:"WAL-Ranges"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil || len(manifest.WALRanges) != 1 {
		t.Fatalf("backup_manifest WAL-Ranges: %v %s", err, regexp.MustCompile(`"WAL-Ranges"[^]]*]`).Find(raw))
	}
	primary.SQL(t, "update pgbench_accounts set abalance = abalance + 1 where aid % 10 = 0")

	n := startNode(t, t.TempDir())
	ctx := callCtx(t)
	tenant, root := id.Generate().String(), id.Generate().String()
	if _, err := n.mgmt.CreateTenant(ctx, &pagev1.CreateTenantRequest{NewTenantId: &tenant}); err != nil {
		t.Fatal(err)
	}
	resp, err := n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, NewTimelineId: &root,
		Source: &pagev1.TimelineSource{BasebackupTarPath: filepath.Join(dir, "base.tar"), BasebackupLsn: manifest.WALRanges[0].Start,
			BasebackupEndLsn: manifest.WALRanges[0].End, Connstr: primary.ConnString("")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetTimeline().GetMinReadableLsn(); got != manifest.WALRanges[0].End {
		t.Errorf("min_readable_lsn %s, want the backup's end %s", got, manifest.WALRanges[0].End)
	}
	pt := mark(t, primary, "postgres")
	n.waitIngested(t, tenant, root, pt.at)
	c := n.startFrom(t, tenant, root, pt.at)
	if got := snapshot(t, c, pt.dbs...); got != pt.want {
		t.Errorf("query results differ at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
	}
}
