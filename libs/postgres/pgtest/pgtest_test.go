package pgtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClusterStartsRunsSQLAndKeepsWAL(t *testing.T) {
	c := Start(t, Options{Settings: map[string]string{"wal_compression": "lz4"}})
	c.SQL(t, "create table t (id int)", "insert into t select generate_series(1, 1000)", "vacuum t")
	if got := c.Query(t, "select count(*) from t"); got != "1000" {
		t.Fatalf("count = %q", got)
	}
	if got := c.Query(t, "show wal_compression"); got != "lz4" {
		t.Errorf("wal_compression = %q", got)
	}
	if got := c.Query(t, "select count(*) from pg_replication_slots where slot_name = '"+SlotName+"' and restart_lsn is not null"); got != "1" {
		t.Errorf("reserved slot missing: %q", got)
	}
	end := c.CurrentLSN(t)
	if end <= c.StartLSN {
		t.Errorf("LSN did not advance: %s -> %s", c.StartLSN, end)
	}
	c.Stop(t, "fast")
	if _, err := os.Stat(filepath.Join(c.DataDir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid still present after stop: %v", err)
	}
	c.Start(t)
	if got := c.Query(t, "select count(*) from t"); got != "1000" {
		t.Fatalf("count after restart = %q", got)
	}
}
