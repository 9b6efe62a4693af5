package page

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

func newPage(tb testing.TB, special int) Page {
	tb.Helper()
	p := make(Page, Size)
	if err := p.Init(special); err != nil {
		tb.Fatal(err)
	}
	return p
}

func item(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

func mustAdd(tb testing.TB, p Page, it []byte, off OffsetNumber, flags int) OffsetNumber {
	tb.Helper()
	got, err := p.AddItem(it, off, flags)
	if err != nil {
		tb.Fatalf("AddItem(%d bytes, off %d): %v", len(it), off, err)
	}
	return got
}

func TestInitWritesPostgresHeaderBytes(t *testing.T) {
	p := newPage(t, 16)
	want := []byte{
		0, 0, 0, 0, 0, 0, 0, 0, // pd_lsn
		0, 0, // checksum
		0, 0, // flags
		24, 0, // lower
		0xF0, 0x1F, // upper 8176
		0xF0, 0x1F, // special 8176
		0x04, 0x20, // pagesize 8192 | version 4
		0, 0, 0, 0, // prune xid
	}
	if !bytes.Equal(p[:HeaderSize], want) {
		t.Fatalf("header = % x, want % x", p[:HeaderSize], want)
	}
	if p.PageSize() != Size || p.Version() != LayoutVersion || p.SpecialSize() != 16 {
		t.Fatalf("size %d version %d special %d", p.PageSize(), p.Version(), p.SpecialSize())
	}
	if err := p.Init(13); err != nil || p.Special() != Size-16 {
		t.Fatalf("special size is not MAXALIGNed: %d, %v", p.Special(), err)
	}
}

func TestHeaderAccessorsRoundTrip(t *testing.T) {
	p := newPage(t, 0)
	p.SetLSN(lsn.LSN(0x0000000112345678))
	if got := binary.LittleEndian.Uint32(p[0:]); got != 1 {
		t.Fatalf("xlogid = %d, want 1 (high word first)", got)
	}
	if got := binary.LittleEndian.Uint32(p[4:]); got != 0x12345678 {
		t.Fatalf("xrecoff = %x", got)
	}
	if p.LSN() != 0x0000000112345678 {
		t.Fatalf("LSN = %v", p.LSN())
	}
	p.SetChecksum(0xBEEF)
	p.SetFlag(AllVisible | HasFreeLines)
	p.ClearFlag(HasFreeLines)
	p.SetPruneXid(77)
	if p.Checksum() != 0xBEEF || p.Flags() != AllVisible || p.PruneXid() != 77 {
		t.Fatalf("checksum %x flags %x prune %d", p.Checksum(), p.Flags(), p.PruneXid())
	}
	p.SetPrunable(80)
	if p.PruneXid() != 77 {
		t.Fatal("SetPrunable raised pd_prune_xid")
	}
	p.SetPrunable(70)
	if p.PruneXid() != 70 {
		t.Fatal("SetPrunable did not lower pd_prune_xid")
	}
	p.SetPrunable(0xFFFFFFF0) // precedes 70 modulo 2^32
	if p.PruneXid() != 0xFFFFFFF0 {
		t.Fatal("SetPrunable ignored xid wraparound")
	}
}

func TestItemIDPacksLikeCBitfields(t *testing.T) {
	id := MakeItemID(8144, LPNormal, 45)
	// lp_off in bits 0-14, lp_flags in 15-16, lp_len in 17-31.
	if uint32(id) != 8144|1<<15|45<<17 {
		t.Fatalf("packed %#x", uint32(id))
	}
	if id.Off() != 8144 || id.Flags() != LPNormal || id.Len() != 45 || !id.IsNormal() || !id.HasStorage() {
		t.Fatalf("unpacked %d %d %d", id.Off(), id.Flags(), id.Len())
	}
	if r := Redirect(7); !r.IsRedirected() || r.Off() != 7 || r.HasStorage() {
		t.Fatal("redirect")
	}
	if d := id.WithFlags(LPDead); !d.IsDead() || d.Len() != 45 || d.Off() != 8144 {
		t.Fatal("mark dead must keep storage")
	}
}

func TestAddItemAppendsAtTopOfFreeSpace(t *testing.T) {
	p := newPage(t, 0)
	if off := mustAdd(t, p, item(30, 'a'), InvalidOffsetNumber, 0); off != 1 {
		t.Fatalf("first offset %d", off)
	}
	if off := mustAdd(t, p, item(8, 'b'), InvalidOffsetNumber, 0); off != 2 {
		t.Fatalf("second offset %d", off)
	}
	if p.Lower() != 32 || p.Upper() != Size-32-8 {
		t.Fatalf("lower %d upper %d", p.Lower(), p.Upper())
	}
	if id := p.ItemID(1); id.Off() != Size-32 || id.Len() != 30 {
		t.Fatalf("lp1 %d/%d", id.Off(), id.Len())
	}
	it, err := p.Item(2)
	if err != nil || !bytes.Equal(it, item(8, 'b')) {
		t.Fatalf("item 2 = %q, %v", it, err)
	}
	if p.GetExactFreeSpace() != p.Upper()-p.Lower() || p.GetFreeSpace() != p.Upper()-p.Lower()-4 {
		t.Fatal("free space")
	}
}

func TestAddItemShufflesOrOverwrites(t *testing.T) {
	p := newPage(t, 0)
	mustAdd(t, p, item(8, 'a'), 0, 0)
	mustAdd(t, p, item(8, 'b'), 0, 0)
	mustAdd(t, p, item(8, 'c'), 2, 0) // insert before b
	for off, want := range map[OffsetNumber]byte{1: 'a', 2: 'c', 3: 'b'} {
		if it, _ := p.Item(off); it[0] != want {
			t.Fatalf("item %d = %c, want %c", off, it[0], want)
		}
	}
	if _, err := p.AddItem(item(8, 'x'), 2, Overwrite); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("overwriting a used line pointer: %v", err)
	}
	_ = p.SetItemID(2, Unused())
	lower := p.Lower()
	mustAdd(t, p, item(8, 'd'), 2, Overwrite)
	if p.Lower() != lower {
		t.Fatal("overwrite must not grow the line pointer array")
	}
	if _, err := p.AddItem(item(8, 'x'), 9, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("offset beyond max+1: %v", err)
	}
}

