package pageservice

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// binary builds cmd/page-service once per test.
func binary(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "page-service")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/page-service")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a page-service child process.
type proc struct {
	cmd *exec.Cmd
	log *bytes.Buffer
	n   *node
}

func startProc(t testing.TB, bin, workdir, addr string) *proc {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(bin, "-auth.trust", "-grpc.addr="+addr, "-admin.addr=127.0.0.1:0", "-redo=local",
		"-workdir="+workdir, "-redis.addr=127.0.0.1:1", "-grpc.default-timeout=5m", "-log.level=debug")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &log}
	t.Cleanup(func() { p.kill() })
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p.n = &node{mgmt: pagev1.NewManagementServiceClient(conn), pages: pagev1.NewPageServiceClient(conn), stop: func() {}}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := p.n.mgmt.GetStatus(ctx, &pagev1.GetStatusRequest{})
		cancel()
		if err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("page-service did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// kill -9 of the page-service during ingest: after a restart the tenant
// loads, the timeline resumes at disk_consistent_lsn, re-streams from the
// slot, and a basebackup still reproduces the primary. The password of the
// source never reaches the log.
func TestKillNineDuringIngestResumesFromTheSlot(t *testing.T) {
	primary := pgtest.Start(t, pgtest.Options{})
	primary.Pgbench(t, "-i", "-s", "1", "-q")
	bin := binary(t)
	workdir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, bin, workdir, addr)
	ctx := callCtx(t)
	tenant, root := id.Generate().String(), id.Generate().String()
	if _, err := p.n.mgmt.CreateTenant(ctx, &pagev1.CreateTenantRequest{NewTenantId: &tenant}); err != nil {
		t.Fatal(err)
	}
	const password = "pw-that-must-not-leak"
	if _, err := p.n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, NewTimelineId: &root,
		Source: &pagev1.TimelineSource{Connstr: primary.ConnString("") + "&password=" + password}}); err != nil {
		t.Fatal(err)
	}
	primary.Pgbench(t, "-c", "2", "-t", "300", "-n")
	p.n.waitIngested(t, tenant, root, primary.CurrentLSN(t))
	before := p.n.timeline(t, tenant, root)
	p.kill()
	log1 := p.log.String()

	primary.SQL(t, "create table after_crash as select generate_series(1, 1000) v")
	p2 := startProc(t, bin, workdir, addr)
	pt := mark(t, primary, "postgres")
	p2.n.waitIngested(t, tenant, root, pt.at)
	after := p2.n.timeline(t, tenant, root)
	t.Logf("before kill: last_record_lsn %s disk_consistent_lsn %s; after restart: %s / %s",
		before.GetLastRecordLsn(), before.GetDiskConsistentLsn(), after.GetLastRecordLsn(), after.GetDiskConsistentLsn())
	c := p2.n.startFrom(t, tenant, root, pt.at)
	if got := snapshot(t, c, pt.dbs...); got != pt.want {
		t.Errorf("query results differ after kill -9 and restart at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
	}
	p2.kill()
	for i, log := range []string{log1, p2.log.String()} {
		if strings.Contains(log, password) {
			t.Errorf("log of run %d contains the source password", i+1)
		}
	}
	if !strings.Contains(p2.log.String(), "streaming WAL") {
		t.Errorf("no WAL streaming after the restart:\n%s", p2.log.String())
	}
}
