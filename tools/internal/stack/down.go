package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Down stops every process of the stack in dir: the gateway and services
// first (reverse start order), Redis last. Each gets SIGTERM, then SIGKILL
// after grace. It returns once none is running.
func Down(ctx context.Context, dir string, grace time.Duration) error {
	st, err := LoadState(dir)
	if err != nil {
		return err
	}
	return stopAll(ctx, st, grace)
}

func stopAll(ctx context.Context, st *State, grace time.Duration) error {
	var errs []error
	for i := len(st.Components) - 1; i >= 0; i-- {
		c := st.Components[i]
		if err := c.Process.Stop(ctx, grace); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Health is one component's state as seen by Status.
type Health struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
	Ready   bool   `json:"ready"`
	Detail  string `json:"detail,omitempty"`
}

// Status probes every component of the stack in dir.
func Status(ctx context.Context, dir string) ([]Health, error) {
	st, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	var out []Health
	for _, c := range st.Components {
		h := Health{Name: c.Name, PID: c.Process.PID, Running: c.Process.Alive()}
		if h.Running {
			if err := probe(ctx, client, c); err != nil {
				h.Detail = err.Error()
			} else {
				h.Ready = true
			}
		} else {
			h.Detail = "not running"
		}
		out = append(out, h)
	}
	return out, nil
}

func dialOK(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}
