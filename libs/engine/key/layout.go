package key

import "fmt"

// Fork numbers of a PostgreSQL relation (field5 of a relation key).
const (
	ForkMain uint8 = 0
	ForkFSM  uint8 = 1
	ForkVM   uint8 = 2
	ForkInit uint8 = 3
)

// SLRU kinds (field2 of an SLRU key).
const (
	SLRUClog             uint32 = 0
	SLRUMultiXactMembers uint32 = 1
	SLRUMultiXactOffsets uint32 = 2
)

// RelTag names one fork of one relation: PostgreSQL's RelFileNode plus fork.
type RelTag struct {
	SpcNode uint32 // tablespace OID
	DbNode  uint32 // database OID; 0 for shared relations
	RelNode uint32 // relfilenode
	Fork    uint8
}

// String formats the tag like PostgreSQL's relpath: "spc/db/rel" plus a fork suffix.
func (r RelTag) String() string {
	s := fmt.Sprintf("%d/%d/%d", r.SpcNode, r.DbNode, r.RelNode)
	switch r.Fork {
	case ForkMain:
		return s
	case ForkFSM:
		return s + "_fsm"
	case ForkVM:
		return s + "_vm"
	case ForkInit:
		return s + "_init"
	}
	return fmt.Sprintf("%s_fork%d", s, r.Fork)
}

// DbDir is the key of the database directory.
func DbDir() Key { return Key{} }

// RelMap is the key of the pg_filenode.map of a database (db 0: the global map).
func RelMap(spc, db uint32) Key { return Key{Field2: spc, Field3: db} }

// RelDir is the key of the relation directory of a database.
func RelDir(spc, db uint32) Key { return Key{Field2: spc, Field3: db, Field6: 1} }

// RelBlock is the key of one block of a relation fork.
func RelBlock(r RelTag, blk uint32) Key {
	return Key{Field2: r.SpcNode, Field3: r.DbNode, Field4: r.RelNode, Field5: r.Fork, Field6: blk}
}

// RelSize is the key of the size entry of a relation fork.
func RelSize(r RelTag) Key { return RelBlock(r, SizeBlock) }

// RelForkRange covers every block and the size entry of a relation fork.
func RelForkRange(r RelTag) Range {
	start := RelBlock(r, 0)
	return Range{Start: start, End: RelSize(r).Next()}
}

// DatabaseRange covers every relation key (blocks, sizes, relmap, rel dir) of a database.
func DatabaseRange(spc, db uint32) Range {
	return Range{
		Start: Key{Field2: spc, Field3: db},
		End:   Key{Field2: spc, Field3: db, Field4: 0xFFFFFFFF, Field5: 0xFF, Field6: 0xFFFFFFFF}.Next(),
	}
}

// SLRUDir is the key of the segment directory of an SLRU.
func SLRUDir(kind uint32) Key { return Key{Field1: SectionSLRU, Field2: kind} }

// SLRUBlock is the key of one page of an SLRU segment.
func SLRUBlock(kind, segno, blk uint32) Key {
	return Key{Field1: SectionSLRU, Field2: kind, Field3: 1, Field4: segno, Field6: blk}
}

// SLRUSegSize is the key of the size entry of an SLRU segment.
func SLRUSegSize(kind, segno uint32) Key { return SLRUBlock(kind, segno, SizeBlock) }

// SLRUSegmentRange covers every page and the size entry of an SLRU segment.
// (Neon's original put the segment number in the wrong field here; this does not.)
func SLRUSegmentRange(kind, segno uint32) Range {
	return Range{Start: SLRUBlock(kind, segno, 0), End: SLRUSegSize(kind, segno).Next()}
}

// TwoPhaseDir is the key of the set of prepared transactions.
func TwoPhaseDir() Key { return Key{Field1: SectionTwoPhase} }

// TwoPhaseFile is the key of the two-phase state file of a prepared transaction.
func TwoPhaseFile(xid uint32) Key { return Key{Field1: SectionTwoPhase, Field6: xid} }

// ControlFile is the key of the pg_control bytes.
func ControlFile() Key { return Key{Field1: SectionControl} }

// Checkpoint is the key of the tracked CheckPoint struct.
func Checkpoint() Key { return Key{Field1: SectionControl, Field6: 1} }

// IsRelBlock reports whether k is a block (not size) key of a relation fork.
func (k Key) IsRelBlock() bool {
	return k.Field1 == SectionRel && k.Field4 != 0 && k.Field6 != SizeBlock
}

// IsRelSize reports whether k is the size entry of a relation fork.
func (k Key) IsRelSize() bool {
	return k.Field1 == SectionRel && k.Field4 != 0 && k.Field6 == SizeBlock
}

// IsSLRUBlock reports whether k is a page (not size) key of an SLRU segment.
func (k Key) IsSLRUBlock() bool {
	return k.Field1 == SectionSLRU && k.Field3 == 1 && k.Field6 != SizeBlock
}

// RelTag returns the relation fork of a relation block or size key.
func (k Key) RelTag() (RelTag, bool) {
	if k.Field1 != SectionRel || k.Field4 == 0 {
		return RelTag{}, false
	}
	return RelTag{SpcNode: k.Field2, DbNode: k.Field3, RelNode: k.Field4, Fork: k.Field5}, true
}

// SLRUPage returns the SLRU kind, segment and page of an SLRU block key.
func (k Key) SLRUPage() (kind, segno, blk uint32, ok bool) {
	if !k.IsSLRUBlock() {
		return 0, 0, 0, false
	}
	return k.Field2, k.Field4, k.Field6, true
}
