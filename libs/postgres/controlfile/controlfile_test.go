package controlfile

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// testdata/pg_control.initdb comes from a fresh PostgreSQL 15 initdb;
// pg_control.initdb.txt is pg_controldata's view of the same file.
func readGolden(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/pg_control.initdb")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMatchesPgControldata(t *testing.T) {
	c, err := Decode(readGolden(t))
	if err != nil {
		t.Fatal(err)
	}
	cp := c.CheckPointCopy
	checks := []struct {
		name      string
		got, want any
	}{
		{"system identifier", c.SystemIdentifier, uint64(7711775143796698476)},
		{"catalog version", c.CatalogVersionNo, uint32(202209061)},
		{"state is shut down", c.State, StateShutdowned},
		{"checkpoint location", c.CheckPointLoc, lsn.MustParse("0/1511A88")},
		{"redo location", cp.Redo, lsn.MustParse("0/1511A88")},
		{"timeline", cp.ThisTimeLineID, uint32(1)},
		{"full page writes", cp.FullPageWrites, true},
		{"next xid", cp.NextXid, uint64(724)},
		{"next oid", cp.NextOid, uint32(13573)},
		{"next multi", cp.NextMulti, uint32(1)},
		{"oldest xid", cp.OldestXid, uint32(716)},
		{"oldest xid db", cp.OldestXidDB, uint32(1)},
		{"oldest multi", cp.OldestMulti, uint32(1)},
		{"unlogged LSN", c.UnloggedLSN, lsn.MustParse("0/3E8")},
		{"max connections", c.MaxConnections, int32(100)},
		{"max wal senders", c.MaxWalSenders, int32(10)},
		{"max locks per xact", c.MaxLocksPerXact, int32(64)},
		{"block size", c.BlockSize, uint32(8192)},
		{"relation segment size", c.RelSegSize, uint32(131072)},
		{"WAL segment size", c.XLogSegSize, uint32(16 << 20)},
		{"toast chunk", c.ToastMaxChunkSize, uint32(1996)},
		{"float8 by value", c.Float8ByVal, true},
		{"nonce first byte", c.MockAuthNonce[0], byte(0xe6)},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestEncodeReproducesPostgresBytes(t *testing.T) {
	b := readGolden(t)
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Encode(); !bytes.Equal(got, b) {
		for i := range got {
			if got[i] != b[i] {
				t.Fatalf("first difference at byte %d: %02x, want %02x", i, got[i], b[i])
			}
		}
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	b := readGolden(t)
	for _, off := range []int{0, 12, 40, 100, 287, 288} {
		c := bytes.Clone(b)
		c[off] ^= 0x40
		if _, err := Decode(c); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flip at %d: err = %v, want ErrCorrupt", off, err)
		}
	}
	if _, err := Decode(b[:100]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short file: err = %v", err)
	}
}

func TestForStartAtClearsRecoveryState(t *testing.T) {
	c, err := Decode(readGolden(t))
	if err != nil {
		t.Fatal(err)
	}
	c.State = StateInProduction
	c.MinRecoveryPoint = 0x1234
	c.BackupEndRequired = true
	cp := c.CheckPointCopy
	cp.Redo = lsn.MustParse("0/3000028")
	cp.NextXid = 1<<32 | 900
	n := c.ForStartAt(cp.Redo, cp)
	round, err := Decode(n.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if round.State != StateShutdowned || round.MinRecoveryPoint != 0 || round.BackupEndRequired ||
		round.CheckPointLoc != cp.Redo || round.CheckPointCopy != cp {
		t.Fatalf("ForStartAt = %+v", round)
	}
	if round.CheckPointCopy.NextXidEpoch() != 1 || round.CheckPointCopy.NextXidValue() != 900 {
		t.Fatal("next xid split")
	}
	if c.State != StateInProduction {
		t.Fatal("ForStartAt modified its receiver")
	}
}
