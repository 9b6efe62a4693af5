// Package e2e runs Strata's main job end to end on the real binaries (issue
// 5): a stock PostgreSQL 15 primary with pgbench and DDL is imported into a
// local stack with `stratactl timeline import`; at LSNs recorded during the
// run, stock PostgreSQL 15 servers started from Strata's basebackups answer
// checksum queries exactly as the primary did; a branch started with
// `stratactl pg start` accepts writes that stream back into the branch
// timeline; page-service killed with SIGKILL during ingest resumes; bad
// input through the gateway gets 400/404 with reasons; a corrupt layer file
// breaks only its timeline.
//
// Needs the PostgreSQL 15 binaries (postgresql-15; $STRATA_PG_BIN overrides
// /usr/lib/postgresql/15/bin) and, when run as root, the postgres OS user.
package e2e

import (
	"testing"

	"github.com/stratadb/strata/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
