package timeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// TestReadPath runs testdata/readpath*: timelines on an in-memory
// filesystem, the append redoer, and these commands:
//
//	create name=N [initdb=X/Y]        root timeline
//	branch name=N from=P [lsn=X/Y]    child timeline
//	put timeline=N lsn=X/Y            lines "<key> image|record|init <bytes>"; then FinishWrite
//	flush timeline=N                  FreezeAndFlush
//	get timeline=N key=K lsn=X/Y      value, "(redo)" if the redoer ran
//	layers timeline=N                 layer map
//	lsns timeline=N                   last_record, disk_consistent, gc cutoff
//	gc timeline=N lsn=X/Y             set the GC cutoff
//	reopen                            flush, stop, open everything from disk
func TestReadPath(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.Contains(path, "readpath") {
			t.Skip()
		}
		e := newEnv(t, vfs.NewCrashFS(), Options{WaitLSNTimeout: 1})
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			s := func(name string) string {
				var v string
				d.ScanArgs(t, name, &v)
				return v
			}
			l := func(name string) lsn.LSN {
				v, err := lsn.Parse(s(name))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			tl := func() *Timeline { return e.tls[s("timeline")] }
			switch d.Cmd {
			case "create":
				initdb := lsn.Invalid
				if d.HasArg("initdb") {
					initdb = l("initdb")
				}
				e.createRoot(s("name"), initdb)
				return "ok"
			case "branch":
				at := lsn.Invalid
				if d.HasArg("lsn") {
					at = l("lsn")
				}
				c, err := e.branch(s("name"), s("from"), at)
				if err != nil {
					return "error: " + err.Error()
				}
				return fmt.Sprintf("ancestor_lsn=%s prev=%s", c.AncestorLSN(), c.PrevRecordLSN())
			case "put":
				at := l("lsn")
				w := tl().Writer()
				defer w.Close()
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					f := strings.Fields(line)
					kn, _ := strconv.Atoi(f[0])
					var v value.Value
					switch f[1] {
					case "image":
						v = value.Image([]byte(f[2]))
					case "record":
						v = value.Record([]byte(f[2]), false)
					case "init":
						v = value.Record([]byte(f[2]), true)
					}
					if err := w.Put(key.Key{Field6: uint32(kn)}, at, v); err != nil {
						return "error: " + err.Error()
					}
				}
				if err := w.FinishWrite(at); err != nil {
					return "error: " + err.Error()
				}
				return "ok"
			case "flush":
				if err := tl().FreezeAndFlush(e.ctx); err != nil {
					return "error: " + err.Error()
				}
				return fmtLayers(tl())
			case "layers":
				return fmtLayers(tl())
			case "lsns":
				x := tl()
				return fmt.Sprintf("last_record=%s prev=%s disk_consistent=%s gc_cutoff=%s", x.LastRecordLSN(), x.PrevRecordLSN(), x.DiskConsistentLSN(), x.GCCutoffLSN())
			case "gc":
				if err := tl().SetGCCutoff(l("lsn")); err != nil {
					return "error: " + err.Error()
				}
				return "ok"
			case "get":
				var kn int
				d.ScanArgs(t, "key", &kn)
				r := e.deps.Redoer.(*appendRedoer)
				before := r.calls
				v, err := tl().Get(e.ctx, key.Key{Field6: uint32(kn)}, l("lsn"))
				if err != nil {
					return "error: " + classify(err)
				}
				if r.calls != before {
					return string(v) + " (redo)"
				}
				return string(v)
			case "reopen":
				e.stop(true)
				e.reopen(e.fs)
				var b strings.Builder
				for _, n := range e.names() {
					fmt.Fprintf(&b, "%s: last_record=%s disk_consistent=%s\n", n, e.tls[n].LastRecordLSN(), e.tls[n].DiskConsistentLSN())
				}
				return b.String()
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}

// classify names the sentinel an error matches, so golden files do not
// depend on message details.
func classify(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrGCCutoff, "gc cutoff"}, {ErrWaitLSNTimeout, "wait lsn timeout"}, {ErrNotFound, "not found"},
		{ErrCorrupt, "corrupt"}, {ErrBroken, "broken"}, {ErrInvalidLSN, "invalid lsn"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return err.Error()
}
