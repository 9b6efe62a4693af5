package svccmd

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/tools/internal/stack"
)

func TestRestartRefusesWhatItCannotRestart(t *testing.T) {
	dir := t.TempDir()
	st := &stack.State{Dir: dir, Components: []stack.Component{
		{Name: stack.RedisName, Process: stack.Process{PID: os.Getpid()}},
		{Name: stack.PageService, Process: stack.Process{PID: 0}},
	}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, service, want string
	}{
		{"an unknown name is refused", "nope", `no service "nope"`},
		{"redis is not a service", stack.RedisName, `no service "redis"`},
		{"a service that is not running is refused", stack.PageService, "is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Restart(context.Background(), dir, tt.service, true, time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restart(%q) error = %v, want %q", tt.service, err, tt.want)
			}
		})
	}
}

func TestReadNulListReadsThisProcess(t *testing.T) {
	argv, err := readNulList(os.Getpid(), "cmdline")
	if err != nil || len(argv) == 0 || argv[0] == "" {
		t.Fatalf("readNulList(self, cmdline) = %q, %v", argv, err)
	}
	if st, err := startTime(os.Getpid()); err != nil || st == 0 {
		t.Errorf("startTime(self) = %d, %v", st, err)
	}
}
