package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/postgres/redo"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/services/walredopool/internal/heaprec"
)

// TestBinaryServesRedoWithItsOwnWorkers builds the real binary, runs it with
// its production defaults (workers as `nobody` when run as root), serves a
// redo, and checks that SIGTERM leaves no worker behind.
func TestBinaryServesRedoWithItsOwnWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// A directory the unprivileged worker user can enter.
	binDir, err := os.MkdirTemp("", "walredo-pool-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "walredo-pool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "priv.pem"), filepath.Join(dir, "pub.pem")
	if err := auth.GenerateKeys(priv, pub); err != nil {
		t.Fatal(err)
	}
	pk, err := auth.LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-grpc.addr", grpcAddr, "-admin.addr", adminAddr, "-auth.public-key-files", pub,
		"-pool.workers", "2", "-log.level", "debug")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("walredo-pool stderr:\n%s", stderr.String())
		}
	})
	waitFor(t, "readyz", func() bool {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tok, err := auth.Mint(pk, auth.ScopeWalredo, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)

	rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}
	raws, lsns := heaprec.Chain(rel, 0, 50, 0x1000000)
	k := key.RelBlock(rel, 0)
	req := &walredov1.RedoRequest{Key: k.AppendBinary(nil), Lsn: uint64(lsns[49]), PgVersion: 15}
	var recs []redo.Record
	for i := range raws {
		req.Records = append(req.Records, &walredov1.WalRecord{Lsn: uint64(lsns[i]), WillInit: i == 0, Data: raws[i]})
		recs = append(recs, redo.Record{LSN: lsns[i], Data: redo.EncodePostgres(nil, lsns[i], raws[i])})
	}
	resp, err := walredov1.NewWalRedoServiceClient(conn).Redo(ctx, req)
	if err != nil {
		t.Fatalf("Redo: %v", err)
	}
	want, err := redo.Apply(k, nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Page, want) {
		t.Fatal("the binary's page differs from redo.Apply")
	}

	workers := childrenOf(t, cmd.Process.Pid)
	if len(workers) != 1 {
		t.Fatalf("service has %d worker processes, want 1", len(workers))
	}
	if os.Geteuid() == 0 {
		status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(workers[0]), "status"))
		if !strings.Contains(string(status), "\nUid:\t65534\t") {
			t.Errorf("worker does not run as nobody:\n%s", status)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("walredo-pool exited with %v", err)
	}
	for _, pid := range workers {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			t.Errorf("worker %d still exists after the service stopped", pid)
		}
	}
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(tb testing.TB, pid int) []int {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if f := strings.Fields(s[i+1:]); i > 0 && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			c, _ := strconv.Atoi(e.Name())
			out = append(out, c)
		}
	}
	return out
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
