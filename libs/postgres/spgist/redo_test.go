package spgist

import (
	"encoding/binary"
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func counters(tb testing.TB, pg []byte) (nRedirection, nPlaceholder uint16) {
	tb.Helper()
	o, err := opaque(page.Page(pg))
	if err != nil {
		tb.Fatal(err)
	}
	return binary.LittleEndian.Uint16(o[offRedirection:]), binary.LittleEndian.Uint16(o[offPlaceholder:])
}

func tupState(tb testing.TB, pg []byte, off page.OffsetNumber) int {
	tb.Helper()
	t, err := page.Page(pg).Item(off)
	if err != nil {
		tb.Fatal(err)
	}
	return int(binary.LittleEndian.Uint32(t) & 3)
}

func TestAddLeafChainsTheNewTupleAfterTheHead(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1))
	rec := record(AddLeaf, cat([]byte{0, 0}, le16(2, 1, 0, 0), leafTup(0, 5, 5)), 7)
	if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	if n := page.Page(pg).MaxOffset(); n != 2 {
		t.Fatalf("max offset %d, want 2", n)
	}
	head, _ := page.Page(pg).Item(1)
	if next := binary.LittleEndian.Uint16(head[4:]) & 0x3FFF; next != 2 {
		t.Fatalf("head's next offset %d, want 2", next)
	}
}

func TestAddLeafReplacesAPlaceholder(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1), deadTuple(StatePlaceholder, invalidBlock, 0, 0))
	o, _ := opaque(page.Page(pg))
	binary.LittleEndian.PutUint16(o[offPlaceholder:], 1)
	rec := record(AddLeaf, cat([]byte{0, 0}, le16(2, 0, 0, 0), leafTup(0, 5, 5)), 7)
	if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	if _, np := counters(t, pg); np != 0 {
		t.Fatalf("nPlaceholder %d after replacing the only placeholder", np)
	}
	if s := tupState(t, pg, 2); s != StateLive {
		t.Fatalf("tuple 2 state %d, want live", s)
	}
}

func TestAddLeafRefusesToReplaceALiveTuple(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1), leafTup(0, 1, 2))
	rec := record(AddLeaf, cat([]byte{0, 0}, le16(2, 0, 0, 0), leafTup(0, 5, 5)), 7)
	if err := Redo(pg, rec, &rec.Blocks[0]); err == nil {
		t.Fatal("replacing a live tuple succeeded")
	}
}

func TestAddLeafUpdatesTheParentDownlink(t *testing.T) {
	pg := testPage(t, 0, innerTup(3))
	rec := record(AddLeaf, cat([]byte{0, 0}, le16(4, 0, 1, 2), leafTup(0, 9, 9)), 42, 1)
	if err := Redo(pg, rec, &rec.Blocks[1]); err != nil {
		t.Fatal(err)
	}
	tup, _ := page.Page(pg).Item(1)
	node := tup[innerHdrSize+2*8:]
	if got := page.GetItemPointer(node); got != (page.ItemPointer{Block: 42, Offset: 4}) {
		t.Fatalf("node 2 downlink %+v, want (42,4)", got)
	}
}

func TestMoveLeafsLeavesARedirectAndPlaceholders(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1), leafTup(1, 1, 2), leafTup(2, 1, 3))
	md := cat(le16(2), []byte{0, 0, 0, 0}, le16(0, 0), le16(0), []byte{9, 0, 0, 0, 0, 0, 0, 0},
		le16(3, 1), le16(1, 2, 3), leafTup(0, 1, 1), leafTup(1, 1, 2), leafTup(2, 1, 3))
	rec := record(MoveLeafs, md, 1, 8)
	if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	// offsets[0] (3) becomes the redirect to (8, 3); 1 a placeholder.
	if s := tupState(t, pg, 3); s != StateRedirect {
		t.Fatalf("tuple 3 state %d, want redirect", s)
	}
	if s := tupState(t, pg, 1); s != StatePlaceholder {
		t.Fatalf("tuple 1 state %d, want placeholder", s)
	}
	red, _ := page.Page(pg).Item(3)
	if got := page.GetItemPointer(red[6:]); got != (page.ItemPointer{Block: 8, Offset: 3}) {
		t.Fatalf("redirect points at %+v, want (8,3)", got)
	}
	if xid := binary.LittleEndian.Uint32(red[12:]); xid != 9 {
		t.Fatalf("redirect xid %d, want 9", xid)
	}
	if nr, np := counters(t, pg); nr != 1 || np != 1 {
		t.Fatalf("counters redirect=%d placeholder=%d, want 1 and 1", nr, np)
	}
}

func TestVacuumRedirectTurnsRedirectsIntoPlaceholdersAndTrimsTheTail(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1), deadTuple(StateRedirect, 3, 4, 5), deadTuple(StateRedirect, 3, 5, 5))
	o, _ := opaque(page.Page(pg))
	binary.LittleEndian.PutUint16(o[offRedirection:], 2)
	// Both redirects become placeholders; from offset 2 on everything goes.
	rec := record(VacuumRedirect, cat(le16(2, 2), le16(0, 0), le16(2, 3)), 1)
	if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	if n := page.Page(pg).MaxOffset(); n != 1 {
		t.Fatalf("max offset %d, want 1", n)
	}
	if nr, np := counters(t, pg); nr != 0 || np != 0 {
		t.Fatalf("counters redirect=%d placeholder=%d, want 0 and 0", nr, np)
	}
}

func TestVacuumLeafSwapsMovedLinePointers(t *testing.T) {
	pg := testPage(t, FlagLeaf, leafTup(0, 1, 1), leafTup(0, 1, 2), leafTup(0, 1, 3))
	// Move tuple 3 to slot 1 (replacing it), then re-chain nothing.
	rec := record(VacuumLeaf, cat(le16(0, 0, 1, 0), make([]byte, 8), le16(3), le16(1)), 1)
	if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	moved, _ := page.Page(pg).Item(1)
	if got := page.GetItemPointer(moved[6:]); got != (page.ItemPointer{Block: 1, Offset: 3}) {
		t.Fatalf("slot 1 holds heap TID %+v, want the moved tuple's (1,3)", got)
	}
	if s := tupState(t, pg, 3); s != StatePlaceholder {
		t.Fatalf("slot 3 state %d, want placeholder", s)
	}
}

func TestRedoRejectsShortRecords(t *testing.T) {
	for _, op := range []uint8{AddLeaf, MoveLeafs, AddNode, SplitTuple, PickSplit, VacuumLeaf, VacuumRoot, VacuumRedirect} {
		pg := testPage(t, FlagLeaf, leafTup(0, 1, 1))
		rec := &wal.Record{RmID: wal.RmSPGist, Info: op, MainData: []byte{1}, Blocks: []wal.BlockRef{{ID: 0}}}
		if err := Redo(pg, rec, &rec.Blocks[0]); err == nil {
			t.Errorf("%s with 1 byte of main data succeeded", wal.OpName(wal.RmSPGist, op))
		}
	}
}
