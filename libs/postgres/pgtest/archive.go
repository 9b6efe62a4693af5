package pgtest

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FromArchive makes a cluster whose data directory is the tar archive r (a
// base backup, such as one from Strata's basebackup package), configured like
// every pgtest cluster (loopback port, socket in its directory, trust). The
// server is not started and no slot is created; call Start.
func FromArchive(t testing.TB, r io.Reader, opts Options) *Cluster {
	t.Helper()
	bin := opts.BinDir
	if bin == "" {
		bin = BinDir()
	}
	if err := Available(bin); err != nil {
		t.Skipf("skipping: %v", err)
	}
	c := newCluster(t, bin)
	if err := c.restore(r, opts); err != nil {
		t.Fatalf("pgtest: restore archive: %v", err)
	}
	return c
}

func (c *Cluster) restore(r io.Reader, opts Options) error {
	if err := c.prepareDir(); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	if err := extract(r, c.DataDir); err != nil {
		return err
	}
	if err := c.configure(opts); err != nil {
		return err
	}
	if c.cred == nil {
		return nil
	}
	return filepath.Walk(c.DataDir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// extract unpacks a tar archive into dir (created with mode 0700, as
// PostgreSQL requires), refusing entries that would land outside it.
func extract(r io.Reader, dir string) error {
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
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
			if err := f.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q has unsupported type %c", h.Name, h.Typeflag)
		}
	}
}
