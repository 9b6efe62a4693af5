package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/postgres/redo"
)

var testKey = key.RelBlock(key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}, 7)

func TestRedoRoundTrips(t *testing.T) {
	base := bytes.Repeat([]byte{0xAB}, PageSize)
	recs := []Record{
		{LSN: 0x100, Kind: RecordStrata, Data: redo.EncodeClogSetAborted(nil, []uint32{5})},
		{LSN: 0x200, Kind: RecordPostgres, Data: []byte("raw wal record")},
		{LSN: 0x300, Kind: RecordStrata, Data: nil},
	}
	for _, tc := range []struct {
		name string
		base []byte
	}{{"a request with a base image", base}, {"a request without a base image", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := AppendRedo([]byte("prefix"), 42, testKey, 0x300, tc.base, recs)
			if err != nil {
				t.Fatal(err)
			}
			if string(msg[:6]) != "prefix" {
				t.Fatal("AppendRedo overwrote dst")
			}
			msg = msg[6:]
			h, err := ParseHeader(msg)
			if err != nil || h.Kind != KindRedo || h.ID != 42 || int(h.Len) != len(msg)-HeaderSize {
				t.Fatalf("header %+v, %v", h, err)
			}
			var r Redo
			if err := ParseRedo(&r, msg[HeaderSize:]); err != nil {
				t.Fatal(err)
			}
			if r.Key != testKey || r.LSN != 0x300 || !bytes.Equal(r.Base, tc.base) || len(r.Records) != 3 {
				t.Fatalf("decoded %+v", r)
			}
			if !bytes.Equal(r.Records[1].Data, redo.EncodePostgres(nil, 0x200, []byte("raw wal record"))) {
				t.Fatalf("postgres record not wrapped: % x", r.Records[1].Data)
			}
			if !bytes.Equal(r.Records[0].Data, recs[0].Data) || len(r.Records[2].Data) != 0 {
				t.Fatal("strata records changed")
			}
			// Every truncation is an error, never a panic.
			for n := range len(msg) - HeaderSize {
				if err := ParseRedo(&r, msg[HeaderSize:HeaderSize+n]); err == nil {
					t.Fatalf("payload cut to %d bytes parsed", n)
				}
			}
		})
	}
}

func TestAppendRedoReusesItsBuffer(t *testing.T) {
	recs := []Record{{LSN: 1, Kind: RecordPostgres, Data: make([]byte, 100)}}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = AppendRedo(buf[:0], 1, testKey, 1, nil, recs)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendRedo into a large enough buffer allocates %v times", allocs)
	}
}

func TestHeaderChecks(t *testing.T) {
	good := make([]byte, HeaderSize)
	PutHeader(good, Header{Kind: KindPage, Len: PageSize, ID: 9})
	for _, tc := range []struct {
		name   string
		mutate func(b []byte)
	}{
		{"a wrong version is a protocol error", func(b []byte) { b[1] = 2 }},
		{"non-zero reserved bytes are a protocol error", func(b []byte) { b[3] = 1 }},
		{"a payload above MaxPayload is a protocol error", func(b []byte) { b[7] = 0xFF }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tc.mutate(b)
			if _, err := ParseHeader(b); !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, err := ParseHeader(good[:5]); !errors.Is(err, ErrProtocol) {
		t.Fatal("short header accepted")
	}
}

func TestHelloAndErrorMessages(t *testing.T) {
	m := AppendHello(nil, 1234)
	h, err := ParseHeader(m)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := ParseHello(h, m[HeaderSize:]); err != nil || pid != 1234 {
		t.Fatalf("hello: %d, %v", pid, err)
	}
	long := string(bytes.Repeat([]byte("é"), MaxErrorText))
	m = AppendError(nil, 5, CodeRedoFailed, long)
	h, _ = ParseHeader(m)
	if h.Kind != KindError || h.ID != 5 || h.Len > 1+MaxErrorText || int(h.Len) != len(m)-HeaderSize {
		t.Fatalf("error header %+v", h)
	}
	if !bytes.HasPrefix([]byte(long), m[HeaderSize+1:]) || len(m[HeaderSize+1:])%2 != 0 {
		t.Fatal("error text not cut on a rune boundary")
	}
}

// FuzzParseRedo: arbitrary payloads are refused or parsed, never a panic,
// and parsed records lie inside the payload.
func FuzzParseRedo(f *testing.F) {
	msg, _ := AppendRedo(nil, 1, testKey, 9, make([]byte, PageSize), []Record{{LSN: 9, Data: []byte{1, 2, 3}}})
	f.Add(msg[HeaderSize:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		var r Redo
		if err := ParseRedo(&r, p); err != nil {
			return
		}
		n := RedoFixedSize + len(r.Base)
		for _, rec := range r.Records {
			n += RecordHeaderSize + len(rec.Data)
		}
		if n != len(p) {
			t.Fatalf("parsed %d bytes of %d", n, len(p))
		}
	})
}

// TestWorkedExample pins the bytes of the example in
// docs/format/walredo-protocol.md.
func TestWorkedExample(t *testing.T) {
	rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}
	raw := make([]byte, 59)
	m, err := AppendRedo(nil, 7, key.RelBlock(rel, 3), 0x2000060, nil, []Record{{LSN: 0x2000040, Kind: RecordPostgres, Data: raw}})
	if err != nil {
		t.Fatal(err)
	}
	want := "52010000" + "70000000" + "0700000000000000" +
		"00" + "0000067f" + "00000005" + "00004000" + "00" + "00000003" +
		"0000" + "01000000" + "6000000200000000" +
		"4000000200000000" + "44000000" + "01" + "4000000200000000"
	if got := hex.EncodeToString(m[:len(want)/2]); got != want {
		t.Fatalf("example bytes\n got %s\nwant %s", got, want)
	}
	if len(m) != HeaderSize+112 {
		t.Fatalf("message of %d bytes, want %d", len(m), HeaderSize+112)
	}
	answer := make([]byte, HeaderSize)
	PutHeader(answer, Header{Kind: KindPage, Len: PageSize, ID: 7})
	if got := hex.EncodeToString(answer); got != "50010000"+"00200000"+"0700000000000000" {
		t.Fatalf("answer header %s", got)
	}
}
