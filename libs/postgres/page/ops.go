package page

import "fmt"

// AddItem flags (PageAddItemExtended's PAI_*).
const (
	// Overwrite reuses the unused line pointer at the given offset instead of
	// shifting the following line pointers up (PAI_OVERWRITE).
	Overwrite = 1 << 0
	// IsHeap limits the offset to MaxHeapTuplesPerPage (PAI_IS_HEAP).
	IsHeap = 1 << 1
)

// AddItem adds item to the page (PageAddItemExtended) and returns its offset.
//
// With off == InvalidOffsetNumber the first unused line pointer without
// storage is reused when PD_HAS_FREE_LINES is set (the flag is cleared if none
// is found), else a new one is appended. With a valid off and Overwrite, the
// line pointer at off must be unused; without Overwrite the line pointers from
// off on move up by one. The item data goes at the top of free space,
// MAXALIGNed. Errors: ErrCorrupt for bad page pointers or an impossible
// offset, ErrNoSpace when the item does not fit.
func (p Page) AddItem(item []byte, off OffsetNumber, flags int) (OffsetNumber, error) {
	return p.AddItemParts(off, flags, item)
}

// AddItemParts is AddItem for an item given as consecutive parts (for
// example a tuple header and its body), saving the caller from assembling
// it in a scratch buffer.
func (p Page) AddItemParts(off OffsetNumber, flags int, parts ...[]byte) (OffsetNumber, error) {
	size := 0
	for _, b := range parts {
		size += len(b)
	}
	if len(p) != Size {
		return 0, corrupt("page has %d bytes, want %d", len(p), Size)
	}
	lo, up, sp := p.Lower(), p.Upper(), p.Special()
	if lo < HeaderSize || lo > up || up > sp || sp > Size {
		return 0, corrupt("corrupted page pointers: lower = %d, upper = %d, special = %d", lo, up, sp)
	}
	limit := p.MaxOffset() + 1
	needShuffle := false
	if off != InvalidOffsetNumber {
		if flags&Overwrite != 0 {
			if off < limit {
				id := p.ItemID(off)
				if id.IsUsed() || id.HasStorage() {
					return 0, corrupt("will not overwrite used line pointer %d", off)
				}
			}
		} else if off < limit {
			needShuffle = true
		}
	} else if p.HasFlag(HasFreeLines) {
		for off = FirstOffsetNumber; off < limit; off++ {
			id := p.ItemID(off)
			if !id.IsUsed() && !id.HasStorage() {
				break
			}
		}
		if off >= limit {
			p.ClearFlag(HasFreeLines)
		}
	} else {
		off = limit
	}
	if off > limit {
		return 0, corrupt("item offset %d too large (max %d)", off, limit)
	}
	if flags&IsHeap != 0 && int(off) > MaxHeapTuplesPerPage {
		return 0, corrupt("heap offset %d beyond MaxHeapTuplesPerPage", off)
	}
	lower := lo
	if off == limit || needShuffle {
		lower += ItemIDSize
	}
	upper := up - MaxAlign(size)
	if lower > upper {
		return 0, fmt.Errorf("add item of %d bytes at offset %d (free %d): %w", size, off, up-lo, ErrNoSpace)
	}
	pos := itemIDPos(off)
	if needShuffle {
		copy(p[pos+ItemIDSize:lo+ItemIDSize], p[pos:lo])
	}
	p.setItemID(off, Normal(upper, size))
	at := upper
	for _, b := range parts {
		at += copy(p[at:], b)
	}
	p.SetLower(lower)
	p.SetUpper(upper)
	return off, nil
}

// checkItem validates a line pointer's storage like the index routines do:
// offset >= pd_upper, offset+len <= pd_special, offset MAXALIGNed.
func (p Page) checkItem(id ItemID) error {
	o, n := id.Off(), id.Len()
	if o < p.Upper() || o+n > p.Special() || o != MaxAlign(o) {
		return corrupt("corrupted line pointer: offset = %d, size = %d", o, n)
	}
	return nil
}

// IndexTupleDelete removes the item at off and its line pointer, closing both
// gaps (PageIndexTupleDelete): later line pointers move down by one, the data
// below the item moves up.
func (p Page) IndexTupleDelete(off OffsetNumber) error {
	if err := p.CheckHeader(); err != nil {
		return err
	}
	nline := p.MaxOffset()
	if off == 0 || off > nline {
		return corrupt("invalid index offnum: %d", off)
	}
	id := p.ItemID(off)
	if err := p.checkItem(id); err != nil {
		return err
	}
	offset, size := id.Off(), MaxAlign(id.Len())
	lo, up := p.Lower(), p.Upper()
	pos := itemIDPos(off)
	copy(p[pos:], p[pos+ItemIDSize:lo])
	if offset > up {
		copy(p[up+size:], p[up:offset])
	}
	p.SetUpper(up + size)
	p.SetLower(lo - ItemIDSize)
	if !p.IsEmpty() {
		for i := FirstOffsetNumber; i <= nline-1; i++ {
			ii := p.ItemID(i)
			if ii.Off() <= offset {
				p.setItemID(i, ii.WithOff(ii.Off()+size))
			}
		}
	}
	return nil
}

