package page

import (
	"encoding/binary"
	"testing"
)

// FuzzOps runs a sequence of page operations, driven by the fuzz input, on an
// initialized page whose bytes the input may also scribble over. Every
// operation must return an error or succeed; none may panic, and the page
// must stay Size bytes.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 10, 0, 0, 20, 0, 1, 1, 0, 5, 2, 0, 6})
	f.Add([]byte{0, 10, 0, 0, 10, 0, 0, 10, 0, 3, 1, 0, 3, 0, 4, 0, 7, 0, 8, 0, 9, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		p := make(Page, Size)
		_ = p.Init(int(len(in) % 64))
		next := func() int {
			if len(in) < 2 {
				in = nil
				return 0
			}
			v := int(binary.LittleEndian.Uint16(in))
			in = in[2:]
			return v
		}
		buf := make([]byte, Size)
		for len(in) > 0 {
			op := in[0]
			in = in[1:]
			a := next()
			switch op % 10 {
			case 0:
				_, _ = p.AddItem(buf[:a%Size], OffsetNumber(next()%400), next()%4)
			case 1:
				_ = p.IndexTupleDelete(OffsetNumber(a))
			case 2:
				_ = p.IndexTupleDeleteNoCompact(OffsetNumber(a))
			case 3:
				_ = p.IndexTupleOverwrite(OffsetNumber(a), buf[:next()%Size])
			case 4:
				offs := []OffsetNumber{OffsetNumber(a), OffsetNumber(next()), OffsetNumber(next())}
				_ = p.IndexMultiDelete(offs)
			case 5:
				_ = p.RepairFragmentation()
			case 6:
				_ = p.TruncateLinePointerArray()
			case 7:
				_ = p.SetItemID(OffsetNumber(a), ItemID(uint32(next())<<16|uint32(next())))
			case 8:
				p[a%Size] = byte(next())
			case 9:
				_, _ = p.Item(OffsetNumber(a))
				_ = p.GetHeapFreeSpace()
			}
		}
		if len(p) != Size {
			t.Fatalf("page length %d", len(p))
		}
	})
}
