package tenantmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/postgres/datadir"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/walreceiver"
)

// Timeline is page-service's view of an engine timeline: the engine object
// plus its WAL source and LSN limits.
type Timeline struct {
	t *Tenant
	// TL is the engine timeline.
	TL *timeline.Timeline

	mu     sync.Mutex
	st     timelineState
	recv   *walreceiver.Receiver
	cancel context.CancelFunc
	done   chan struct{}
}

// timelineState is the per-timeline file sources/<timeline id>.json.
type timelineState struct {
	// ConnString of the WAL source; empty: no WAL receiver.
	ConnString string `json:"connstr,omitempty"`
	SlotName   string `json:"slot_name,omitempty"`
	// StartLSN: streaming starts at max(last_record_lsn, StartLSN).
	StartLSN lsn.LSN `json:"start_lsn"`
	// MinReadableLSN: reads, basebackups and branches below it are refused.
	MinReadableLSN lsn.LSN `json:"min_readable_lsn"`
}

func statePath(tenantDir string, tlid id.ID) string {
	return filepath.Join(tenantDir, "sources", tlid.String()+".json")
}

func writeState(fs vfs.FS, tenantDir string, tlid id.ID, st timelineState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := statePath(tenantDir, tlid)
	if err := vfs.MkdirAllDurable(fs, filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("write timeline state: %w", err)
	}
	if err := vfs.WriteFileAtomic(fs, p, b); err != nil {
		return fmt.Errorf("write timeline state: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		return fmt.Errorf("write timeline state: %w", err)
	}
	return nil
}

// readState loads the state file; a missing file means no source, no limit.
func (w *Timeline) readState() error {
	b, err := os.ReadFile(statePath(w.t.dir, w.TL.ID()))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st timelineState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("decode %s: %w", statePath(w.t.dir, w.TL.ID()), err)
	}
	w.setState(st)
	return nil
}

func (w *Timeline) state() timelineState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *Timeline) setState(st timelineState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st = st
}

func (w *Timeline) stopReceiver() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done, w.recv = nil, nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// MinReadableLSN returns the lowest LSN reads may use (Invalid: no limit).
func (w *Timeline) MinReadableLSN() lsn.LSN { return w.state().MinReadableLSN }

// CheckReadable refuses LSNs below the minimum readable LSN or the GC cutoff.
func (w *Timeline) CheckReadable(at lsn.LSN) error {
	if m := w.MinReadableLSN(); at < m {
		return fmt.Errorf("%w: LSN %s is below the timeline's minimum readable LSN %s (the end of its initial base backup; data files are consistent only from there)", ErrInvalid, at, m)
	}
	if c := w.TL.GCCutoffLSN(); at < c {
		return fmt.Errorf("%w: LSN %s is below the GC cutoff %s: %v", ErrInvalid, at, c, timeline.ErrGCCutoff)
	}
	return nil
}

// ReadLSN resolves the LSN a read uses (Neon's rules): request 0 means
// last_record_lsn (waiting for the minimum readable LSN if the timeline has
// not reached it); with a not_modified_since promise nms ≤ request, the read
// waits only for nms and uses min(request, last_record_lsn) ≥ nms; without
// one it waits for request. Below the minimum readable LSN or GC cutoff is
// refused.
func (w *Timeline) ReadLSN(ctx context.Context, request, nms lsn.LSN) (lsn.LSN, error) {
	if nms > request && request != lsn.Invalid {
		return 0, fmt.Errorf("%w: not_modified_since %s is above request_lsn %s", ErrInvalid, nms, request)
	}
	var at lsn.LSN
	switch {
	case request == lsn.Invalid:
		if m := w.MinReadableLSN(); m > w.TL.LastRecordLSN() {
			if err := w.TL.WaitLSN(ctx, m); err != nil {
				return 0, err
			}
		}
		at = w.TL.LastRecordLSN()
	case nms != lsn.Invalid:
		if err := w.CheckReadable(request); err != nil {
			return 0, err
		}
		if nms > w.TL.LastRecordLSN() {
			if err := w.TL.WaitLSN(ctx, nms); err != nil {
				return 0, err
			}
		}
		at = min(request, max(nms, w.TL.LastRecordLSN()))
	default:
		if err := w.TL.WaitLSN(ctx, request); err != nil {
			return 0, err
		}
		at = request
	}
	if err := w.CheckReadable(at); err != nil {
		return 0, err
	}
	return at, nil
}

// PhysicalSize is the total size of the timeline's layer files.
func (w *Timeline) PhysicalSize() uint64 {
	var n uint64
	for _, name := range w.TL.Layers().Layers() {
		if fi, err := os.Stat(filepath.Join(w.TL.Dir(), name.String())); err == nil {
			n += uint64(fi.Size())
		}
	}
	return n
}

// LogicalSize computes the size of all relations at last_record_lsn from
// scratch (slow: it reads every relation size).
func (w *Timeline) LogicalSize(ctx context.Context) (uint64, error) {
	return datadir.At(w.TL, w.TL.LastRecordLSN()).LogicalSize(ctx)
}

// Info describes the timeline for the management API.
func (w *Timeline) Info() *pagev1.TimelineInfo {
	tl := w.TL
	st := w.state()
	s, reason := tl.State()
	str := func(l lsn.LSN) *string { v := l.String(); return &v }
	info := &pagev1.TimelineInfo{
		TenantId:            w.t.id.String(),
		TimelineId:          tl.ID().String(),
		LastRecordLsn:       tl.LastRecordLSN().String(),
		LatestGcCutoffLsn:   tl.GCCutoffLSN().String(),
		DiskConsistentLsn:   tl.DiskConsistentLSN().String(),
		RemoteConsistentLsn: tl.RemoteConsistentLSN().String(),
		InitdbLsn:           str(tl.InitDBLSN()),
		PgVersion:           tl.PGVersion(),
		State:               s.String(),
	}
	phys := w.PhysicalSize()
	info.CurrentPhysicalSize = &phys
	if a := tl.Ancestor(); a != nil {
		aid := a.ID().String()
		info.AncestorTimelineId = &aid
		info.AncestorLsn = str(tl.AncestorLSN())
	}
	if p := tl.PrevRecordLSN(); p != lsn.Invalid {
		info.PrevRecordLsn = str(p)
	}
	if st.MinReadableLSN != lsn.Invalid {
		info.MinReadableLsn = str(st.MinReadableLSN)
	}
	if reason != "" {
		info.BrokenReason = &reason
	}
	if st.ConnString != "" {
		red := logging.RedactString(st.ConnString)
		info.WalSourceConnstr = &red
	}
	w.mu.Lock()
	recv := w.recv
	w.mu.Unlock()
	if recv != nil {
		if l, ts := recv.LastReceived(); l != lsn.Invalid {
			info.LastReceivedMsgLsn = str(l)
			us := uint64(ts.UnixNano() / int64(time.Microsecond))
			info.LastReceivedMsgTs = &us
		}
	}
	return info
}
