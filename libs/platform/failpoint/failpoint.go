// Package failpoint injects faults in test builds. It is compiled in only
// with the build tag `failpoints` (go build -tags failpoints); without it
// Eval is an inlined no-op, InitFromEnv refuses a non-empty FAILPOINTS, and
// the HTTP handler answers 400.
//
// The runtime is github.com/pingcap/failpoint's Enable/Disable/Eval (no code
// rewriting). Actions follow FreeBSD fail(9) / Rust fail: `[p%][N*]task[(arg)]`
// chained with `->`, tasks off, return(arg), sleep(ms), panic[(msg)], pause
// (blocks until the failpoint is reconfigured or disabled), print(msg), and
// Strata's own `exit`, which makes the evaluating process exit with status 1
// (it is stored as a return of an internal marker value that Eval acts on).
// "off" alone disables the failpoint. Configuring a name replaces its earlier
// actions and releases a paused evaluation.
//
// Usage:
//
//	// main:
//	fps, err := failpoint.InitFromEnv() // FAILPOINTS="before-upload-layer=2*return(boom);flush=sleep(100)"
//	if err != nil { return err }
//	if len(fps) > 0 { log.Info("started with failpoints: " + failpoint.Join(fps)) }
//	mux.Handle("PUT /v1/failpoints", failpoint.Handler())
//
//	// code under test:
//	if v, ok := failpoint.Eval("before-upload-layer"); ok {
//		return fmt.Errorf("failpoint before-upload-layer: %v", v)
//	}
//
// HTTP: PUT /v1/failpoints with [{"name": "...", "actions": "..."}] answers
// 200 `null`, or 400 {"msg": "..."}.
package failpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EnvVar is the environment variable InitFromEnv reads.
const EnvVar = "FAILPOINTS"

// ErrNotCompiled is returned when failpoints are configured in a build
// without the failpoints tag.
var ErrNotCompiled = errors.New("failpoints are not compiled in: build with -tags failpoints")

// Config is one failpoint setting, also the JSON element of PUT /v1/failpoints.
type Config struct {
	Name    string `json:"name"`
	Actions string `json:"actions"`
}

// String renders name=actions.
func (c Config) String() string { return c.Name + "=" + c.Actions }

// Join renders a list as FAILPOINTS does: name=actions;name2=actions.
func Join(cs []Config) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ";")
}

// Parse splits a FAILPOINTS value ("a=return(1);b=sleep(10)"); empty parts
// are ignored.
func Parse(s string) ([]Config, error) {
	var out []Config
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, actions, ok := strings.Cut(part, "=")
		name, actions = strings.TrimSpace(name), strings.TrimSpace(actions)
		if !ok || name == "" || actions == "" {
			return nil, fmt.Errorf("failpoint %q: want name=actions", part)
		}
		out = append(out, Config{Name: name, Actions: actions})
	}
	return out, nil
}

// Error returns an error naming the failpoint and its return value when
// name fires, nil otherwise: `if err := failpoint.Error("x"); err != nil { return err }`.
func Error(name string) error {
	if v, ok := Eval(name); ok {
		return fmt.Errorf("failpoint %s: %v", name, v)
	}
	return nil
}

// Sleep is a Neon-style sleep failpoint: when name fires with return(ms)
// it waits that many milliseconds or until ctx ends (returning ctx's cause).
func Sleep(ctx context.Context, name string) error {
	v, ok := Eval(name)
	if !ok {
		return nil
	}
	ms, isInt := v.(int)
	if !isInt || ms <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
