package pool

import (
	"io"
	"os"
	"path/filepath"
)

// othersCanExec reports whether a user other than the file's owner and group
// can execute path: every directory above it is searchable by others and the
// file is executable by others.
func othersCanExec(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	st, err := os.Stat(abs)
	if err != nil || st.Mode().Perm()&0o001 == 0 {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// copyForOthers copies the executable at path into a new directory under the
// system temp directory that everyone may search, as a file everyone may
// execute (but only root may change). It returns the directory and the copy.
func copyForOthers(path string) (dir, copyPath string, err error) {
	dir, err = os.MkdirTemp("", "strata-walredo-bin-")
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err = os.Chmod(dir, 0o711); err != nil {
		return "", "", err
	}
	src, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer src.Close()
	copyPath = filepath.Join(dir, filepath.Base(path))
	dst, err := os.OpenFile(copyPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", "", err
	}
	if _, err = io.Copy(dst, src); err != nil {
		dst.Close()
		return "", "", err
	}
	if err = dst.Close(); err != nil {
		return "", "", err
	}
	return dir, copyPath, nil
}
