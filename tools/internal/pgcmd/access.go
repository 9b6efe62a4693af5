package pgcmd

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkReachable reports a clear error when this process is root and the
// parents of dir are not searchable by others: PostgreSQL then runs as the
// postgres OS user, who must reach its directory (a directory under /root
// is the usual case).
func checkReachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s: as root, PostgreSQL runs as the postgres user, who cannot enter %s (mode %v); choose a directory such as /tmp/pg", dir, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
