package heaprec

import (
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/redo"
)

func TestChainRebuildsAPageWithTheGoRedo(t *testing.T) {
	rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}
	raws, lsns := Chain(rel, 3, 200, 0x1000000)
	recs := make([]redo.Record, len(raws))
	for i := range raws {
		recs[i] = redo.Record{LSN: lsns[i], Data: redo.EncodePostgres(nil, lsns[i], raws[i])}
	}
	pg, err := redo.Apply(key.RelBlock(rel, 3), nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n := page.Page(pg).MaxOffset(); n != 200 {
		t.Fatalf("page has %d items, want 200", n)
	}
}
