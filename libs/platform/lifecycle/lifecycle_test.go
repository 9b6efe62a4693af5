package lifecycle

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, ",")
}

func comp(rec *recorder, name string, startErr error, run func(ctx context.Context) error) Component {
	return Funcs{
		ComponentName: name,
		StartFn: func(context.Context) error {
			rec.add("start " + name)
			return startErr
		},
		RunFn: run,
		StopFn: func(context.Context) error {
			rec.add("stop " + name)
			return nil
		},
	}
}

func waitCtx(ctx context.Context) error { <-ctx.Done(); return nil }

func quiet() Runner {
	return Runner{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DrainTimeout: 5 * time.Second}
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		build   func(rec *recorder, cancel context.CancelFunc) []Component
		wantErr string
		want    string
	}{
		{
			name: "components start in order and stop in reverse order when the context ends",
			build: func(rec *recorder, cancel context.CancelFunc) []Component {
				return []Component{
					comp(rec, "a", nil, waitCtx),
					comp(rec, "b", nil, func(ctx context.Context) error { cancel(); <-ctx.Done(); return nil }),
				}
			},
			want: "start a,start b,stop b,stop a",
		},
		{
			name: "the first run failure stops everything and is returned",
			build: func(rec *recorder, cancel context.CancelFunc) []Component {
				return []Component{
					comp(rec, "a", nil, waitCtx),
					comp(rec, "b", nil, func(context.Context) error { return boom }),
				}
			},
			wantErr: "run b: boom",
			want:    "start a,start b,stop b,stop a",
		},
		{
			name: "a start failure stops the components already started and skips the rest",
			build: func(rec *recorder, cancel context.CancelFunc) []Component {
				return []Component{
					comp(rec, "a", nil, waitCtx),
					comp(rec, "b", boom, waitCtx),
					comp(rec, "c", nil, waitCtx),
				}
			},
			wantErr: "start b: boom",
			want:    "start a,start b,stop a",
		},
		{
			name: "a run that returns nil before cancellation is a failure",
			build: func(rec *recorder, cancel context.CancelFunc) []Component {
				return []Component{comp(rec, "a", nil, func(context.Context) error { return nil })}
			},
			wantErr: "run a: stopped unexpectedly",
			want:    "start a,stop a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := quiet().Run(ctx, tt.build(rec, cancel)...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run error = %v, want %q", err, tt.wantErr)
			}
			if got := rec.String(); got != tt.want {
				t.Fatalf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatusReadyOnlyWhileAllRunning(t *testing.T) {
	st := &Status{}
	r := quiet()
	r.Status = st
	ctx, cancel := context.WithCancel(context.Background())
	checked := make(chan error, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- r.Run(ctx, Loop("a", waitCtx), Loop("b", func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		}))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for st.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v", st.Ready(ctx))
		}
		time.Sleep(time.Millisecond) // polling, not timing
	}
	checked <- st.Ready(ctx)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if st.State("a") != Terminated || st.Ready(ctx) == nil {
		t.Fatalf("after stop: a=%v ready=%v", st.State("a"), st.Ready(ctx))
	}
}

func TestDrainTimeoutReportsStuckRun(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := quiet()
	r.DrainTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck := Funcs{
		ComponentName: "stuck",
		StartFn:       func(context.Context) error { cancel(); return nil },
		RunFn:         func(context.Context) error { <-release; return nil },
	}
	err := r.Run(ctx, stuck)
	if err == nil || !strings.Contains(err.Error(), "drain timeout") {
		t.Fatalf("err = %v, want drain timeout", err)
	}
}
