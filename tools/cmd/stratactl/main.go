// Command stratactl runs a local Strata stack (up, down, status, token) and
// hosts Strata's admin and inspection tools.
package main

import (
	"github.com/stratadb/strata/tools/internal/bench"
	"github.com/stratadb/strata/tools/internal/ctl"
	"github.com/stratadb/strata/tools/internal/walcmd"
)

func main() {
	ctl.Main(walcmd.New(), bench.New())
}
