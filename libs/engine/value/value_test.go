package value

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodingRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		enc  []byte
	}{
		{"an image encodes with tag 1", Image([]byte("page")), []byte("\x01page")},
		{"a record without will_init encodes with tag 2", Record([]byte("r"), false), []byte("\x02r")},
		{"a will_init record encodes with tag 3", Record([]byte("abc"), true), []byte("\x03abc")},
		{"an empty image is one byte", Image(nil), []byte{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tt.v.AppendBinary(nil)
			if !bytes.Equal(enc, tt.enc) {
				t.Fatalf("encoding = %x, want %x", enc, tt.enc)
			}
			if tt.v.EncodedLen() != len(enc) {
				t.Fatalf("EncodedLen = %d, want %d", tt.v.EncodedLen(), len(enc))
			}
			got, err := Decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.v.Kind || got.WillInit != tt.v.WillInit || !bytes.Equal(got.Data, tt.v.Data) {
				t.Fatalf("Decode = %v, want %v", got, tt.v)
			}
		})
	}
}

func TestPredicates(t *testing.T) {
	if !Image(nil).IsImage() || Image(nil).NeedsBase() || !Image(nil).WillInit {
		t.Fatal("an image is will_init and needs no base")
	}
	if !Record(nil, false).NeedsBase() || Record(nil, true).NeedsBase() || Record(nil, true).IsImage() {
		t.Fatal("only records without will_init need a base")
	}
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {0}, {4, 1}, {0xFF}} {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%x) error = %v, want ErrMalformed", b, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		if enc := v.AppendBinary(nil); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding %x gave %x", b, enc)
		}
	})
}
