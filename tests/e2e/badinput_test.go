package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
)

const unknownID = "0123456789abcdef0123456789abcdef"

// Bad ids, unknown ids and impossible branch points are refused through the
// gateway with the right status and a reason, and stratactl shows the
// reason.
func TestBadInputThroughTheGatewayIsRefusedWithReasons(t *testing.T) {
	e := newEnv(t)
	p := e.primary("primary")
	tenant, root := e.importPrimary(p)
	tl := e.getTimeline(tenant, root)
	last, err := lsn.Parse(tl.LastRecordLSN)
	if err != nil {
		t.Fatal(err)
	}
	above := (last + 1<<30).String()

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
		reason string // a fragment the {"msg"} must hold; "" for any
	}{
		{"an invalid tenant id is 400", "GET", "/v1/tenant/not-a-tenant", nil, 400, ""},
		{"an unknown tenant is 404", "GET", "/v1/tenant/" + unknownID, nil, 404, ""},
		{"an invalid timeline id is 400", "GET", "/v1/tenant/" + tenant + "/timeline/xyz", nil, 400, ""},
		{"an unknown timeline is 404", "GET", "/v1/tenant/" + tenant + "/timeline/" + unknownID, nil, 404, ""},
		{"timelines of an unknown tenant are 404", "GET", "/v1/tenant/" + unknownID + "/timeline", nil, 404, ""},
		{"a branch of an unknown ancestor is 404", "POST", "/v1/tenant/" + tenant + "/timeline",
			map[string]any{"ancestor_timeline_id": unknownID}, 404, ""},
		{"a branch above the ancestor's last record is 400 with the reason", "POST", "/v1/tenant/" + tenant + "/timeline",
			map[string]any{"ancestor_timeline_id": root, "ancestor_start_lsn": above}, 400, above},
		{"a branch below the ancestor's minimum readable LSN is 400 with the reason", "POST", "/v1/tenant/" + tenant + "/timeline",
			map[string]any{"ancestor_timeline_id": root, "ancestor_start_lsn": "0/10"}, 400, "0/10"},
		{"a malformed branch LSN is 400", "POST", "/v1/tenant/" + tenant + "/timeline",
			map[string]any{"ancestor_timeline_id": root, "ancestor_start_lsn": "12345"}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			code, b := e.api(tt.method, tt.path, tt.body)
			if code != tt.want {
				t.Fatalf("%s %s: HTTP %d %s, want %d", tt.method, tt.path, code, b, tt.want)
			}
			var eb struct {
				Msg string `json:"msg"`
			}
			if err := json.Unmarshal(b, &eb); err != nil || eb.Msg == "" {
				t.Fatalf("error body %q is not {\"msg\": ...}", b)
			}
			if tt.reason != "" && !strings.Contains(eb.Msg, tt.reason) {
				t.Errorf("msg %q does not mention %q", eb.Msg, tt.reason)
			}
		})
	}

	t.Run("stratactl shows the server's reason for a branch above the last record", func(t *testing.T) {
		e := e.sub(t)
		out, err := e.ctlErr("timeline", "branch", "--tenant", tenant, "--from", root, "--at", above)
		if err == nil || !strings.Contains(out, "HTTP 400") || !strings.Contains(out, above) {
			t.Errorf("stratactl timeline branch above the tip: err %v, output:\n%s", err, out)
		}
	})
	t.Run("stratactl refuses a bad id before sending anything", func(t *testing.T) {
		e := e.sub(t)
		out, err := e.ctlErr("timeline", "show", "--tenant", "nope")
		if err == nil || !strings.Contains(out, `invalid tenant id "nope"`) {
			t.Errorf("err %v, output:\n%s", err, out)
		}
	})
}

// A flipped byte in one timeline's layer file, found when the layer is read
// after a restart, breaks that timeline (with a reason); another tenant's
// timeline is fine.
func TestCorruptLayerFileBreaksOnlyItsTimeline(t *testing.T) {
	e := newEnv(t, append(restartAllowed,
		// The broken timeline is reported once, and so is the basebackup
		// that found the corruption.
		`"msg":"timeline broken`,
		`"method":"/strata.pageservice.v1.PageService/GetBaseBackup".*corrupt`,
	)...)
	p := e.primary("primary")
	sql(t, p, "postgres", "create table t (v int)", "insert into t select generate_series(1, 10000)")
	badTenant, bad := e.importPrimary(p)
	goodTenant, good := e.importPrimary(p)
	end := flushLSN(t, p)
	for _, x := range [][2]string{{badTenant, bad}, {goodTenant, good}} {
		e.waitLSN(x[0], x[1], end)
		if code, b := e.api("PUT", "/v1/tenant/"+x[0]+"/timeline/"+x[1]+"/checkpoint", map[string]any{}); code != 200 {
			t.Fatalf("checkpoint: HTTP %d %s", code, b)
		}
	}
	// page-service's workdir is the stack directory or a directory in it.
	rel := filepath.Join("tenants", badTenant, "timelines", bad)
	dirs, _ := filepath.Glob(filepath.Join(e.stack.Dir, "*", rel))
	dirs = append(dirs, filepath.Join(e.stack.Dir, rel))
	dir := dirs[0]
	layer := largestLayer(t, dir)
	flipByte(t, layer, 20) // inside the checksummed summary at the start of the file
	e.ctl("service", "restart", "page-service")
	// Layers are checked when read: a basebackup of the timeline reads them
	// all, fails, and leaves no file behind.
	out := filepath.Join(e.pgDir, "bad.tar")
	if msg, err := e.ctlErr("basebackup", "--tenant", badTenant, "--timeline", bad, "-o", out); err == nil {
		t.Errorf("basebackup of a timeline with a corrupt layer succeeded:\n%s", msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed basebackup left %s", out)
	}

	deadline := time.Now().Add(time.Minute)
	for {
		code, b := e.api(http.MethodGet, "/v1/tenant/"+badTenant+"/timeline/"+bad, nil)
		var tl timeline
		_ = json.Unmarshal(b, &tl)
		if code == http.StatusOK && tl.State == "Broken" {
			if deref(tl.BrokenReason) == "" {
				t.Errorf("Broken timeline without a reason")
			}
			break
		}
		// A tenant-level Broken state is also acceptable, with a reason.
		if tc, tb := e.api(http.MethodGet, "/v1/tenant/"+badTenant, nil); tc == http.StatusOK && strings.Contains(string(tb), `"Broken"`) {
			if !strings.Contains(string(tb), "broken_reason") {
				t.Errorf("Broken tenant without a reason: %s", tb)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline with a corrupt layer is not Broken: HTTP %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	goodTL := e.waitLSN(goodTenant, good, end)
	if goodTL.State != "Active" {
		t.Errorf("the other tenant's timeline is %s, want Active", goodTL.State)
	}
	c := e.startAt("good", goodTenant, good, end)
	if n := query(t, c, "postgres", "select count(*) from t"); n != "10000" {
		t.Errorf("the healthy timeline serves %s rows, want 10000", n)
	}
}

// largestLayer returns the largest file of a timeline directory other than
// its metadata.
func largestLayer(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type f struct {
		path string
		size int64
	}
	var files []f
	for _, en := range entries {
		info, err := en.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if _, err := layer.ParseName(en.Name()); err != nil {
			continue
		}
		files = append(files, f{filepath.Join(dir, en.Name()), info.Size()})
	}
	if len(files) == 0 {
		t.Fatalf("no layer file in %s", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].size > files[j].size })
	return files[0].path
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
