package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestFreeAddrsAreDistinctLoopbackAddresses(t *testing.T) {
	addrs, err := freeAddrs(12)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("%s is not a loopback address", a)
		}
		if seen[a] {
			t.Errorf("%s picked twice", a)
		}
		seen[a] = true
	}
}

func TestStopEndsADetachedProcessAndAliveNoticesIt(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	p, err := spawn(spawnSpec{Path: sleep, Args: []string{"300"}, Log: filepath.Join(t.TempDir(), "sleep.log")})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() {
		t.Fatalf("process %d not alive right after spawn", p.PID)
	}
	if p.StartTime == 0 {
		t.Errorf("start time not recorded")
	}
	if err := p.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Errorf("process %d alive after Stop", p.PID)
	}
}

func TestARecycledPidIsNotTakenForTheStartedProcess(t *testing.T) {
	p := Process{PID: 1, StartTime: 1 << 62}
	if p.Alive() {
		t.Errorf("pid 1 with a different start time counted as alive")
	}
}

func TestStateRoundTripsThroughStackJSON(t *testing.T) {
	dir := t.TempDir()
	st := &State{Dir: dir, GatewayURL: "http://127.0.0.1:1", AdminToken: "t",
		Components: []Component{{Name: PageService, GRPCAddr: "127.0.0.1:2", Process: Process{PID: 3, StartTime: 4}}}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := got.Component(PageService)
	if !ok || c.GRPCAddr != "127.0.0.1:2" || c.Process.StartTime != 4 || got.GatewayURL != st.GatewayURL {
		t.Errorf("round trip = %+v", got)
	}
}

func TestServiceConfigsCarryNoTokenAndTokensGoToTheEnvironment(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if err := os.MkdirAll(l.KeysDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := newKeyRing(l)
	if err != nil {
		t.Fatal(err)
	}
	p := stackPlan{Layout: l, RedisAddr: "127.0.0.1:1", Addrs: map[string][2]string{}, GatewayAddr: "127.0.0.1:2"}
	for i, s := range Services {
		p.Addrs[s] = [2]string{fmt.Sprintf("127.0.0.1:%d", 3+i), "127.0.0.1:9"}
	}
	wantEnv := map[string][]string{
		PageService:    {"STRATA_WALREDO_TOKEN"},
		WalredoPool:    nil,
		UploadWorker:   {"STRATA_UPLOADWORKER_TOKEN"},
		GCCompactor:    {"STRATA_GCCOMPACTOR_TOKEN", "STRATA_WALREDO_TOKEN"},
		SizeCalculator: {"STRATA_SIZECALCULATOR_TOKEN"},
		Gateway:        nil,
	}
	for name, want := range wantEnv {
		spec, err := p.component(name, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal(spec.config, &cfg); err != nil {
			t.Fatalf("%s config is not YAML: %v", name, err)
		}
		if strings.Contains(string(spec.config), "eyJ") {
			t.Errorf("%s config holds a token", name)
		}
		var got []string
		for _, kv := range spec.env {
			k, _, _ := strings.Cut(kv, "=")
			got = append(got, k)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s env = %v, want %v", name, got, want)
		}
	}
}
