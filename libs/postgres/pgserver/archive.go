package pgserver

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Restore makes a server in dir whose data directory is the tar archive r
// (a base backup, such as Strata's), configured like Init's. The server is
// not started.
func Restore(dir string, r io.Reader, opts Options) (*Server, error) {
	s, err := newServer(dir, opts)
	if err != nil {
		return nil, err
	}
	if err := Extract(r, s.DataDir); err != nil {
		return nil, err
	}
	return s, s.configure(opts)
}

// Extract unpacks a tar archive into dir (created with mode 0700, as
// PostgreSQL requires), refusing entries that would land outside it and
// archives that end early.
func Extract(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("archive entry %q leaves the data directory", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr); err != nil {
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
		default:
			return fmt.Errorf("archive entry %q has unsupported type %c", h.Name, h.Typeflag)
		}
	}
}

func writeFile(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
