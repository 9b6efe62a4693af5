package lsn

import (
	"encoding/json"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want LSN
		text string
	}{
		{"a small LSN prints without padding", "0/16960E8", 0x16960E8, "0/16960E8"},
		{"the high half is the part before the slash", "1/28", 0x1_0000_0028, "1/28"},
		{"lower-case hex is accepted", "a/ff", 0xA_0000_00FF, "A/FF"},
		{"the 16-digit file-name form is accepted", "00000000016960E8", 0x16960E8, "0/16960E8"},
		{"the largest LSN round-trips", "FFFFFFFF/FFFFFFFF", Max, "FFFFFFFF/FFFFFFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %#x, want %#x", tt.in, uint64(got), uint64(tt.want))
			}
			if got.String() != tt.text {
				t.Fatalf("String() = %q, want %q", got.String(), tt.text)
			}
		})
	}
}

func TestParseRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{"", "/", "0/", "/1", "123456789/0", "0/123456789", "x/y", "0/1/2", "16960E8", " 0/1", "0/-1"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
		}
	}
}

func TestAlignRoundsUpToRecordBoundary(t *testing.T) {
	for in, want := range map[LSN]LSN{0: 0, 1: 8, 8: 8, 9: 16, 0x16960E9: 0x16960F0} {
		if got := in.Align(); got != want {
			t.Errorf("%v.Align() = %v, want %v", in, got, want)
		}
		if !want.IsAligned() {
			t.Errorf("%v.IsAligned() = false", want)
		}
	}
}

func TestSegmentArithmetic(t *testing.T) {
	l := MustParse("1/2345678")
	if got := l.SegmentNumber(); got != 0x1_0000_0000/SegmentSize+2 {
		t.Errorf("SegmentNumber = %d", got)
	}
	if got := l.SegmentOffset(); got != 0x345678 {
		t.Errorf("SegmentOffset = %#x", got)
	}
	if got := l.BlockOffset(); got != 0x1678 {
		t.Errorf("BlockOffset = %#x", got)
	}
}

func TestJSONUsesTextForm(t *testing.T) {
	b, err := json.Marshal(struct{ L LSN }{0x16960E8})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"L":"0/16960E8"}` {
		t.Fatalf("json = %s", b)
	}
	var v struct{ L LSN }
	if err := json.Unmarshal([]byte(`{"L":"1/28"}`), &v); err != nil || v.L != 0x1_0000_0028 {
		t.Fatalf("unmarshal = %v, %v", v.L, err)
	}
	if err := json.Unmarshal([]byte(`{"L":"nope"}`), &v); err == nil {
		t.Fatal("unmarshal of a bad LSN succeeded")
	}
}
