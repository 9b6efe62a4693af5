package logging

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// secretKeyParts: an attribute whose lower-cased key contains one of these
// has its value replaced.
var secretKeyParts = []string{"token", "password", "passwd", "authorization", "secret", "api_key", "apikey", "cookie", "credential", "private_key"}

// IsSecretKey reports whether an attribute key names a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

var (
	// scheme://user:password@host → scheme://user:[REDACTED]@host
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*@`)
	// password=secret, password = 'se cret', PASSWORD='x'
	kvPassword = regexp.MustCompile(`(?i)(password|passwd|token|secret)(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,]+)`)
	// Authorization: Bearer <token>
	bearer = regexp.MustCompile(`(?i)\b(bearer\s+)[^\s"',;]+`)
	// a bare JWT: three base64url parts, the first starting with {"  (eyJ)
	jwtText = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// RedactString masks passwords in connection strings (URL and key=value
// forms), bearer tokens and JWTs found anywhere in s.
func RedactString(s string) string {
	if !strings.ContainsAny(s, "@=") && !strings.Contains(s, "eyJ") &&
		!strings.Contains(s, "earer") && !strings.Contains(s, "EARER") { // [Bb]earer, BEARER
		return s
	}
	s = urlPassword.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = kvPassword.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = bearer.ReplaceAllString(s, "${1}"+Redacted)
	s = jwtText.ReplaceAllString(s, Redacted)
	return s
}

// Redact wraps h so that every record is scrubbed before h sees it: the
// message and string values through RedactString, error values through their
// text, and the value of any attribute whose key IsSecretKey is replaced.
func Redact(h slog.Handler) slog.Handler {
	if r, ok := h.(*redactor); ok {
		return r
	}
	return &redactor{next: h}
}

type redactor struct{ next slog.Handler }

func (r *redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

func (r *redactor) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, RedactString(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.next.Handle(ctx, out)
}

func (r *redactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &redactor{next: r.next.WithAttrs(red)}
}

func (r *redactor) WithGroup(name string) slog.Handler {
	return &redactor{next: r.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactString(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, RedactString(x.Error()))
		case []byte:
			return slog.String(a.Key, RedactString(string(x)))
		case interface{ String() string }:
			return slog.String(a.Key, RedactString(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
