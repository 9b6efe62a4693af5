package tenantcmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func run(args ...string) (string, error) {
	root := &cobra.Command{Use: "stratactl", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(New()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestCommandsRefuseBadInputBeforeContactingTheStack(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef"
	missing := t.TempDir() // no stack.json: reaching it would be a different error
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"tenant create refuses a bad id", []string{"tenant", "create", "--id", "x1"}, `invalid tenant id "x1"`},
		{"import needs a valid tenant", []string{"timeline", "import", "--tenant", "", "--pg", "postgres://"}, `invalid tenant id ""`},
		{"import needs --pg", []string{"timeline", "import", "--tenant", good}, "--pg is required"},
		{"branch refuses a bad ancestor", []string{"timeline", "branch", "--tenant", good, "--from", "abc"}, "--from: invalid timeline id"},
		{"branch refuses a bad LSN", []string{"timeline", "branch", "--tenant", good, "--from", good, "--at", "12"}, "--at: invalid LSN"},
		{"show refuses a bad timeline", []string{"timeline", "show", "--tenant", good, "--timeline", "zz"}, `invalid timeline id "zz"`},
		{"a valid request without a stack says how to start one", []string{"tenant", "list", "--stack", missing}, "stratactl up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[0] != "tenant" || tt.args[1] != "list" {
				tt.args = append(tt.args, "--stack", missing)
			}
			_, err := run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
