// Package slru updates PostgreSQL 15 SLRU pages in place: the commit log
// (pg_xact) and the multixact offsets and members (pg_multixact). These pages
// carry no page header and no LSN; PostgreSQL changes them through its own
// SLRU buffers, and a pageserver replays the changes with records it builds
// itself at ingest (see the redo package).
//
// Addressing: an SLRU page number p lives in segment p / PagesPerSegment at
// block p % PagesPerSegment, matching the SLRU keys of libs/engine/key.
//
// CLOG page: 2 status bits per xid, 4 xids per byte, low bits first:
//
//	xid -> page  xid / 32768, byte (xid % 32768) / 4, shift 2 * (xid % 4)
//
// MultiXact offsets page: one uint32 LE per multixact id:
//
//	mid -> page  mid / 2048, byte 4 * (mid % 2048)
//
// MultiXact members page: 409 groups of 20 bytes (4 flag bytes, one per
// member, then 4 uint32 xids); 1636 members per page, 12 bytes unused:
//
//	off -> page off / 1636; group (off / 4) % 409 at byte 20*group;
//	       flag byte 20*group + off % 4; xid at 20*group + 4 + 4*(off % 4)
//
// All functions check that the item belongs to the page and that the page is
// PageSize bytes, and return an error otherwise; none panics.
package slru

import (
	"encoding/binary"
	"fmt"
)

// PageSize is the size of an SLRU page (BLCKSZ).
const PageSize = 8192

// PagesPerSegment is SLRU_PAGES_PER_SEGMENT.
const PagesPerSegment = 32

// CLOG transaction states (TRANSACTION_STATUS_*).
const (
	StatusInProgress   = 0
	StatusCommitted    = 1
	StatusAborted      = 2
	StatusSubCommitted = 3
)

// Layout constants.
const (
	ClogXactsPerPage         = PageSize * 4
	MultiXactOffsetsPerPage  = PageSize / 4
	memberGroupSize          = 20
	membersPerGroup          = 4
	MultiXactGroupsPerPage   = PageSize / memberGroupSize
	MultiXactMembersPerPage  = MultiXactGroupsPerPage * membersPerGroup
	maxMultiXactMemberStatus = 5
)

// SegmentBlock splits an SLRU page number into segment and block.
func SegmentBlock(pageno uint32) (segno, blk uint32) {
	return pageno / PagesPerSegment, pageno % PagesPerSegment
}

// PageNo joins a segment and block into an SLRU page number.
func PageNo(segno, blk uint32) uint32 { return segno*PagesPerSegment + blk }

// ClogPage returns the CLOG page number holding xid's status.
func ClogPage(xid uint32) uint32 { return xid / ClogXactsPerPage }

// MultiXactOffsetPage returns the offsets page number holding mid's offset.
func MultiXactOffsetPage(mid uint32) uint32 { return mid / MultiXactOffsetsPerPage }

// MultiXactMemberPage returns the members page number holding member offset off.
func MultiXactMemberPage(off uint32) uint32 { return off / MultiXactMembersPerPage }

func checkPage(pg []byte) error {
	if len(pg) < PageSize {
		return fmt.Errorf("slru page has %d bytes, want %d", len(pg), PageSize)
	}
	return nil
}

// ClogSetStatus sets xid's 2-bit status on CLOG page pageno.
func ClogSetStatus(pg []byte, pageno, xid uint32, status uint8) error {
	if err := checkPage(pg); err != nil {
		return err
	}
	if ClogPage(xid) != pageno {
		return fmt.Errorf("clog: xid %d is on page %d, not %d", xid, ClogPage(xid), pageno)
	}
	if status > 3 {
		return fmt.Errorf("clog: invalid status %d for xid %d", status, xid)
	}
	idx := xid % ClogXactsPerPage
	b, shift := idx/4, (xid%4)*2
	pg[b] = pg[b]&^(3<<shift) | status<<shift
	return nil
}

// ClogStatus reads xid's status from CLOG page pageno.
func ClogStatus(pg []byte, pageno, xid uint32) (uint8, error) {
	if err := checkPage(pg); err != nil {
		return 0, err
	}
	if ClogPage(xid) != pageno {
		return 0, fmt.Errorf("clog: xid %d is on page %d, not %d", xid, ClogPage(xid), pageno)
	}
	idx := xid % ClogXactsPerPage
	return pg[idx/4] >> ((xid % 4) * 2) & 3, nil
}

// MultiXactSetOffset writes the starting member offset of multixact mid on
// offsets page pageno.
func MultiXactSetOffset(pg []byte, pageno, mid, moff uint32) error {
	if err := checkPage(pg); err != nil {
		return err
	}
	if MultiXactOffsetPage(mid) != pageno {
		return fmt.Errorf("multixact: id %d is on offsets page %d, not %d", mid, MultiXactOffsetPage(mid), pageno)
	}
	binary.LittleEndian.PutUint32(pg[4*(mid%MultiXactOffsetsPerPage):], moff)
	return nil
}

// MultiXactOffset reads the offset of multixact mid from offsets page pageno.
func MultiXactOffset(pg []byte, pageno, mid uint32) (uint32, error) {
	if err := checkPage(pg); err != nil {
		return 0, err
	}
	if MultiXactOffsetPage(mid) != pageno {
		return 0, fmt.Errorf("multixact: id %d is on offsets page %d, not %d", mid, MultiXactOffsetPage(mid), pageno)
	}
	return binary.LittleEndian.Uint32(pg[4*(mid%MultiXactOffsetsPerPage):]), nil
}

func memberPos(off uint32) (flagPos, xidPos int) {
	group := int((off / membersPerGroup) % MultiXactGroupsPerPage)
	i := int(off % membersPerGroup)
	return group*memberGroupSize + i, group*memberGroupSize + membersPerGroup + 4*i
}

// MultiXactSetMember writes member xid with its status (MultiXactStatus,
// 0..5) at member offset off on members page pageno, like RecordNewMultiXact.
func MultiXactSetMember(pg []byte, pageno, off, xid uint32, status uint32) error {
	if err := checkPage(pg); err != nil {
		return err
	}
	if MultiXactMemberPage(off) != pageno {
		return fmt.Errorf("multixact: member offset %d is on members page %d, not %d", off, MultiXactMemberPage(off), pageno)
	}
	if status > maxMultiXactMemberStatus {
		return fmt.Errorf("multixact: invalid member status %d", status)
	}
	flagPos, xidPos := memberPos(off)
	pg[flagPos] = byte(status)
	binary.LittleEndian.PutUint32(pg[xidPos:], xid)
	return nil
}

// MultiXactMember reads the member at offset off from members page pageno.
func MultiXactMember(pg []byte, pageno, off uint32) (xid uint32, status uint32, err error) {
	if err := checkPage(pg); err != nil {
		return 0, 0, err
	}
	if MultiXactMemberPage(off) != pageno {
		return 0, 0, fmt.Errorf("multixact: member offset %d is on members page %d, not %d", off, MultiXactMemberPage(off), pageno)
	}
	flagPos, xidPos := memberPos(off)
	return binary.LittleEndian.Uint32(pg[xidPos:]), uint32(pg[flagPos]), nil
}