// IndexTupleDeleteNoCompact removes the item at off but keeps the line
// pointer array's numbering: the line pointer becomes unused unless it is the
// last one, which is removed (PageIndexTupleDeleteNoCompact).
func (p Page) IndexTupleDeleteNoCompact(off OffsetNumber) error {
	if err := p.CheckHeader(); err != nil {
		return err
	}
	nline := p.MaxOffset()
	if off == 0 || off > nline {
		return corrupt("invalid index offnum: %d", off)
	}
	id := p.ItemID(off)
	if err := p.checkItem(id); err != nil {
		return err
	}
	offset, size := id.Off(), MaxAlign(id.Len())
	if off < nline {
		p.setItemID(off, Unused())
	} else {
		p.SetLower(p.Lower() - ItemIDSize)
		nline--
	}
	up := p.Upper()
	if offset > up {
		copy(p[up+size:], p[up:offset])
	}
	p.SetUpper(up + size)
	if !p.IsEmpty() {
		for i := FirstOffsetNumber; i <= nline; i++ {
			ii := p.ItemID(i)
			if ii.HasStorage() && ii.Off() <= offset {
				p.setItemID(i, ii.WithOff(ii.Off()+size))
			}
		}
	}
	return nil
}

// IndexTupleOverwrite replaces the item at off with newItem in place, moving
// the data below it when the MAXALIGNed size changes (PageIndexTupleOverwrite).
// It returns ErrNoSpace when the new item does not fit.
func (p Page) IndexTupleOverwrite(off OffsetNumber, newItem []byte) error {
	if err := p.CheckHeader(); err != nil {
		return err
	}
	n := p.MaxOffset()
	if off == 0 || off > n {
		return corrupt("invalid index offnum: %d", off)
	}
	id := p.ItemID(off)
	if err := p.checkItem(id); err != nil {
		return err
	}
	offset := id.Off()
	oldSize := MaxAlign(id.Len())
	newSize := MaxAlign(len(newItem))
	lo, up := p.Lower(), p.Upper()
	if newSize > oldSize+(up-lo) {
		return fmt.Errorf("overwrite item %d with %d bytes: %w", off, len(newItem), ErrNoSpace)
	}
	diff := oldSize - newSize
	if diff != 0 {
		copy(p[up+diff:], p[up:offset])
		p.SetUpper(up + diff)
		for i := FirstOffsetNumber; i <= n; i++ {
			ii := p.ItemID(i)
			if ii.HasStorage() && ii.Off() <= offset {
				p.setItemID(i, ii.WithOff(ii.Off()+diff))
			}
		}
	}
	p.setItemID(off, MakeItemID(offset+diff, p.ItemID(off).Flags(), len(newItem)))
	copy(p[offset+diff:], newItem)
	return nil
}

// compactItem is one item to keep during compaction.
type compactItem struct {
	index     int // line pointer index (offset number - 1)
	off, alen int // current offset and MAXALIGNed length
}

// compactify packs items against pd_special in the order given (which is line
// pointer order), updating each lp_off and pd_upper, like compactify_tuples.
// Every item must already be validated to lie in [pd_upper, pd_special).
func (p Page) compactify(items []compactItem) {
	sp := p.Special()
	presorted := true
	for i := 1; i < len(items); i++ {
		if items[i].off >= items[i-1].off {
			presorted = false
			break
		}
	}
	if presorted {
		// Offsets descend in line-pointer order, so every item moves up to
		// a place at or above its own, never over an item not yet moved.
		upper := sp
		for _, it := range items {
			upper -= it.alen
			if upper != it.off {
				copy(p[upper:upper+it.alen], p[it.off:it.off+it.alen])
			}
			off := OffsetNumber(it.index + 1)
			p.setItemID(off, p.ItemID(off).WithOff(upper))
		}
		p.SetUpper(upper)
		return
	}
	var scratch [Size]byte
	up := p.Upper()
	copy(scratch[up:sp], p[up:sp])
	upper := sp
	for _, it := range items {
		upper -= it.alen
		copy(p[upper:upper+it.alen], scratch[it.off:it.off+it.alen])
		off := OffsetNumber(it.index + 1)
		p.setItemID(off, p.ItemID(off).WithOff(upper))
	}
	p.SetUpper(upper)
}

