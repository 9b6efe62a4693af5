package wal

import "fmt"

// rmgrNames are PostgreSQL 15's resource manager names (rmgrlist.h).
var rmgrNames = [...]string{
	RmXLOG: "XLOG", RmXact: "Transaction", RmSmgr: "Storage", RmCLOG: "CLOG", RmDbase: "Database",
	RmTblspc: "Tablespace", RmMultiXact: "MultiXact", RmRelMap: "RelMap", RmStandby: "Standby",
	RmHeap2: "Heap2", RmHeap: "Heap", RmBtree: "Btree", RmHash: "Hash", RmGin: "Gin", RmGist: "Gist",
	RmSeq: "Sequence", RmSPGist: "SPGist", RmBRIN: "BRIN", RmCommitTs: "CommitTs",
	RmReplOrigin: "ReplicationOrigin", RmGeneric: "Generic", RmLogicalMsg: "LogicalMessage",
}

// opNames maps rmgr id → (xl_info & 0xF0) → the name pg_waldump prints
// (the rmgr's identify function). Rmgrs whose identify function ignores
// the high bit (Transaction) are handled in TypeName.
var opNames = [...]map[uint8]string{
	RmXLOG: {0x00: "CHECKPOINT_SHUTDOWN", 0x10: "CHECKPOINT_ONLINE", 0x20: "NOOP", 0x30: "NEXTOID",
		0x40: "SWITCH", 0x50: "BACKUP_END", 0x60: "PARAMETER_CHANGE", 0x70: "RESTORE_POINT",
		0x80: "FPW_CHANGE", 0x90: "END_OF_RECOVERY", 0xA0: "FPI_FOR_HINT", 0xB0: "FPI", 0xD0: "OVERWRITE_CONTRECORD"},
	RmXact: {0x00: "COMMIT", 0x10: "PREPARE", 0x20: "ABORT", 0x30: "COMMIT_PREPARED",
		0x40: "ABORT_PREPARED", 0x50: "ASSIGNMENT", 0x60: "INVALIDATION"},
	RmSmgr:      {0x10: "CREATE", 0x20: "TRUNCATE"},
	RmCLOG:      {0x00: "ZEROPAGE", 0x10: "TRUNCATE"},
	RmDbase:     {0x00: "CREATE_FILE_COPY", 0x10: "CREATE_WAL_LOG", 0x20: "DROP"},
	RmTblspc:    {0x00: "CREATE", 0x10: "DROP"},
	RmMultiXact: {0x00: "ZERO_OFF_PAGE", 0x10: "ZERO_MEM_PAGE", 0x20: "CREATE_ID", 0x30: "TRUNCATE_ID"},
	RmRelMap:    {0x00: "UPDATE"},
	RmStandby:   {0x00: "LOCK", 0x10: "RUNNING_XACTS", 0x20: "INVALIDATIONS"},
	RmHeap2: {0x00: "REWRITE", 0x10: "PRUNE", 0x20: "VACUUM", 0x30: "FREEZE_PAGE", 0x40: "VISIBLE",
		0x50: "MULTI_INSERT", 0xD0: "MULTI_INSERT+INIT", 0x60: "LOCK_UPDATED", 0x70: "NEW_CID"},
	RmHeap: {0x00: "INSERT", 0x80: "INSERT+INIT", 0x10: "DELETE", 0x20: "UPDATE", 0xA0: "UPDATE+INIT",
		0x40: "HOT_UPDATE", 0xC0: "HOT_UPDATE+INIT", 0x30: "TRUNCATE", 0x50: "HEAP_CONFIRM", 0x60: "LOCK",
		0x70: "INPLACE"},
	RmBtree: {0x00: "INSERT_LEAF", 0x10: "INSERT_UPPER", 0x20: "INSERT_META", 0x30: "SPLIT_L", 0x40: "SPLIT_R",
		0x50: "INSERT_POST", 0x60: "DEDUP", 0x70: "DELETE", 0x80: "UNLINK_PAGE", 0x90: "UNLINK_PAGE_META",
		0xA0: "NEWROOT", 0xB0: "MARK_PAGE_HALFDEAD", 0xC0: "VACUUM", 0xD0: "REUSE_PAGE", 0xE0: "META_CLEANUP"},
	RmHash: {0x00: "INIT_META_PAGE", 0x10: "INIT_BITMAP_PAGE", 0x20: "INSERT", 0x30: "ADD_OVFL_PAGE",
		0x40: "SPLIT_ALLOCATE_PAGE", 0x50: "SPLIT_PAGE", 0x60: "SPLIT_COMPLETE", 0x70: "MOVE_PAGE_CONTENTS",
		0x80: "SQUEEZE_PAGE", 0x90: "DELETE", 0xA0: "SPLIT_CLEANUP", 0xB0: "UPDATE_META_PAGE", 0xC0: "VACUUM_ONE_PAGE"},
	RmGin: {0x10: "CREATE_PTREE", 0x20: "INSERT", 0x30: "SPLIT", 0x40: "VACUUM_PAGE", 0x90: "VACUUM_DATA_LEAF_PAGE",
		0x50: "DELETE_PAGE", 0x60: "UPDATE_META_PAGE", 0x70: "INSERT_LISTPAGE", 0x80: "DELETE_LISTPAGE"},
	RmGist: {0x00: "PAGE_UPDATE", 0x10: "DELETE", 0x20: "PAGE_REUSE", 0x30: "PAGE_SPLIT", 0x60: "PAGE_DELETE",
		0x70: "ASSIGN_LSN"},
	RmSeq: {0x00: "LOG"},
	RmSPGist: {0x10: "ADD_LEAF", 0x20: "MOVE_LEAFS", 0x30: "ADD_NODE", 0x40: "SPLIT_TUPLE", 0x50: "PICKSPLIT",
		0x60: "VACUUM_LEAF", 0x70: "VACUUM_ROOT", 0x80: "VACUUM_REDIRECT"},
	RmBRIN: {0x00: "CREATE_INDEX", 0x10: "INSERT", 0x90: "INSERT+INIT", 0x20: "UPDATE", 0xA0: "UPDATE+INIT",
		0x30: "SAMEPAGE_UPDATE", 0x40: "REVMAP_EXTEND", 0x50: "DESUMMARIZE"},
	RmCommitTs:   {0x00: "ZEROPAGE", 0x10: "TRUNCATE"},
	RmReplOrigin: {0x00: "SET", 0x10: "DROP"},
	RmGeneric:    nil, // every record is "Generic"
	RmLogicalMsg: {0x00: "MESSAGE"},
}

