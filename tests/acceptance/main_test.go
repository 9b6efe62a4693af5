// Package acceptance holds the foundation's acceptance tests (issue 2), run
// on the real binaries through tests/harness: the local stack starts and
// stops cleanly, the gateway authenticates, every service enforces its own
// scopes, failpoints work at runtime, and no secret reaches a log.
package acceptance

import (
	"testing"

	"github.com/stratadb/strata/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
