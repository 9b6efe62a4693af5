package acceptance

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/tests/harness"
)

// statusFailpoint makes page-service's GetStatus fail while it is set.
const statusFailpoint = "page-service-get-status"

func TestFailpointsAreListedAtStartAndChangeAtRuntime(t *testing.T) {
	s := harness.Start(t, harness.Options{
		Env:        []string{"GOTRACEBACK=all"},
		Failpoints: "strata-test-idle=off;" + statusFailpoint + "=return(42)",
		// The injected GetStatus failure is this test's doing.
		AllowedLogs: []string{`injected failure`},
	})
	for _, c := range s.Components {
		if c.Name == "redis" || c.Name == "gateway" {
			continue
		}
		b, err := os.ReadFile(c.Log)
		if err != nil {
			t.Fatal(err)
		}
		want := "started with failpoints: strata-test-idle=off;" + statusFailpoint + "=return(42)"
		if !strings.Contains(string(b), want) {
			t.Errorf("%s log lacks %q", c.Name, want)
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(c.Process.PID) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains("\x00"+string(env), "\x00GOTRACEBACK=all\x00") {
			t.Errorf("%s did not get GOTRACEBACK=all from stratactl", c.Name)
		}
	}
	ps := s.Component(t, "page-service")
	admin := "http://" + ps.AdminAddr + "/v1/failpoints"

	steps := []struct {
		name   string
		method string
		url    string
		body   string
		want   int
	}{
		{"the failpoint from FAILPOINTS makes GET /v1/status fail", http.MethodGet, s.GatewayURL + "/v1/status", "", http.StatusServiceUnavailable},
		{"PUT /v1/failpoints on the admin port turns it off", http.MethodPut, admin, `[{"name":"` + statusFailpoint + `","actions":"off"}]`, http.StatusOK},
		{"GET /v1/status answers again", http.MethodGet, s.GatewayURL + "/v1/status", "", http.StatusOK},
		{"PUT /v1/failpoints through the gateway turns it on", http.MethodPut, s.GatewayURL + "/v1/failpoints", `[{"name":"` + statusFailpoint + `","actions":"return(7)"}]`, http.StatusOK},
		{"GET /v1/status fails again", http.MethodGet, s.GatewayURL + "/v1/status", "", http.StatusServiceUnavailable},
		{"a bad action is refused with 400", http.MethodPut, admin, `[{"name":"x","actions":"explode(1)"}]`, http.StatusBadRequest},
	}
	token := s.Token(t, "pageserverapi", "")
	for _, st := range steps {
		code, body := do(t, st.method, st.url, token, st.body)
		if code != st.want {
			t.Fatalf("%s: %s %s = %d %s, want %d", st.name, st.method, st.url, code, body, st.want)
		}
	}
}

func TestFailpointsEndpointRefusesInANormalBuild(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	for _, c := range s.Components {
		if c.Name == "redis" || c.Name == "gateway" {
			continue
		}
		code, body := do(t, http.MethodPut, "http://"+c.AdminAddr+"/v1/failpoints", s.AdminToken, `[{"name":"a","actions":"off"}]`)
		if code != http.StatusBadRequest || !strings.Contains(body, "failpoints") {
			t.Errorf("%s: PUT /v1/failpoints = %d %s, want 400 naming the failpoints build", c.Name, code, body)
		}
		if code, body := do(t, http.MethodPut, "http://"+c.AdminAddr+"/v1/failpoints", "", `[]`); code != http.StatusUnauthorized {
			t.Errorf("%s: PUT /v1/failpoints without a token = %d %s, want 401", c.Name, code, body)
		}
	}
}
