package walredopool

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/postgres/heapam"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/redo"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/services/walredopool/internal/heaprec"
	"github.com/stratadb/strata/services/walredopool/internal/worker"
)

// The test binary is the workers' binary too (os.Executable), as the real
// walredo-pool binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == worker.Arg {
		os.Exit(worker.Main(worker.Options{}))
	}
	os.Exit(m.Run())
}

// testService is a walredo-pool served in-process with real worker
// processes.
type testService struct {
	svc    *Service
	client walredov1.WalRedoServiceClient
	key    ed25519.PrivateKey
}

func startService(tb testing.TB) *testService {
	tb.Helper()
	dir := tb.TempDir()
	priv, pub := filepath.Join(dir, "priv.pem"), filepath.Join(dir, "pub.pem")
	if err := auth.GenerateKeys(priv, pub); err != nil {
		tb.Fatal(err)
	}
	pk, err := auth.LoadPrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		tb.Fatal(err)
	}
	cfg.GRPC.Addr, cfg.Admin.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Auth.PublicKeyFiles = []string{pub}
	cfg.Pool.Workers = 2
	cfg.Pool.MaxRecords = 1000
	// The test binary lives in a directory only root can enter; the pool
	// package's tests cover dropping to an unprivileged user.
	cfg.Pool.WorkerUser = ""
	svc, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
		checkNoChildren(tb)
	})
	deadline := time.Now().Add(time.Minute)
	for svc.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			tb.Fatal("walredo-pool did not become ready")
		}
		time.Sleep(time.Millisecond)
	}
	conn, err := grpc.NewClient(svc.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &testService{svc: svc, client: walredov1.NewWalRedoServiceClient(conn), key: pk}
}