// RmgrName returns the resource manager name pg_waldump prints ("Heap",
// "Btree", ...), or "custom###" / "UNKNOWN###" for ids PostgreSQL 15 does not
// build in.
func (r *Record) RmgrName() string { return RmgrName(r.RmID) }

// RmgrName returns the name of resource manager id.
func RmgrName(id uint8) string {
	if int(id) < len(rmgrNames) {
		return rmgrNames[id]
	}
	if id >= rmMinCustomID {
		return fmt.Sprintf("custom%03d", id)
	}
	return fmt.Sprintf("UNKNOWN%03d", id)
}

// TypeName returns "Rmgr/TYPE" as pg_waldump --stats=record prints it, for
// example "Heap/INSERT+INIT" or "Btree/SPLIT_L". Unknown opcodes give
// "Rmgr/UNKNOWN (XX)".
func (r *Record) TypeName() string { return TypeName(r.RmID, r.Info) }

// TypeName returns the pg_waldump name of a record with rmgr id and xl_info.
func TypeName(id, info uint8) string {
	return RmgrName(id) + "/" + OpName(id, info)
}

// OpName returns only the record type part of TypeName ("INSERT+INIT").
func OpName(id, info uint8) string {
	op := info & RmgrInfoMask
	switch id {
	case RmXact:
		op &= 0x70 // XLOG_XACT_OPMASK: 0x80 is XLOG_XACT_HAS_INFO
	case RmGeneric:
		return "Generic"
	}
	if int(id) < len(opNames) {
		if name, ok := opNames[id][op]; ok {
			return name
		}
	}
	return fmt.Sprintf("UNKNOWN (%X)", info&RmgrInfoMask)
}
