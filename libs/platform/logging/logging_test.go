package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const jwt = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InRlbmFudCJ9.c2lnbmF0dXJlLWJ5dGVz"

func TestRedactString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a postgres URL keeps user and host but not the password", "postgres://alice:s3cr3t@db:5432/x", "postgres://alice:[REDACTED]@db:5432/x"},
		{"a postgresql URL inside a sentence is masked", "dial postgresql://u:p%40ss@h/db failed", "dial postgresql://u:[REDACTED]@h/db failed"},
		{"a key=value conninfo password is masked", "host=h user=u password=hunter2 dbname=d", "host=h user=u password=[REDACTED] dbname=d"},
		{"a quoted key=value password with spaces is masked", "host=h password='a b c' port=5", "host=h password=[REDACTED] port=5"},
		{"a bearer token is masked", "Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED]"},
		{"a bare JWT is masked", "token " + jwt + " rejected", "token [REDACTED] rejected"},
		{"text without secrets is unchanged", "tenant 0123 timeline 4567 lsn 0/16B3748", "tenant 0123 timeline 4567 lsn 0/16B3748"},
		{"a URL without a password is unchanged", "postgres://alice@db/x", "postgres://alice@db/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactString(tt.in); got != tt.want {
				t.Fatalf("RedactString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	b, _ := json.Marshal(struct{ S Secret }{s})
	outs := []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %s %q %x %#v %+v", s, s, s, s, s, s), string(b)}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Fatalf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}

func TestLoggerRedactsEverything(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run("the "+format+" logger leaks no secret", func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, Config{Format: format, Level: "debug"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			l = l.With("password", "pw-with")
			l.Info("connect postgres://u:pw-msg@h/db",
				"token", "tok-attr",
				"Authorization", "Bearer tok-header",
				"conninfo", "host=h password=pw-kv",
				"dsn", "postgres://u:pw-url@h/db",
				"secret", Secret("pw-secret"),
				"nested", slog.GroupValue(slog.String("api_key", "pw-group"), slog.String("x", "password=pw-gkv")),
				"err", errors.New("auth failed for "+jwt),
				"tenant_id", "0123abcd",
			)
			l.WithGroup("g").With("client_secret", "pw-g2").Debug("x")
			out := buf.String()
			for _, leak := range []string{"pw-", "tok-", jwt} {
				if strings.Contains(out, leak) {
					t.Fatalf("log contains %q:\n%s", leak, out)
				}
			}
			if !strings.Contains(out, "0123abcd") || !strings.Contains(out, "test") {
				t.Fatalf("log lost normal attributes:\n%s", out)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := Config{Format: "xml", Level: "loud"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "log.format") || !strings.Contains(err.Error(), "log.level") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestContextLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	From(With(context.Background(), l.With("k", "v"))).Info("hello")
	if !strings.Contains(buf.String(), "k=v") {
		t.Fatalf("got %q", buf.String())
	}
}
