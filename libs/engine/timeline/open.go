package timeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/layermap"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// UninitSuffix ends the name of a timeline's uninit mark, a sibling of its
// directory that exists while the timeline is being created.
const UninitSuffix = ".___uninit"

// ReadMetadata reads the metadata file of the timeline directory dir.
func ReadMetadata(fsys vfs.FS, dir string) (metadata.Metadata, error) {
	b, err := vfs.ReadFile(fsys, path.Join(dir, metadata.FileName))
	if err != nil {
		return metadata.Metadata{}, fmt.Errorf("read metadata of %s: %w", dir, err)
	}
	m, err := metadata.Decode(b)
	if err != nil {
		return metadata.Metadata{}, fmt.Errorf("read metadata of %s: %w", dir, err)
	}
	return m, nil
}

// Open loads the timeline in timelinesDir/<tid> (recovery): it reads the
// metadata, removes temp files, sets aside layers "from the future" (above
// disk_consistent_lsn, written after the last metadata update before a crash)
// by renaming them to <name>.<N>.old, and loads the rest into the layer map.
// Ingest resumes at disk_consistent_lsn. ancestor must be the opened parent
// timeline named in the metadata (nil for a root timeline). The timeline
// starts in state Loading with its flush loop not started.
func Open(fsys vfs.FS, timelinesDir string, tid id.ID, ancestor *Timeline, opts Options, deps Deps) (*Timeline, error) {
	dir := path.Join(timelinesDir, tid.String())
	m, err := ReadMetadata(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("open timeline %s: %w", tid, err)
	}
	t, err := newTimeline(fsys, dir, tid, m, ancestor, opts, deps)
	if err != nil {
		return nil, err
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil, fmt.Errorf("open timeline %s: list: %w", tid, err)
	}
	info := RecoveryInfo{Tenant: t.deps.Tenant, Timeline: tid, DiskConsistentLSN: m.DiskConsistentLSN}
	existing := make(map[string]bool, len(names))
	for _, n := range names {
		existing[n] = true
	}
	var edit layermap.Edit
	changed := false
	for _, n := range names {
		switch {
		case n == metadata.FileName, strings.HasSuffix(n, ".old"):
			continue
		case layer.IsTempName(n):
			if err := fsys.Remove(path.Join(dir, n)); err != nil {
				return nil, fmt.Errorf("open timeline %s: remove temp file %s: %w", tid, n, err)
			}
			info.TempRemoved = append(info.TempRemoved, n)
			changed = true
			continue
		}
		ln, err := layer.ParseName(n)
		if err != nil {
			continue // not ours; leave it alone
		}
		if isFuture(ln, m.DiskConsistentLSN) {
			old := setAsideName(n, existing)
			if err := fsys.Rename(path.Join(dir, n), path.Join(dir, old)); err != nil {
				return nil, fmt.Errorf("open timeline %s: set aside %s: %w", tid, n, err)
			}
			existing[old] = true
			info.SetAside = append(info.SetAside, old)
			changed = true
			continue
		}
		edit.Add = append(edit.Add, ln)
	}
	if changed {
		if err := fsys.SyncDir(dir); err != nil {
			return nil, fmt.Errorf("open timeline %s: sync dir: %w", tid, err)
		}
	}
	if _, err := t.layers.Apply(edit); err != nil {
		return nil, fmt.Errorf("open timeline %s: %w", tid, err)
	}
	info.Loaded = len(edit.Add)
	t.deps.Events.Recovered(info)
	return t, nil
}

// isFuture reports whether a layer holds data above disk_consistent_lsn.
func isFuture(n layer.Name, disk lsn.LSN) bool {
	return n.LSNs.End > disk+1
}

func setAsideName(n string, existing map[string]bool) string {
	for i := 0; ; i++ {
		c := fmt.Sprintf("%s.%d.old", n, i)
		if !existing[c] {
			return c
		}
	}
}

