package datadir

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/postgres/controlfile"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// memStore keeps the latest image of every key and the records put on it:
// enough for the ingest side, which reads directories, sizes and control
// values (always images) at its tip.
type memStore struct {
	images  map[key.Key][]byte
	records map[key.Key]int
}

func newMemStore() *memStore {
	return &memStore{images: map[key.Key][]byte{}, records: map[key.Key]int{}}
}

func (m *memStore) Get(_ context.Context, k key.Key, _ lsn.LSN) ([]byte, error) {
	b, ok := m.images[k]
	if !ok {
		return nil, fmt.Errorf("no value for %s", k)
	}
	return b, nil
}

func (m *memStore) Put(k key.Key, _ lsn.LSN, v value.Value) error {
	if v.IsImage() {
		m.images[k] = bytes.Clone(v.Data)
	} else {
		m.records[k]++
	}
	return nil
}

// emptyCluster is what an import of an empty data directory leaves.
func emptyCluster(t testing.TB) *memStore {
	t.Helper()
	s := newMemStore()
	im := newImporter(0x1000, s)
	ctl := controlfile.ControlFile{PgControlVersion: controlfile.Version, FloatFormat: 1234567.0,
		CheckPointCopy: controlfile.CheckPoint{NextXid: 700, NextOid: 16384, NextMulti: 1, ThisTimeLineID: 1}}
	if err := im.file(context.Background(), "global/pg_control", controlfile.FileSize, bytes.NewReader(ctl.Encode())); err != nil {
		t.Fatal(err)
	}
	if err := im.file(context.Background(), "pg_xact/0000", 8192, bytes.NewReader(make([]byte, 8192))); err != nil {
		t.Fatal(err)
	}
	if err := im.file(context.Background(), "base/5/PG_VERSION", 3, bytes.NewReader([]byte("15\n"))); err != nil {
		t.Fatal(err)
	}
	if _, err := im.finish(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDirectoriesRoundTripAndRejectGarbage(t *testing.T) {
	dbs := map[DB]bool{{1663, 5}: true, {1664, 0}: true, {1663, 16384}: false}
	got, err := decodeDbDir(encodeDbDir(dbs))
	if err != nil || len(got) != 3 || got[DB{1663, 16384}] || !got[DB{1663, 5}] {
		t.Fatalf("db dir = %v, %v", got, err)
	}
	rels := map[relEntry]struct{}{{16384, 0}: {}, {16384, 2}: {}, {1259, 0}: {}}
	if got, err := decodeRelDir(encodeRelDir(rels)); err != nil || len(got) != 3 {
		t.Fatalf("rel dir = %v, %v", got, err)
	}
	if !bytes.Equal(encodeRelDir(rels), encodeRelDir(map[relEntry]struct{}{{1259, 0}: {}, {16384, 2}: {}, {16384, 0}: {}})) {
		t.Error("equal directories encode differently")
	}
	for _, bad := range [][]byte{nil, {0}, {2, 0, 0, 0, 0}, {1, 0, 0, 0, 1}, {1, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3}} {
		if _, err := decodeRelDir(bad); err == nil {
			t.Errorf("decodeRelDir(%x) succeeded", bad)
		}
	}
}

func commitRecord(xid uint32, subxacts []uint32, dropped []key.RelTag) *wal.Record {
	le := binary.LittleEndian
	d := le.AppendUint64(nil, 777) // xact_time
	xinfo := uint32(0)
	if len(subxacts) > 0 {
		xinfo |= xinfoHasSubxacts
	}
	if len(dropped) > 0 {
		xinfo |= xinfoHasRelFileNodes
	}
	d = le.AppendUint32(d, xinfo)
	if len(subxacts) > 0 {
		d = le.AppendUint32(d, uint32(len(subxacts)))
		for _, s := range subxacts {
			d = le.AppendUint32(d, s)
		}
	}
	if len(dropped) > 0 {
		d = le.AppendUint32(d, uint32(len(dropped)))
		for _, r := range dropped {
			d = le.AppendUint32(le.AppendUint32(le.AppendUint32(d, r.SpcNode), r.DbNode), r.RelNode)
		}
	}
	return &wal.Record{RmID: wal.RmXact, Info: xactCommit | xactHasInfo, Xid: xid, MainData: d}
}

func TestCommitSetsClogAdvancesNextXidAndDropsRelations(t *testing.T) {
	s := emptyCluster(t)
	in := NewIngester(s, 0x1000)
	rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16400}
	create := &wal.Record{RmID: wal.RmSmgr, Info: 0x10, LSN: 0x1000, EndLSN: 0x1040,
		MainData: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1663), 5), 16400), 0)}
	if err := in.Ingest(context.Background(), create, s); err != nil {
		t.Fatal(err)
	}
	if n, err := At(s, 0).RelSize(context.Background(), rel); err != nil || n != 0 {
		t.Fatalf("created relation size = %d, %v", n, err)
	}
	commit := commitRecord(900, []uint32{901, 40000}, []key.RelTag{rel})
	commit.LSN, commit.EndLSN = 0x1040, 0x1080
	err := in.Ingest(context.Background(), commit, s)
	// xid 40000 lives on CLOG page 1, which does not exist: a clear error.
	if err == nil {
		t.Fatal("commit touching a missing CLOG page succeeded")
	}
	// A failed Ingest leaves partial puts: the timeline would go Broken. Start over.
	s = emptyCluster(t)
	in = NewIngester(s, 0x1000)
	if err := in.Ingest(context.Background(), create, s); err != nil {
		t.Fatal(err)
	}
	commit = commitRecord(900, []uint32{901}, []key.RelTag{rel})
	commit.LSN, commit.EndLSN = 0x1040, 0x1080
	if err := in.Ingest(context.Background(), commit, s); err != nil {
		t.Fatal(err)
	}
	if s.records[key.SLRUBlock(key.SLRUClog, 0, 0)] != 1 {
		t.Errorf("CLOG records = %d, want 1 for both xids on page 0", s.records[key.SLRUBlock(key.SLRUClog, 0, 0)])
	}
	if ok, _ := At(s, 0).RelExists(context.Background(), rel); ok {
		t.Error("the dropped relation still exists")
	}
	cp, _ := controlfile.DecodeCheckPoint(s.images[key.Checkpoint()])
	if cp.NextXid != 902 {
		t.Errorf("next xid = %d, want 902", cp.NextXid)
	}
}