// IndexMultiDelete deletes the items at the given offsets, which must be
// sorted ascending, then compacts line pointers and data
// (PageIndexMultiDelete). Two or fewer deletions go through IndexTupleDelete,
// last first, as PostgreSQL does.
func (p Page) IndexMultiDelete(offs []OffsetNumber) error {
	if len(offs) > MaxIndexTuplesPerPage {
		return corrupt("%d deletions exceed MaxIndexTuplesPerPage", len(offs))
	}
	if len(offs) <= 2 {
		for i := len(offs) - 1; i >= 0; i-- {
			if err := p.IndexTupleDelete(offs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := p.CheckHeader(); err != nil {
		return err
	}
	nline := p.MaxOffset()
	var itemBuf [MaxOffsetNumber]compactItem
	var idBuf [MaxOffsetNumber]ItemID
	items := itemBuf[:0]
	newIDs := idBuf[:0]
	total, next := 0, 0
	for off := FirstOffsetNumber; off <= nline; off++ {
		id := p.ItemID(off)
		if err := p.checkItem(id); err != nil {
			return err
		}
		if next < len(offs) && off == offs[next] {
			next++
			continue
		}
		a := MaxAlign(id.Len())
		items = append(items, compactItem{index: len(newIDs), off: id.Off(), alen: a})
		total += a
		newIDs = append(newIDs, id)
	}
	if next != len(offs) {
		return corrupt("incorrect index offsets supplied")
	}
	if total > p.Special()-p.Lower() {
		return corrupt("corrupted item lengths: total %d, available space %d", total, p.Special()-p.Lower())
	}
	for i, id := range newIDs {
		p.setItemID(OffsetNumber(i+1), id)
	}
	p.SetLower(HeaderSize + len(newIDs)*ItemIDSize)
	if len(items) > 0 {
		p.compactify(items)
	} else {
		p.SetUpper(p.Special())
	}
	return nil
}

// RepairFragmentation compacts the tuples of a heap page against the special
// space in line-pointer order, normalizes unused line pointers, trims unused
// line pointers at the end of the array and sets or clears PD_HAS_FREE_LINES
// (PageRepairFragmentation).
func (p Page) RepairFragmentation() error {
	if err := p.CheckHeader(); err != nil {
		return err
	}
	lo, up, sp := p.Lower(), p.Upper(), p.Special()
	nline := p.MaxOffset()
	var itemBuf [MaxOffsetNumber]compactItem
	items := itemBuf[:0]
	total, nunused := 0, 0
	finalUsed := InvalidOffsetNumber
	for i := FirstOffsetNumber; i <= nline; i++ {
		id := p.ItemID(i)
		if !id.IsUsed() {
			p.setItemID(i, Unused())
			nunused++
			continue
		}
		if id.HasStorage() {
			o, a := id.Off(), MaxAlign(id.Len())
			if o < up || o >= sp || o+a > sp {
				return corrupt("corrupted line pointer: %d (offset %d, length %d)", i, o, id.Len())
			}
			items = append(items, compactItem{index: int(i) - 1, off: o, alen: a})
			total += a
		}
		finalUsed = i
	}
	if len(items) == 0 {
		p.SetUpper(sp)
	} else {
		if total > sp-lo {
			return corrupt("corrupted item lengths: total %d, available space %d", total, sp-lo)
		}
		p.compactify(items)
	}
	if finalUsed != nline {
		end := int(nline - finalUsed)
		nunused -= end
		p.SetLower(p.Lower() - ItemIDSize*end)
	}
	if nunused > 0 {
		p.SetFlag(HasFreeLines)
	} else {
		p.ClearFlag(HasFreeLines)
	}
	return nil
}

// TruncateLinePointerArray removes unused line pointers from the end of the
// array (always keeping the first one) and sets PD_HAS_FREE_LINES from whether
// an unused line pointer remains (PageTruncateLinePointerArray).
func (p Page) TruncateLinePointerArray() error {
	if len(p) != Size {
		return corrupt("page has %d bytes, want %d", len(p), Size)
	}
	if lo := p.Lower(); lo > Size {
		return corrupt("pd_lower %d beyond the page", lo)
	}
	countDone, setHint := false, false
	nunusedEnd := 0
	for i := int(p.MaxOffset()); i >= int(FirstOffsetNumber); i-- {
		id := p.ItemID(OffsetNumber(i))
		if !countDone && i > int(FirstOffsetNumber) {
			if !id.IsUsed() {
				nunusedEnd++
			} else {
				countDone = true
			}
		} else if !id.IsUsed() {
			setHint = true
			break
		}
	}
	if nunusedEnd > 0 {
		p.SetLower(p.Lower() - ItemIDSize*nunusedEnd)
	}
	if setHint {
		p.SetFlag(HasFreeLines)
	} else {
		p.ClearFlag(HasFreeLines)
	}
	return nil
}