// Create creates a new timeline directory crash-safely: the uninit mark
// timelinesDir/<tid>.___uninit is made durable before the directory, then the
// metadata is written. The mark stays until MarkInitialized, so a crash
// before then leaves a timeline that CleanupUninit removes at startup. The
// timeline starts in state Loading.
func Create(fsys vfs.FS, timelinesDir string, tid id.ID, m metadata.Metadata, ancestor *Timeline, opts Options, deps Deps) (*Timeline, error) {
	dir := path.Join(timelinesDir, tid.String())
	if _, err := fsys.Stat(dir); err == nil {
		return nil, fmt.Errorf("create timeline %s: %w", tid, fs.ErrExist)
	}
	mark := dir + UninitSuffix
	f, err := fsys.Create(mark)
	if err != nil {
		return nil, fmt.Errorf("create timeline %s: uninit mark: %w", tid, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.SyncDir(timelinesDir)
	}
	if err == nil {
		err = vfs.MkdirAllDurable(fsys, dir, 0o755)
	}
	if err == nil {
		err = vfs.WriteFileAtomic(fsys, path.Join(dir, metadata.FileName), m.Encode())
	}
	var t *Timeline
	if err == nil {
		t, err = newTimeline(fsys, dir, tid, m, ancestor, opts, deps)
	}
	if err != nil {
		_ = fsys.RemoveAll(dir)
		_ = fsys.Remove(mark)
		return nil, fmt.Errorf("create timeline %s: %w", tid, err)
	}
	return t, nil
}

// MarkInitialized removes the uninit mark of a timeline made by Create.
func (t *Timeline) MarkInitialized() error {
	parent := path.Dir(t.dir)
	if err := t.fs.Remove(t.dir + UninitSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("timeline %s: remove uninit mark: %w", t.id, err)
	}
	if err := t.fs.SyncDir(parent); err != nil {
		return fmt.Errorf("timeline %s: remove uninit mark: sync dir: %w", t.id, err)
	}
	return nil
}

// CleanupUninit removes half-created timelines (those with an uninit mark)
// and temp files from a timelines directory, and returns the ids of the
// remaining timeline directories.
func CleanupUninit(fsys vfs.FS, timelinesDir string) ([]id.ID, error) {
	names, err := fsys.List(timelinesDir)
	if err != nil {
		return nil, fmt.Errorf("list timelines in %s: %w", timelinesDir, err)
	}
	marks := map[string]bool{}
	changed := false
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, UninitSuffix); ok {
			marks[base] = true
			if err := fsys.RemoveAll(path.Join(timelinesDir, base)); err != nil {
				return nil, fmt.Errorf("remove half-created timeline %s: %w", base, err)
			}
			changed = true
		}
	}
	if changed {
		if err := fsys.SyncDir(timelinesDir); err != nil {
			return nil, fmt.Errorf("clean up timelines in %s: %w", timelinesDir, err)
		}
	}
	var ids []id.ID
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, UninitSuffix):
			if err := fsys.Remove(path.Join(timelinesDir, n)); err != nil {
				return nil, fmt.Errorf("remove uninit mark %s: %w", n, err)
			}
		case vfs.IsTemp(n):
			if err := fsys.RemoveAll(path.Join(timelinesDir, n)); err != nil {
				return nil, fmt.Errorf("remove temp %s: %w", n, err)
			}
		case marks[n]:
		default:
			if tid, err := id.Parse(n); err == nil {
				ids = append(ids, tid)
			}
		}
	}
	if changed || len(names) != len(ids) {
		if err := fsys.SyncDir(timelinesDir); err != nil {
			return nil, fmt.Errorf("clean up timelines in %s: %w", timelinesDir, err)
		}
	}
	return ids, nil
}

// BranchMetadata validates a branch of t at at and returns the child's
// metadata. at Invalid means t's last_record_lsn; otherwise it is aligned up
// to 8 bytes. It must not be below t's GC cutoff or its own ancestor_lsn, nor
// above t's last_record_lsn. prev_record_lsn is carried over only when
// branching exactly at the tip.
func (t *Timeline) BranchMetadata(at lsn.LSN) (metadata.Metadata, error) {
	if err := t.checkReadable(); err != nil {
		return metadata.Metadata{}, err
	}
	t.lsnMu.Lock()
	last, prev := t.lastRecord, t.prevRecord
	t.lsnMu.Unlock()
	if !at.IsValid() {
		at = last
	}
	at = at.Align()
	switch cut := t.GCCutoffLSN(); {
	case at < cut:
		return metadata.Metadata{}, fmt.Errorf("branch %s at %s: %w %s", t.id, at, ErrGCCutoff, cut)
	case at > last:
		return metadata.Metadata{}, fmt.Errorf("branch %s at %s: %w: above last_record_lsn %s", t.id, at, ErrInvalidLSN, last)
	case at < t.ancestorLSN:
		return metadata.Metadata{}, fmt.Errorf("branch %s at %s: %w: below its own ancestor_lsn %s", t.id, at, ErrInvalidLSN, t.ancestorLSN)
	}
	m := metadata.Metadata{
		DiskConsistentLSN: at,
		Ancestor:          t.id,
		AncestorLSN:       at,
		LatestGCCutoffLSN: t.GCCutoffLSN(),
		InitDBLSN:         t.initdbLSN,
		PGVersion:         t.pgVersion,
	}
	if at == last {
		m.PrevRecordLSN = prev
	}
	return m, nil
}
