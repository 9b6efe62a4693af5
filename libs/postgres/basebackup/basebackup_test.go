package basebackup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

// memSource is a tiny in-memory cluster: one database with a table, its VM,
// FSM and an unlogged table, one CLOG segment and one prepared transaction.
type memSource struct {
	failPage bool
}

var (
	table     = key.RelTag{SpcNode: DefaultTablespace, DbNode: 5, RelNode: 16384, Fork: key.ForkMain}
	tableVM   = key.RelTag{SpcNode: DefaultTablespace, DbNode: 5, RelNode: 16384, Fork: key.ForkVM}
	tableFSM  = key.RelTag{SpcNode: DefaultTablespace, DbNode: 5, RelNode: 16384, Fork: key.ForkFSM}
	unlogged  = key.RelTag{SpcNode: DefaultTablespace, DbNode: 5, RelNode: 16390, Fork: key.ForkMain}
	unlogInit = key.RelTag{SpcNode: DefaultTablespace, DbNode: 5, RelNode: 16390, Fork: key.ForkInit}
)

func (m memSource) Databases(context.Context) ([]Database, error) {
	return []Database{{DefaultTablespace, 5, true}, {GlobalTablespace, 0, true}, {DefaultTablespace, 7, false}}, nil
}
func (m memSource) Relations(_ context.Context, spc, db uint32) ([]key.RelTag, error) {
	if spc == DefaultTablespace && db == 5 {
		return []key.RelTag{unlogInit, table, tableFSM, unlogged, tableVM}, nil
	}
	return nil, nil
}
func (m memSource) RelSize(_ context.Context, r key.RelTag) (uint32, error) {
	switch r {
	case table:
		return 3, nil
	case unlogged:
		return 9, nil // the primary's unlogged data: must not be sent
	}
	return 1, nil
}
func (m memSource) Page(_ context.Context, k key.Key) ([]byte, error) {
	if m.failPage {
		return nil, errors.New("layer file is corrupt")
	}
	pg := make([]byte, blockSize)
	copy(pg, k.String())
	return pg, nil
}
func (m memSource) RelMap(_ context.Context, spc, db uint32) ([]byte, error) {
	return bytes.Repeat([]byte{byte(db)}, 512), nil
}
func (m memSource) SLRUSegments(_ context.Context, kind uint32) ([]uint32, error) {
	if kind == key.SLRUClog {
		return []uint32{0}, nil
	}
	return nil, nil
}
func (m memSource) SLRUSegmentSize(context.Context, uint32, uint32) (uint32, error) { return 2, nil }
func (m memSource) TwoPhase(context.Context) ([]uint32, error)                      { return []uint32{0x2AB}, nil }
func (m memSource) TwoPhaseFile(context.Context, uint32) ([]byte, error)            { return []byte("state"), nil }
func (m memSource) ControlFile(context.Context) ([]byte, error) {
	return os.ReadFile("../controlfile/testdata/pg_control.initdb")
}
func (m memSource) CheckPoint(ctx context.Context) ([]byte, error) {
	b, _ := m.ControlFile(ctx)
	c, err := controlfile.Decode(b)
	if err != nil {
		return nil, err
	}
	cp := c.CheckPointCopy
	cp.NextXid, cp.NextOid = 5000, 40000
	return cp.Encode(), nil
}

func readTar(t testing.TB, r io.Reader) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = b
	}
}

func TestArchiveHoldsWhatAServerNeeds(t *testing.T) {
	var buf bytes.Buffer
	at := lsn.MustParse("0/3003238")
	res, err := Write(context.Background(), &buf, memSource{}, Options{LSN: at, TimeLineID: 4, Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	files := readTar(t, &buf)
	for _, want := range []string{"PG_VERSION", "postgresql.conf", "pg_hba.conf", "pg_ident.conf", "global/pg_control",
		"global/pg_filenode.map", "base/5/PG_VERSION", "base/5/pg_filenode.map", "base/5/16384", "base/5/16384_vm",
		"base/5/16390", "base/5/16390_init", "pg_xact/0000", "pg_twophase/000002AB", "pg_wal/000000040000000000000003",
		"pg_notify/", "pg_logical/snapshots/", "pg_wal/archive_status/"} {
		if _, ok := files[want]; !ok {
			t.Errorf("archive lacks %s", want)
		}
	}
	for _, unwanted := range []string{"base/5/16384_fsm", "base/7/"} {
		if _, ok := files[unwanted]; ok {
			t.Errorf("archive has %s", unwanted)
		}
	}
	if got := len(files["base/5/16384"]); got != 3*blockSize {
		t.Errorf("table file has %d bytes", got)
	}
	if !bytes.Equal(files["base/5/16390"], files["base/5/16390_init"]) || len(files["base/5/16390"]) != blockSize {
		t.Error("unlogged main fork is not a copy of its init fork")
	}
	if !strings.HasPrefix(string(files["base/5/16384"][blockSize:]), key.RelBlock(table, 1).String()) {
		t.Error("block 1 of the table is not the source's page")
	}
	ctl, err := controlfile.Decode(files["global/pg_control"])
	if err != nil {
		t.Fatal(err)
	}
	if ctl.State != controlfile.StateShutdowned || ctl.CheckPointLoc != at || ctl.CheckPointCopy.Redo != at ||
		ctl.CheckPointCopy.NextXid != 5000 || ctl.CheckPointCopy.NextOid != 40000 || ctl.CheckPointCopy.ThisTimeLineID != 4 {
		t.Errorf("pg_control = %+v", ctl)
	}
	if res.CheckpointLSN != at || res.TimeLineID != 4 || res.EndLSN != at+120 {
		t.Errorf("result = %+v", res)
	}
}

func TestCompressedArchivesDecompress(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd} {
		var buf bytes.Buffer
		if _, err := Write(context.Background(), &buf, memSource{}, Options{LSN: 0x3003238, Compression: c}); err != nil {
			t.Fatal(err)
		}
		r, err := Decompress(c, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if files := readTar(t, r); len(files["global/pg_control"]) != controlfile.FileSize {
			t.Errorf("compression %d: pg_control missing", c)
		}
	}
}

func TestAFailedBuildLeavesTheArchiveUnterminated(t *testing.T) {
	var buf bytes.Buffer
	_, err := Write(context.Background(), &buf, memSource{failPage: true}, Options{LSN: 0x3003238})
	if err == nil || !strings.Contains(err.Error(), "layer file is corrupt") {
		t.Fatalf("err = %v", err)
	}
	tr := tar.NewReader(&buf)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			t.Fatal("a failed archive reads as complete")
		}
		if err != nil {
			break // io.ErrUnexpectedEOF or similar: the client sees it is cut short
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			break
		}
	}
}

func TestInvalidStartPointIsRejected(t *testing.T) {
	if _, err := Write(context.Background(), io.Discard, memSource{}, Options{}); err == nil {
		t.Fatal("LSN 0 accepted")
	}
}
