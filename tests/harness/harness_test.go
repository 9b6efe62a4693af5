package harness

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeLog(tb testing.TB, dir, name, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", name), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestLogLevelReadsJSONTextAndPanics(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"a JSON record gives its level", `{"time":"t","level":"WARN","msg":"x"}`, "WARN"},
		{"a text record gives its level", `time=t level=ERROR msg=x`, "ERROR"},
		{"a Go panic counts as an error", `panic: runtime error`, "ERROR"},
		{"a plain line has no level", `goroutine 1 [running]:`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logLevel(tt.line); got != tt.want {
				t.Errorf("logLevel(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestCheckLogsReportsOnlyWarningsAndErrorsNotAllowed(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "page-service.log", strings.Join([]string{
		`{"level":"INFO","msg":"started"}`,
		`{"level":"WARN","msg":"slow flush"}`,
		`{"level":"ERROR","msg":"injected failure in test"}`,
		`{"level":"ERROR","msg":"layer corrupt"}`,
	}, "\n")+"\n")
	writeLog(t, dir, "redis.log", "1:M # WARNING overcommit\n")
	bad := CheckLogs(dir, []*regexp.Regexp{regexp.MustCompile(`injected failure`)})
	if len(bad) != 2 {
		t.Fatalf("CheckLogs = %v, want the WARN and the non-allowed ERROR", bad)
	}
	if !strings.Contains(bad[0], "page-service.log:2") || !strings.Contains(bad[1], "page-service.log:4") {
		t.Errorf("CheckLogs = %v, want lines 2 and 4 of page-service.log", bad)
	}
}

func TestFindSecretsSpotsRecordedSecretsAndJWTsWithoutPrintingThem(t *testing.T) {
	dir := t.TempDir()
	secret := "s3cr3t-password-for-test"
	recordSecret(secret)
	jwt := "eyJhbGciOiJFZERTQSJ9.eyJzY29wZSI6InRlbmFudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	writeLog(t, dir, "a.log", "ok line\nconnecting with "+secret+"\n")
	writeLog(t, dir, "b.log", "auth header Bearer "+jwt+"\n")
	writeLog(t, dir, "c.log", "nothing here\n")
	found := FindSecrets(dir)
	if len(found) != 2 {
		t.Fatalf("FindSecrets = %v, want one hit in a.log and one in b.log", found)
	}
	for _, f := range found {
		if strings.Contains(f, secret) || strings.Contains(f, jwt) {
			t.Errorf("report %q repeats the secret", f)
		}
	}
}