func TestRecordsMustMoveForward(t *testing.T) {
	s := emptyCluster(t)
	in := NewIngester(s, 0x2000)
	if err := in.Ingest(context.Background(), &wal.Record{RmID: wal.RmStandby, LSN: 0x1000, EndLSN: 0x1020}, s); err == nil {
		t.Fatal("a record below the tip was accepted")
	}
}

func TestTrackXidHandlesWraparoundAndEpochs(t *testing.T) {
	in := &Ingester{cp: &controlfile.CheckPoint{NextXid: 1<<32 | 0xFFFFFFF0}}
	if err := in.trackXid(context.Background(), 0xFFFFFFFF); err != nil {
		t.Fatal(err)
	}
	if got := in.cp.NextXid; got != 2<<32|3 {
		t.Fatalf("next = %x, want epoch 2 xid 3 (special xids skipped)", got)
	}
	if err := in.trackXid(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if got := in.cp.NextXid; got != 2<<32|6 {
		t.Fatalf("next = %x after xid 5 in the new epoch", got)
	}
	if err := in.trackXid(context.Background(), 4); err != nil || in.cp.NextXid != 2<<32|6 {
		t.Fatalf("an older xid moved next to %x", in.cp.NextXid)
	}
}

func TestClogPagePrecedesIsCircular(t *testing.T) {
	if !clogPagePrecedes(1, 2) || clogPagePrecedes(2, 1) || clogPagePrecedes(3, 3) {
		t.Error("simple order")
	}
	last := uint32(0xFFFFFFFF / (8192 * 4))
	if !clogPagePrecedes(last, 0) {
		t.Error("the last page before wraparound precedes page 0")
	}
}

// FuzzIngest feeds arbitrary main data to every rmgr this mapping interprets:
// errors are fine, panics are not.
func FuzzIngest(f *testing.F) {
	f.Add(uint8(wal.RmXact), uint8(xactCommit|xactHasInfo), commitRecord(900, []uint32{901}, nil).MainData)
	f.Add(uint8(wal.RmSmgr), uint8(0x20), make([]byte, 20))
	f.Add(uint8(wal.RmMultiXact), uint8(0x20), []byte{1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 127})
	f.Add(uint8(wal.RmDbase), uint8(0x20), []byte{5, 0, 0, 0, 255, 255, 255, 255})
	f.Add(uint8(wal.RmRelMap), uint8(0), []byte{5, 0, 0, 0, 0x7f, 6, 0, 0, 0, 2, 0, 0})
	f.Add(uint8(wal.RmXLOG), uint8(0), make([]byte, 88))
	f.Add(uint8(wal.RmHeap), uint8(0x20), make([]byte, 14))
	f.Fuzz(func(t *testing.T, rmid, info uint8, data []byte) {
		s := emptyCluster(t)
		in := NewIngester(s, 0x1000)
		rec := &wal.Record{RmID: rmid % 22, Info: info, Xid: 800, LSN: 0x1000, EndLSN: 0x1100, MainData: data,
			Blocks: []wal.BlockRef{{Rel: key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}, Blk: 3}}}
		_ = in.Ingest(context.Background(), rec, s)
	})
}