func TestAddItemReusesFreeLinePointers(t *testing.T) {
	p := newPage(t, 0)
	for i := 0; i < 3; i++ {
		mustAdd(t, p, item(8, 'a'), 0, 0)
	}
	_ = p.SetItemID(2, Unused())
	p.SetFlag(HasFreeLines)
	if off := mustAdd(t, p, item(8, 'z'), 0, 0); off != 2 {
		t.Fatalf("reused offset %d, want 2", off)
	}
	if !p.HasFlag(HasFreeLines) {
		t.Fatal("flag must stay set when a free line pointer was found")
	}
	if off := mustAdd(t, p, item(8, 'y'), 0, 0); off != 4 {
		t.Fatalf("offset %d, want 4", off)
	}
	if p.HasFlag(HasFreeLines) {
		t.Fatal("flag must be cleared when no free line pointer exists")
	}
}

func TestAddItemRefusesWhatDoesNotFit(t *testing.T) {
	p := newPage(t, 0)
	if _, err := p.AddItem(item(Size, 'a'), 0, 0); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := p.AddItem(item(8, 'a'), MaxHeapTuplesPerPage+1, IsHeap|Overwrite); err == nil {
		t.Fatal("heap offset limit not enforced")
	}
	p.SetLower(9000)
	if _, err := p.AddItem(item(8, 'a'), 0, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt pointers: %v", err)
	}
}

// layout returns (offset, len, first byte) of every line pointer.
type lp struct {
	off, n int
	b      byte
}

func layout(p Page) []lp {
	var out []lp
	for i := FirstOffsetNumber; i <= p.MaxOffset(); i++ {
		id := p.ItemID(i)
		e := lp{off: id.Off(), n: id.Len()}
		if id.HasStorage() {
			e.b = p[id.Off()]
		}
		out = append(out, e)
	}
	return out
}

func equalLayout(tb testing.TB, got, want []lp) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("layout %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("layout %v, want %v", got, want)
		}
	}
}

