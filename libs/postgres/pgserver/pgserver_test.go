package pgserver

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

func TestQuoteSettingQuotesOnlyWhenNeeded(t *testing.T) {
	for in, want := range map[string]string{"all": "all", "16MB": "16MB", "heap,btree": "'heap,btree'", "'x'": "'x'", "a b": "'a b'"} {
		if got := quoteSetting(in); got != want {
			t.Errorf("quoteSetting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtractRefusesEntriesOutsideTheDataDirectory(t *testing.T) {
	for _, name := range []string{"../evil", "/etc/passwd", "a/../../b"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 1, Mode: 0o600})
		tw.Write([]byte("x"))
		tw.Close()
		if err := Extract(&buf, t.TempDir()); err == nil || !strings.Contains(err.Error(), "leaves the data directory") {
			t.Errorf("Extract(%q) = %v", name, err)
		}
	}
}

func TestExtractRefusesATruncatedArchive(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "PG_VERSION", Typeflag: tar.TypeReg, Size: 100, Mode: 0o600})
	tw.Write([]byte("15\n"))
	if err := Extract(bytes.NewReader(buf.Bytes()), t.TempDir()); err == nil {
		t.Fatal("a truncated archive extracted without error")
	}
}
