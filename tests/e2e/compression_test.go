package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/libs/postgres/basebackup"
	"github.com/stratadb/strata/libs/postgres/pgserver"
)

// `stratactl basebackup --compression` writes archives that, decompressed,
// start a stock PostgreSQL with the same data as the uncompressed one.
func TestCompressedBasebackupsStartTheSameDatabase(t *testing.T) {
	e := newEnv(t)
	p := e.primary("primary")
	sql(t, p, "postgres", "create table t (id int primary key, v text)",
		"insert into t select g, md5(g::text) from generate_series(1, 20000) g")
	tenant, root := e.importPrimary(p)
	pt := mark(t, p, "postgres")
	e.waitLSN(tenant, root, pt.at)
	for _, tt := range []struct {
		name string
		comp basebackup.Compression
	}{{"none", basebackup.None}, {"gzip", basebackup.Gzip}, {"zstd", basebackup.Zstd}} {
		t.Run("compression "+tt.name, func(t *testing.T) {
			e := e.sub(t)
			file := filepath.Join(e.pgDir, tt.name+".tar")
			e.ctl("basebackup", "--tenant", tenant, "--timeline", root, "--lsn", pt.at.String(),
				"--compression", tt.name, "-o", file)
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := basebackup.Decompress(tt.comp, f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := pgserver.Restore(filepath.Join(e.pgDir, "from-"+tt.name), r, pgserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, c, "postgres"); got != pt.want {
				t.Errorf("query results differ\n got:\n%s\nwant:\n%s", got, pt.want)
			}
		})
	}
}