func TestIndexTupleDeleteClosesBothGaps(t *testing.T) {
	p := newPage(t, 16)
	for _, c := range []byte("abc") {
		mustAdd(t, p, item(10, c), 0, 0)
	}
	if err := p.IndexTupleDelete(2); err != nil {
		t.Fatal(err)
	}
	sp := Size - 16
	equalLayout(t, layout(p), []lp{{sp - 16, 10, 'a'}, {sp - 32, 10, 'c'}})
	if p.Upper() != sp-32 || p.Lower() != 32 {
		t.Fatalf("upper %d lower %d", p.Upper(), p.Lower())
	}
	if err := p.IndexTupleDelete(3); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("deleting beyond max: %v", err)
	}
}

func TestIndexTupleDeleteNoCompactKeepsNumbering(t *testing.T) {
	p := newPage(t, 0)
	for _, c := range []byte("abc") {
		mustAdd(t, p, item(10, c), 0, 0)
	}
	if err := p.IndexTupleDeleteNoCompact(2); err != nil {
		t.Fatal(err)
	}
	equalLayout(t, layout(p), []lp{{Size - 16, 10, 'a'}, {0, 0, 0}, {Size - 32, 10, 'c'}})
	if err := p.IndexTupleDeleteNoCompact(3); err != nil {
		t.Fatal(err)
	}
	if p.MaxOffset() != 2 || p.Upper() != Size-16 {
		t.Fatalf("max %d upper %d", p.MaxOffset(), p.Upper())
	}
}

func TestIndexMultiDeleteCompactsInLinePointerOrder(t *testing.T) {
	p := newPage(t, 8)
	for _, c := range []byte("abcdef") {
		mustAdd(t, p, item(12, c), 0, 0)
	}
	if err := p.IndexMultiDelete([]OffsetNumber{1, 3, 5}); err != nil {
		t.Fatal(err)
	}
	sp := Size - 8
	equalLayout(t, layout(p), []lp{{sp - 16, 12, 'b'}, {sp - 32, 12, 'd'}, {sp - 48, 12, 'f'}})
	if p.Upper() != sp-48 || p.Lower() != HeaderSize+12 {
		t.Fatalf("upper %d lower %d", p.Upper(), p.Lower())
	}
	if err := p.IndexMultiDelete([]OffsetNumber{1, 2, 9}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad offsets: %v", err)
	}
}

func TestIndexMultiDeleteOfTwoUsesSingleDeletes(t *testing.T) {
	p := newPage(t, 0)
	q := newPage(t, 0)
	for _, c := range []byte("abcd") {
		mustAdd(t, p, item(8, c), 0, 0)
		mustAdd(t, q, item(8, c), 0, 0)
	}
	if err := p.IndexMultiDelete([]OffsetNumber{1, 3}); err != nil {
		t.Fatal(err)
	}
	_ = q.IndexTupleDelete(3)
	_ = q.IndexTupleDelete(1)
	if !bytes.Equal(p, q) {
		t.Fatal("two deletions differ from IndexTupleDelete last-first")
	}
}

func TestIndexTupleOverwriteResizesInPlace(t *testing.T) {
	p := newPage(t, 0)
	for _, c := range []byte("abc") {
		mustAdd(t, p, item(8, c), 0, 0)
	}
	if err := p.IndexTupleOverwrite(2, item(20, 'X')); err != nil {
		t.Fatal(err)
	}
	equalLayout(t, layout(p), []lp{{Size - 8, 8, 'a'}, {Size - 32, 20, 'X'}, {Size - 40, 8, 'c'}})
	if err := p.IndexTupleOverwrite(2, item(4, 'Y')); err != nil {
		t.Fatal(err)
	}
	equalLayout(t, layout(p), []lp{{Size - 8, 8, 'a'}, {Size - 16, 4, 'Y'}, {Size - 24, 8, 'c'}})
	if err := p.IndexTupleOverwrite(2, item(Size, 'Z')); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("oversized overwrite: %v", err)
	}
}

