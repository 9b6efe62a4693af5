package pool

import (
	"os"
	"path/filepath"
	"testing"
)

func TestABinaryInAPrivateDirectoryIsCopiedWhereOthersCanRunIt(t *testing.T) {
	private := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(private, "walredo-pool")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if othersCanExec(bin) {
		t.Fatal("a binary under a 0700 directory counts as executable by others")
	}
	dir, cp, err := copyForOthers(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if !othersCanExec(cp) {
		t.Fatalf("the copy %s is not executable by others", cp)
	}
	if b, _ := os.ReadFile(cp); string(b) != "#!/bin/true\n" {
		t.Fatalf("copy holds %q", b)
	}
	if st, _ := os.Stat(cp); st.Mode().Perm()&0o022 != 0 {
		t.Fatalf("copy mode %v lets others change it", st.Mode())
	}
}
