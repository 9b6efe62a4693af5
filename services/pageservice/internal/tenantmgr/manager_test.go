package tenantmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/platform/logging"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/redoclient"
)

func newManager(t testing.TB, dir string) *Manager {
	t.Helper()
	m := New(Config{Dir: dir}, Deps{Logger: logging.Discard(), NewRedoer: func(id.ID) timeline.Redoer { return redoclient.Local{} }})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// waitState polls until the tenant leaves Loading.
func waitState(t testing.TB, m *Manager, tid id.ID) (string, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tn, err := m.Get(tid)
		if err != nil {
			t.Fatal(err)
		}
		if s, reason := tn.State(); s != "Loading" {
			return s, reason
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s still loading", tid)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func TestTenantsAreCreatedLoadedAndBrokenIndependently(t *testing.T) {
	dir := t.TempDir()
	m := newManager(t, dir)
	ctx := context.Background()
	good, bad := id.Generate(), id.Generate()
	if _, err := m.Create(ctx, good, &pagev1.TenantConfig{GcHorizon: proto.Uint64(1 << 20), CheckpointTimeout: proto.String("0s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, bad, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, good, nil); !errors.Is(err, ErrExists) {
		t.Errorf("creating an existing tenant: %v, want ErrExists", err)
	}
	if _, err := m.Create(ctx, id.Generate(), &pagev1.TenantConfig{PitrInterval: proto.String("forever"), MaxLsnWalLag: proto.Uint64(0)}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "pitr_interval") || !strings.Contains(err.Error(), "max_lsn_wal_lag") {
		t.Errorf("invalid config: %v, want ErrInvalid naming both fields", err)
	}
	if _, err := m.Get(id.Generate()); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// A crash left a half-created tenant; the bad tenant's config is garbage.
	half := filepath.Join(dir, id.Generate().String()+tempSuffix)
	if err := os.MkdirAll(filepath.Join(half, "timelines"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bad.String(), "config"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}

	m2 := newManager(t, dir)
	if s, reason := waitState(t, m2, good); s != "Active" {
		t.Errorf("good tenant is %s (%s)", s, reason)
	}
	s, reason := waitState(t, m2, bad)
	if s != "Broken" || !strings.Contains(reason, "config") {
		t.Errorf("bad tenant is %s (%q), want Broken with a config reason", s, reason)
	}
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("half-created tenant directory left behind: %v", err)
	}
	if got := len(m2.List()); got != 2 {
		t.Errorf("%d tenants listed, want 2", got)
	}
	tn, _ := m2.Get(good)
	eff := Effective(tn.Conf())
	if eff.GetGcHorizon() != 1<<20 || eff.GetCheckpointDistance() != 256<<20 || eff.GetPitrInterval() != "30 days" {
		t.Errorf("effective config: %v", eff)
	}
	if err := tn.SetConf(&pagev1.TenantConfig{GcPeriod: proto.String("0s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Active(ctx, bad); !errors.Is(err, ErrNotActive) {
		t.Errorf("reading from a Broken tenant: %v, want ErrNotActive", err)
	}
	if _, err := tn.CreateBranch(ctx, id.Generate(), id.Generate(), 0); !errors.Is(err, ErrTimelineNotFound) {
		t.Errorf("branch of an unknown timeline: %v", err)
	}
	if _, err := tn.CreateRoot(ctx, id.Generate(), RootSource{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("root timeline without a source: %v", err)
	}
}
