//go:build !failpoints

package failpoint

import "os"

// Enabled reports whether failpoints are compiled in.
const Enabled = false

// Enable fails: failpoints are not compiled in.
func Enable(name, actions string) error { return ErrNotCompiled }

// Disable does nothing.
func Disable(name string) error { return nil }

// Configure fails unless cs is empty.
func Configure(cs []Config) error {
	if len(cs) == 0 {
		return nil
	}
	return ErrNotCompiled
}

// InitFromEnv returns ErrNotCompiled when $FAILPOINTS is set, nothing otherwise.
func InitFromEnv() ([]Config, error) {
	if os.Getenv(EnvVar) != "" {
		return nil, ErrNotCompiled
	}
	return nil, nil
}

// Eval never fires in builds without the failpoints tag.
func Eval(name string) (any, bool) { return nil, false }
