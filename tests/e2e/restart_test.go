package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// page-service killed with SIGKILL in the middle of ingest comes back from
// its local files (disk_consistent_lsn), streams the rest from the
// replication slot, and still reproduces the primary exactly.
func TestPageServiceKilledDuringIngestResumesAndStillReproducesThePrimary(t *testing.T) {
	e := newEnv(t, restartAllowed...)
	p := e.primary("primary")
	tenant, root := e.importPrimary(p)
	if _, err := p.Pgbench(context.Background(), "-i", "-s", "2", "-q"); err != nil {
		t.Fatal(err)
	}
	first := mark(t, p, "postgres")
	e.waitLSN(tenant, root, first.at)
	// Flush to disk so a real disk_consistent_lsn exists, then keep writing.
	if code, b := e.api("PUT", "/v1/tenant/"+tenant+"/timeline/"+root+"/checkpoint", map[string]any{}); code != 200 {
		t.Fatalf("checkpoint: HTTP %d %s", code, b)
	}
	durable := e.getTimeline(tenant, root)

	done := make(chan error, 1)
	go func() {
		_, err := p.Pgbench(context.Background(), "-c", "2", "-T", "8", "-n")
		done <- err
	}()
	// Kill while pgbench writes: wait until ingest has moved past the
	// checkpoint, so the in-memory layer holds unflushed WAL.
	durableAt, _ := lsn.Parse(durable.LastRecordLSN)
	e.waitLSN(tenant, root, durableAt+1<<20)
	out := e.ctl("service", "restart", "page-service", "--kill")
	if !strings.Contains(out, "restarted") {
		t.Fatalf("service restart: %s", out)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := e.getTimeline(tenant, root)
	if after.State == "Broken" {
		t.Fatalf("timeline Broken after the restart: %s", deref(after.BrokenReason))
	}
	dcl, _ := lsn.Parse(after.DiskConsistentLSN)
	if dcl < durableAt {
		t.Errorf("disk_consistent_lsn went back from %s to %s", durable.DiskConsistentLSN, after.DiskConsistentLSN)
	}
	last := mark(t, p, "postgres")
	e.waitLSN(tenant, root, last.at)
	for i, pt := range []point{first, last} {
		c := e.startAt([]string{"first", "last"}[i], tenant, root, pt.at)
		if got := snapshot(t, c, pt.dbs...); got != pt.want {
			t.Errorf("after the restart, query results differ at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
		}
	}
}
