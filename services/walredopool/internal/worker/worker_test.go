package worker

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/services/walredopool/internal/heaprec"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

var rel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

// answers splits the worker's output into messages.
func answers(tb testing.TB, out []byte) []wire.Header {
	tb.Helper()
	var hs []wire.Header
	for len(out) > 0 {
		h, err := wire.ParseHeader(out)
		if err != nil {
			tb.Fatalf("worker wrote a bad header: %v", err)
		}
		hs = append(hs, h)
		out = out[wire.HeaderSize+int(h.Len):]
	}
	return hs
}

func TestServeAnswersEveryRequestAndEndsAtEOF(t *testing.T) {
	raws, lsns := heaprec.Chain(rel, 0, 3, 0x1000)
	recs := make([]wire.Record, len(raws))
	for i := range raws {
		recs[i] = wire.Record{LSN: lsns[i], Kind: wire.RecordPostgres, Data: raws[i]}
	}
	k := key.RelBlock(rel, 0)
	in, _ := wire.AppendRedo(nil, 1, k, lsns[2], nil, recs)
	// A request the redo refuses (needs a base image it does not have).
	in, _ = wire.AppendRedo(in, 2, k, lsns[2], nil, recs[1:])
	// A framed request with a payload that is not a redo request.
	bad := make([]byte, wire.HeaderSize)
	wire.PutHeader(bad, wire.Header{Kind: wire.KindRedo, Len: 3, ID: 3})
	in = append(append(in, bad...), 1, 2, 3)

	var out bytes.Buffer
	if err := Serve(bytes.NewReader(in), &out, Options{}); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	hs := answers(t, out.Bytes())
	want := []struct {
		kind byte
		id   uint64
	}{{wire.KindHello, 0}, {wire.KindPage, 1}, {wire.KindError, 2}, {wire.KindError, 3}}
	if len(hs) != len(want) {
		t.Fatalf("got %d messages, want %d", len(hs), len(want))
	}
	for i, w := range want {
		if hs[i].Kind != w.kind || hs[i].ID != w.id {
			t.Errorf("message %d: %+v, want kind %c id %d", i, hs[i], w.kind, w.id)
		}
	}
	pageAt := wire.HeaderSize + wire.HelloSize + wire.HeaderSize
	wantPage, err := redo.Apply(k, nil, []redo.Record{
		{LSN: lsns[0], Data: redo.EncodePostgres(nil, lsns[0], raws[0])},
		{LSN: lsns[1], Data: redo.EncodePostgres(nil, lsns[1], raws[1])},
		{LSN: lsns[2], Data: redo.EncodePostgres(nil, lsns[2], raws[2])},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes()[pageAt:pageAt+wire.PageSize], wantPage) {
		t.Fatal("the worker's page differs from redo.Apply")
	}
}

func TestServeStopsOnBrokenFraming(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"garbage instead of a header", bytes.Repeat([]byte{0xEE}, wire.HeaderSize)},
		{"a message kind the worker does not take", func() []byte {
			b := make([]byte, wire.HeaderSize)
			wire.PutHeader(b, wire.Header{Kind: wire.KindPage})
			return b
		}()},
		{"a stream ending inside a header", []byte{'R', 1, 0}},
		{"a stream ending inside a payload", func() []byte {
			b := make([]byte, wire.HeaderSize)
			wire.PutHeader(b, wire.Header{Kind: wire.KindRedo, Len: 100})
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Serve(bytes.NewReader(tt.in), &out, Options{})
			if err == nil {
				t.Fatal("Serve returned nil")
			}
			if !errors.Is(err, wire.ErrProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
		})
	}
}

// FuzzServe feeds arbitrary bytes to the worker: it must return (never hang
// or panic), and everything it wrote must be well-framed messages.
func FuzzServe(f *testing.F) {
	raws, lsns := heaprec.Chain(rel, 0, 2, 0x1000)
	good, _ := wire.AppendRedo(nil, 1, key.RelBlock(rel, 0), lsns[1], nil, []wire.Record{
		{LSN: lsns[0], Kind: wire.RecordPostgres, Data: raws[0]}, {LSN: lsns[1], Kind: wire.RecordPostgres, Data: raws[1]}})
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		_ = Serve(bytes.NewReader(in), &out, Options{})
		answers(t, out.Bytes())
	})
}
