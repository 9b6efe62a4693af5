package gateway

import (
	"os/exec"
	"strings"
	"testing"
)

// The gateway binary talks to services through proto/ only: it must not link any
// service's code, the storage engine or PostgreSQL code.
func TestGatewayDoesNotImportServices(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/stratadb/strata/services/",
		"github.com/stratadb/strata/libs/engine",
		"github.com/stratadb/strata/libs/postgres",
		"github.com/stratadb/strata/libs/objstore",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("gateway imports %s", pkg)
			}
		}
	}
}