// ctx returns a context carrying a token of scope ("" = no token).
func (s *testService) ctx(tb testing.TB, scope auth.Scope) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	if scope == "" {
		return ctx
	}
	tok, err := auth.Mint(s.key, scope, "", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

var rel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

// heapChain is a request rebuilding block 3 of rel from n INSERT records
// (raw PostgreSQL records), and its records in stored (Strata) form.
func heapChain(n int) (*walredov1.RedoRequest, []redo.Record) {
	raws, lsns := heaprec.Chain(rel, 3, n, 0x2000000)
	k := key.RelBlock(rel, 3)
	req := &walredov1.RedoRequest{Key: k.AppendBinary(nil), Lsn: uint64(lsns[n-1]), PgVersion: 15,
		TenantId: "0123456789abcdef0123456789abcdef"}
	var recs []redo.Record
	for i := range raws {
		req.Records = append(req.Records, &walredov1.WalRecord{Lsn: uint64(lsns[i]), WillInit: i == 0, Data: raws[i],
			Kind: walredov1.WalRecordKind_WAL_RECORD_KIND_POSTGRES})
		recs = append(recs, redo.Record{LSN: lsns[i], Data: redo.EncodePostgres(nil, lsns[i], raws[i])})
	}
	return req, recs
}

func mustApply(tb testing.TB, k []byte, base []byte, recs []redo.Record) []byte {
	tb.Helper()
	kk, err := key.FromBinary(k)
	if err != nil {
		tb.Fatal(err)
	}
	pg, err := redo.Apply(kk, base, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return pg
}

func TestRedoOverGRPCEqualsTheInProcessRedo(t *testing.T) {
	s := startService(t)
	ctx := s.ctx(t, auth.ScopeWalredo)

	t.Run("a 200-record chain of raw PostgreSQL records from nothing", func(t *testing.T) {
		req, recs := heapChain(200)
		resp, err := s.client.Redo(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Page, mustApply(t, req.Key, nil, recs)) {
			t.Fatal("page differs from redo.Apply")
		}
	})
	t.Run("a base image and one stored engine-form record", func(t *testing.T) {
		full, recs := heapChain(11)
		base := mustApply(t, full.Key, nil, recs[:10])
		req := &walredov1.RedoRequest{Key: full.Key, Lsn: full.Lsn, BaseImage: base, BaseLsn: uint64(recs[9].LSN),
			Records: []*walredov1.WalRecord{{Lsn: uint64(recs[10].LSN), Data: recs[10].Data,
				Kind: walredov1.WalRecordKind_WAL_RECORD_KIND_ENGINE}}}
		resp, err := s.client.Redo(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Page, mustApply(t, full.Key, nil, recs)) {
			t.Fatal("page differs from redo.Apply")
		}
	})
	t.Run("a visibility-map clear on a VM page", func(t *testing.T) {
		vmRel := rel
		vmRel.Fork = key.ForkVM
		k := key.RelBlock(vmRel, 0).AppendBinary(nil)
		base := make([]byte, page.Size)
		if err := page.Page(base).Init(0); err != nil {
			t.Fatal(err)
		}
		for blk := range uint32(40) {
			if _, err := heapam.VMSet(base, 0, blk, 3); err != nil {
				t.Fatal(err)
			}
		}
		rec := redo.Record{LSN: 0x3000000, Data: redo.EncodeClearVisibilityMap(nil, 7, 30, 1)}
		resp, err := s.client.Redo(ctx, &walredov1.RedoRequest{Key: k, Lsn: 0x3000000, BaseImage: base, BaseLsn: 0x2000000,
			Records: []*walredov1.WalRecord{{Lsn: uint64(rec.LSN), Data: rec.Data, Kind: walredov1.WalRecordKind_WAL_RECORD_KIND_ENGINE}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Page, mustApply(t, k, base, []redo.Record{rec})) {
			t.Fatal("page differs from redo.Apply")
		}
	})
	t.Run("a record the redo cannot apply is Internal", func(t *testing.T) {
		req, _ := heapChain(2)
		req.BaseImage, req.BaseLsn = make([]byte, page.Size), 1
		req.Records[1].Data = []byte("not a WAL record at all")
		_, err := s.client.Redo(ctx, req)
		if status.Code(err) != codes.Internal {
			t.Fatalf("got %v, want Internal", err)
		}
	})
	st, err := s.client.GetStatus(ctx, &walredov1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.WorkersTotal != 2 || st.RequestsTotal != 4 || st.FailuresTotal != 1 || st.WorkersBusy != 0 {
		t.Fatalf("status %+v", st)
	}
	metrics := httpGet(t, "http://"+s.svc.AdminAddr()+"/metrics")
	for _, m := range []string{"strata_walredo_redo_seconds_count 4", "strata_walredo_worker_launches_total",
		"strata_walredo_request_records_bucket", "strata_walredo_request_bytes_bucket", "strata_walredo_workers ",
		`strata_walredo_worker_kills_total{reason="timeout"} 0`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

func TestRedoAcceptsOnlyWalredoTokens(t *testing.T) {
	s := startService(t)
	req, _ := heapChain(1)
	tests := []struct {
		name  string
		scope auth.Scope
		want  codes.Code
	}{
		{"a walredo token is served", auth.ScopeWalredo, codes.OK},
		{"a pageserverapi token is PermissionDenied", auth.ScopePageserverAPI, codes.PermissionDenied},
		{"a gccompactor token is PermissionDenied", auth.Scope("gccompactor"), codes.PermissionDenied},
		{"no token is Unauthenticated", "", codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.client.Redo(s.ctx(t, tt.scope), req)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("Redo: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRedoRefusesInvalidRequests(t *testing.T) {
	s := startService(t)
	ctx := s.ctx(t, auth.ScopeWalredo)
	tests := []struct {
		name   string
		mutate func(r *walredov1.RedoRequest)
		msg    string
	}{
		{"a short key", func(r *walredov1.RedoRequest) { r.Key = r.Key[:17] }, "key: 17 bytes, want 18"},
		{"a key that is not a page", func(r *walredov1.RedoRequest) { r.Key = key.RelSize(rel).AppendBinary(nil) }, "not a relation block or SLRU page"},
		{"no records", func(r *walredov1.RedoRequest) { r.Records = nil }, "records: none"},
		{"more records than max_records", func(r *walredov1.RedoRequest) {
			for len(r.Records) <= 1000 {
				r.Records = append(r.Records, r.Records[0])
			}
		}, "exceed pool.max_records (1000)"},
		{"a base image of the wrong size", func(r *walredov1.RedoRequest) { r.BaseImage = make([]byte, 100) }, "base_image: 100 bytes, want 8192"},
		{"no base image and a first record that does not will_init", func(r *walredov1.RedoRequest) { r.Records[0].WillInit = false }, "does not will_init"},
		{"records out of order", func(r *walredov1.RedoRequest) {
			r.Records[0], r.Records[1] = r.Records[1], r.Records[0]
			r.Records[0].WillInit = true
		}, "records must ascend"},
		{"a record above the requested lsn", func(r *walredov1.RedoRequest) { r.Lsn = r.Records[0].Lsn }, "above the requested lsn"},
		{"a record at or below base_lsn", func(r *walredov1.RedoRequest) {
			r.BaseImage, r.BaseLsn = make([]byte, page.Size), r.Records[0].Lsn
		}, "not above base_lsn"},
		{"an empty record", func(r *walredov1.RedoRequest) { r.Records[1].Data = nil }, "record 1 at"},
		{"a record larger than max_record_bytes", func(r *walredov1.RedoRequest) { r.Records[1].Data = make([]byte, 4<<20+1) }, "exceed pool.max_record_bytes"},
		{"an unknown record kind", func(r *walredov1.RedoRequest) { r.Records[1].Kind = 7 }, "unknown kind 7"},
		{"another PostgreSQL version", func(r *walredov1.RedoRequest) { r.PgVersion = 14 }, "pg_version 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := heapChain(3)
			tt.mutate(req)
			_, err := s.client.Redo(ctx, req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Fatalf("Redo: %v, want InvalidArgument with %q", err, tt.msg)
			}
		})
	}
}

func httpGet(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// checkNoChildren fails if the test process has a child left: a zombie or a
// leaked worker.
func checkNoChildren(tb testing.TB) {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == me {
			tb.Errorf("child process left after the service stopped: %s", s[:min(len(s), 80)])
		}
	}
}
