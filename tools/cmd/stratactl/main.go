// Command stratactl runs a local Strata stack (up, down, status, token) and
// hosts Strata's admin and inspection tools.
package main

import (
	"github.com/stratadb/strata/tools/internal/bench"
	"github.com/stratadb/strata/tools/internal/ctl"
	"github.com/stratadb/strata/tools/internal/demo"
	"github.com/stratadb/strata/tools/internal/pgcmd"
	"github.com/stratadb/strata/tools/internal/svccmd"
	"github.com/stratadb/strata/tools/internal/tenantcmd"
	"github.com/stratadb/strata/tools/internal/walcmd"
)

func main() {
	cmds := append(tenantcmd.New(), pgcmd.New()...)
	ctl.Main(append(cmds, svccmd.New(), demo.New(), walcmd.New(), bench.New())...)
}
