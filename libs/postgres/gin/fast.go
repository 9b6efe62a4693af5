package gin

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// The fast-update pending list (ginfast.c) and the metapage.
//
// ginxlogUpdateMeta (main data of UPDATE_META_PAGE, 88 bytes):
//
//	0 RelFileNode  16 GinMetaPageData (56)  72 prevTail  76 newRightlink
//	80 ntuples (int32)
//
// ginxlogDeleteListPages (DELETE_LISTPAGE, 64 bytes): 0 GinMetaPageData,
// 56 ndeleted. ginxlogInsertListPage (INSERT_LISTPAGE, 8 bytes): 0
// rightlink, 4 ntuples.

// initMetaPage is GinInitMetabuffer followed by copying meta (the record's
// GinMetaPageData, padding bytes included) over the fresh metadata.
func initMetaPage(p page.Page, meta []byte) error {
	if err := InitPage(p, FlagMeta); err != nil {
		return err
	}
	copy(p[page.HeaderSize:page.HeaderSize+metaSize], meta)
	p.SetLower(page.HeaderSize + metaSize)
	return nil
}

// addTuples appends n index tuples packed back to back in data to p from
// offset off on (PageAddItem at consecutive offsets).
func addTuples(p page.Page, data []byte, n int, off page.OffsetNumber) error {
	for i := 0; i < n; i++ {
		if len(data) < 8 {
			return fmt.Errorf("tuple %d of %d: %d bytes left", i, n, len(data))
		}
		size := int(binary.LittleEndian.Uint16(data[6:]) & 0x1FFF)
		if size < 8 || size > len(data) {
			return fmt.Errorf("tuple %d of %d: size %d with %d bytes left", i, n, size, len(data))
		}
		if _, err := p.AddItem(data[:size], off, 0); err != nil {
			return fmt.Errorf("add tuple %d at %d: %w", i, off, err)
		}
		data = data[size:]
		off++
	}
	return nil
}

func redoUpdateMetaPage(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < 84 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	ntuples := int32(binary.LittleEndian.Uint32(md[80:]))
	switch blk.ID {
	case 0:
		return initMetaPage(p, md[16:16+metaSize])
	case 1:
		if ntuples > 0 {
			off := page.FirstOffsetNumber
			if !p.IsEmpty() {
				off = p.MaxOffset() + 1
			}
			if err := addTuples(p, blk.Data, int(ntuples), off); err != nil {
				return err
			}
			o, err := opaque(p)
			if err != nil {
				return err
			}
			binary.LittleEndian.PutUint16(o[4:], binary.LittleEndian.Uint16(o[4:])+1)
			return nil
		}
		if binary.LittleEndian.Uint32(md[72:]) == invalidBlock {
			return fmt.Errorf("tail block reference without tuples or a previous tail")
		}
		return setRightlink(p, binary.LittleEndian.Uint32(md[76:]))
	}
	return fmt.Errorf("unexpected block reference")
}

func redoInsertListPage(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return fmt.Errorf("unexpected block reference")
	}
	md := rec.MainData
	if len(md) < 8 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	right := binary.LittleEndian.Uint32(md)
	ntuples := int32(binary.LittleEndian.Uint32(md[4:]))
	if err := InitPage(p, FlagList); err != nil {
		return err
	}
	o := p[page.Size-specialSize:]
	binary.LittleEndian.PutUint32(o, right)
	if right == invalidBlock {
		setFlags(o, flags(o)|FlagListFullRow)
		binary.LittleEndian.PutUint16(o[4:], 1)
	}
	if ntuples < 0 {
		return fmt.Errorf("negative tuple count %d", ntuples)
	}
	return addTuples(p, blk.Data, int(ntuples), page.FirstOffsetNumber)
}

func redoDeleteListPage(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < metaSize+4 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	if blk.ID == 0 {
		return initMetaPage(p, md[:metaSize])
	}
	ndeleted := int32(binary.LittleEndian.Uint32(md[metaSize:]))
	if int32(blk.ID) > ndeleted {
		return fmt.Errorf("block %d beyond the %d deleted pages", blk.ID, ndeleted)
	}
	return InitPage(p, FlagDeleted)
}
