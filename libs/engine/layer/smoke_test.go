package layer

import (
	"fmt"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

func TestDeltaLayerSmoke(t *testing.T) {
	fs := vfs.NewCrashFS()
	fs.MkdirAll("/d", 0o755)
	w, err := NewDeltaWriter(fs, "/d", LSNRange{10, 1000})
	if err != nil {
		t.Fatal(err)
	}
	for b := uint32(0); b < 300; b++ {
		for l := lsn.LSN(10); l < 20; l += 3 {
			if err := w.Put(key.Key{Field6: b}, l, value.Record([]byte(fmt.Sprint(b, l)), l == 10)); err != nil {
				t.Fatal(err)
			}
		}
	}
	d, err := w.Finish(key.All)
	if err != nil {
		t.Fatal(err)
	}
	
	r, err := Open(fs, "/d", d.Name)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Versions(key.Key{Field6: 200}, LSNRange{0, 17}, func(at lsn.LSN, v value.Value) bool {
		
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := r.Iterate(func(k key.Key, at lsn.LSN, v value.Value) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	
}
