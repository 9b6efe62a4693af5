package basebackup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

// dirSource is a Source over the files of a cleanly stopped PostgreSQL data
// directory: the contents at its shutdown checkpoint.
type dirSource struct{ dir string }

var relFile = regexp.MustCompile(`^([0-9]+)(_fsm|_vm|_init)?$`)

func (s dirSource) dbDir(spc, db uint32) string {
	if spc == GlobalTablespace {
		return filepath.Join(s.dir, "global")
	}
	return filepath.Join(s.dir, "base", strconv.Itoa(int(db)))
}

func (s dirSource) Databases(context.Context) ([]Database, error) {
	out := []Database{{SpcNode: GlobalTablespace, DbNode: 0, HasRelMap: true}}
	ents, err := os.ReadDir(filepath.Join(s.dir, "base"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		db, err := strconv.ParseUint(e.Name(), 10, 32)
		if err == nil {
			out = append(out, Database{SpcNode: DefaultTablespace, DbNode: uint32(db), HasRelMap: true})
		}
	}
	return out, nil
}

func (s dirSource) Relations(_ context.Context, spc, db uint32) ([]key.RelTag, error) {
	ents, err := os.ReadDir(s.dbDir(spc, db))
	if err != nil {
		return nil, err
	}
	var out []key.RelTag
	for _, e := range ents {
		m := relFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		rel, _ := strconv.ParseUint(m[1], 10, 32)
		fork := map[string]uint8{"": key.ForkMain, "_fsm": key.ForkFSM, "_vm": key.ForkVM, "_init": key.ForkInit}[m[2]]
		out = append(out, key.RelTag{SpcNode: spc, DbNode: db, RelNode: uint32(rel), Fork: fork})
	}
	return out, nil
}

func (s dirSource) relPath(r key.RelTag, seg uint32) string {
	p := filepath.Join(s.dbDir(r.SpcNode, r.DbNode), strconv.Itoa(int(r.RelNode))+forkSuffix(r.Fork))
	if seg > 0 {
		p += fmt.Sprintf(".%d", seg)
	}
	return p
}

func (s dirSource) RelSize(_ context.Context, r key.RelTag) (uint32, error) {
	var n int64
	for seg := uint32(0); ; seg++ {
		st, err := os.Stat(s.relPath(r, seg))
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return uint32(n / blockSize), nil
}

func (s dirSource) Page(_ context.Context, k key.Key) ([]byte, error) {
	var path string
	var blk uint32
	if r, ok := k.RelTag(); ok {
		path, blk = s.relPath(r, k.Field6/relSegBlock), k.Field6%relSegBlock
	} else if kind, seg, b, ok := k.SLRUPage(); ok {
		path, blk = filepath.Join(s.dir, slruDir(kind), fmt.Sprintf("%04X", seg)), b
	} else {
		return nil, fmt.Errorf("no page for key %s", k)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pg := make([]byte, blockSize)
	_, err = f.ReadAt(pg, int64(blk)*blockSize)
	return pg, err
}

func (s dirSource) RelMap(_ context.Context, spc, db uint32) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dbDir(spc, db), "pg_filenode.map"))
}

func slruDir(kind uint32) string {
	return map[uint32]string{key.SLRUClog: "pg_xact", key.SLRUMultiXactOffsets: "pg_multixact/offsets", key.SLRUMultiXactMembers: "pg_multixact/members"}[kind]
}

func (s dirSource) SLRUSegments(_ context.Context, kind uint32) ([]uint32, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, slruDir(kind)))
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, e := range ents {
		if v, err := strconv.ParseUint(e.Name(), 16, 32); err == nil {
			out = append(out, uint32(v))
		}
	}
	return out, nil
}

func (s dirSource) SLRUSegmentSize(_ context.Context, kind, segno uint32) (uint32, error) {
	st, err := os.Stat(filepath.Join(s.dir, slruDir(kind), fmt.Sprintf("%04X", segno)))
	if err != nil {
		return 0, err
	}
	return uint32(st.Size() / blockSize), nil
}

func (s dirSource) TwoPhase(context.Context) ([]uint32, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "pg_twophase"))
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, e := range ents {
		if v, err := strconv.ParseUint(e.Name(), 16, 32); err == nil {
			out = append(out, uint32(v))
		}
	}
	return out, nil
}

func (s dirSource) TwoPhaseFile(_ context.Context, xid uint32) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, "pg_twophase", fmt.Sprintf("%08X", xid)))
}

func (s dirSource) ControlFile(context.Context) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, "global", "pg_control"))
}

func (s dirSource) CheckPoint(ctx context.Context) ([]byte, error) {
	b, err := s.ControlFile(ctx)
	if err != nil {
		return nil, err
	}
	c, err := controlfile.Decode(b)
	if err != nil {
		return nil, err
	}
	return c.CheckPointCopy.Encode(), nil
}