func TestRepairFragmentationPacksAndTrims(t *testing.T) {
	p := newPage(t, 0)
	for _, c := range []byte("abcde") {
		mustAdd(t, p, item(10, c), 0, IsHeap)
	}
	_ = p.SetItemID(2, Unused())
	_ = p.SetItemID(3, Redirect(4))
	_ = p.SetItemID(5, Dead())
	if err := p.RepairFragmentation(); err != nil {
		t.Fatal(err)
	}
	// lp5 is dead (used, no storage): it stays; lp2 is an unused hole.
	equalLayout(t, layout(p), []lp{{Size - 16, 10, 'a'}, {0, 0, 0}, {4, 0, 0}, {Size - 32, 10, 'd'}, {0, 0, 0}})
	if !p.HasFlag(HasFreeLines) || p.Upper() != Size-32 {
		t.Fatalf("flags %x upper %d", p.Flags(), p.Upper())
	}
	_ = p.SetItemID(5, Unused())
	_ = p.SetItemID(2, Dead())
	if err := p.RepairFragmentation(); err != nil {
		t.Fatal(err)
	}
	if p.MaxOffset() != 4 || p.HasFlag(HasFreeLines) {
		t.Fatalf("trailing unused not trimmed: max %d flags %x", p.MaxOffset(), p.Flags())
	}
}

func TestRepairFragmentationRejectsBadLinePointers(t *testing.T) {
	p := newPage(t, 0)
	mustAdd(t, p, item(10, 'a'), 0, 0)
	_ = p.SetItemID(1, Normal(Size-8, 100))
	if err := p.RepairFragmentation(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("item past pd_special: %v", err)
	}
}

func TestTruncateLinePointerArrayKeepsFirst(t *testing.T) {
	p := newPage(t, 0)
	for i := 0; i < 4; i++ {
		mustAdd(t, p, item(8, 'a'), 0, 0)
	}
	for _, off := range []OffsetNumber{1, 3, 4} {
		_ = p.SetItemID(off, Unused())
	}
	if err := p.TruncateLinePointerArray(); err != nil {
		t.Fatal(err)
	}
	if p.MaxOffset() != 2 || !p.HasFlag(HasFreeLines) {
		t.Fatalf("max %d flags %x", p.MaxOffset(), p.Flags())
	}
	_ = p.SetItemID(2, Unused())
	_ = p.TruncateLinePointerArray()
	if p.MaxOffset() != 1 || !p.HasFlag(HasFreeLines) {
		t.Fatalf("first line pointer must stay: max %d flags %x", p.MaxOffset(), p.Flags())
	}
}

func TestHeapFreeSpaceIsZeroWithoutLinePointers(t *testing.T) {
	p := newPage(t, 0)
	for i := 0; i < MaxHeapTuplesPerPage; i++ {
		mustAdd(t, p, nil, 0, IsHeap)
	}
	if p.GetFreeSpace() == 0 || p.GetHeapFreeSpace() != 0 {
		t.Fatalf("free %d heap free %d", p.GetFreeSpace(), p.GetHeapFreeSpace())
	}
	_ = p.SetItemID(7, Unused())
	p.SetFlag(HasFreeLines)
	if p.GetHeapFreeSpace() != p.GetFreeSpace() {
		t.Fatal("a free line pointer must make heap space available")
	}
}

func TestItemPointerRoundTrips(t *testing.T) {
	b := make([]byte, 6)
	ItemPointer{Block: 0x00012345, Offset: 7}.Put(b)
	if !bytes.Equal(b, []byte{0x01, 0x00, 0x45, 0x23, 7, 0}) {
		t.Fatalf("% x", b)
	}
	if got := GetItemPointer(b); got.Block != 0x12345 || got.Offset != 7 {
		t.Fatalf("%+v", got)
	}
}

func TestAccessorsNeverPanicOnGarbage(t *testing.T) {
	p := make(Page, Size)
	for i := range p {
		p[i] = 0xFF
	}
	_ = p.ItemID(0xFFFF)
	_, _ = p.Item(0xFFFF)
	_, _ = p.AddItem(item(8, 'a'), 0, 0)
	_ = p.IndexTupleDelete(1)
	_ = p.IndexTupleDeleteNoCompact(1)
	_ = p.IndexTupleOverwrite(1, item(4, 'a'))
	_ = p.IndexMultiDelete([]OffsetNumber{1, 2, 3})
	_ = p.RepairFragmentation()
	_ = p.TruncateLinePointerArray()
	_ = p.GetHeapFreeSpace()
	if _, err := p.SpecialSpace(); err != nil {
		t.Log(err)
	}
}
