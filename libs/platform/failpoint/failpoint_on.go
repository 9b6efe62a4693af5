//go:build failpoints

package failpoint

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	pfp "github.com/pingcap/failpoint"
)

// Enabled reports whether failpoints are compiled in.
const Enabled = true

// exitMarker is the return value standing for the `exit` task.
const exitMarker = "__strata_failpoint_exit__"

// exitFunc is os.Exit, replaceable in tests.
var exitFunc = os.Exit

// exitTask matches an `exit` task, possibly with p% and N* modifiers, in an
// action chain element.
var exitTask = regexp.MustCompile(`^((?:[0-9.]+%)?(?:[0-9]+\*)?)exit(\(\))?$`)

var mu sync.Mutex // serialises reconfiguration

// translate rewrites Strata-only tasks into pingcap terms.
func translate(actions string) string {
	parts := strings.Split(actions, "->")
	for i, p := range parts {
		if m := exitTask.FindStringSubmatch(strings.TrimSpace(p)); m != nil {
			parts[i] = m[1] + `return("` + exitMarker + `")`
		}
	}
	return strings.Join(parts, "->")
}

// Enable configures name with actions, replacing (and releasing a pause of)
// its earlier configuration; "off" disables it.
func Enable(name, actions string) error {
	if name == "" {
		return errors.New("failpoint: empty name")
	}
	mu.Lock()
	defer mu.Unlock()
	_ = pfp.Disable(name) // release a paused Eval; not-exist is fine
	if strings.TrimSpace(actions) == "off" {
		return nil
	}
	if err := pfp.Enable(name, translate(actions)); err != nil {
		return fmt.Errorf("failpoint %s=%s: %w", name, actions, err)
	}
	return nil
}

// Disable turns name off (no error if it was never configured).
func Disable(name string) error {
	mu.Lock()
	defer mu.Unlock()
	if err := pfp.Disable(name); err != nil && !errors.Is(err, pfp.ErrNotExist) {
		return fmt.Errorf("failpoint %s: %w", name, err)
	}
	return nil
}

// Configure applies every setting, stopping at the first invalid one.
func Configure(cs []Config) error {
	for _, c := range cs {
		if err := Enable(c.Name, c.Actions); err != nil {
			return err
		}
	}
	return nil
}

// InitFromEnv configures the failpoints listed in $FAILPOINTS and returns
// them so main can log "started with failpoints: ..." (see Join).
func InitFromEnv() ([]Config, error) {
	cs, err := Parse(os.Getenv(EnvVar))
	if err != nil {
		return nil, err
	}
	if err := Configure(cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// Eval evaluates name: ok is true when the failpoint fired, v is the
// return(arg) value (int, string or bool; nil for other tasks). sleep and
// pause block inside Eval; panic panics; exit ends the process.
func Eval(name string) (v any, ok bool) {
	val, err := pfp.Eval(name)
	if err != nil {
		return nil, false
	}
	if s, isStr := val.(string); isStr && s == exitMarker {
		fmt.Fprintf(os.Stderr, "failpoint %s: exit\n", name)
		exitFunc(1)
	}
	return val, true
}
