package logging

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkLog compares a typical RPC record through the plain JSON handler
// and through the redacting wrapper (the baseline is measured in the same run).
func BenchmarkLog(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    slog.Handler
	}{
		{"plain", slog.NewJSONHandler(io.Discard, nil)},
		{"redacted", Redact(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := slog.New(bc.h).With("service", "page-service")
			b.ReportAllocs()
			for b.Loop() {
				l.Info("rpc finished", "method", "/strata.pageservice.v1.PageService/GetPage",
					"tenant_id", "0123456789abcdef0123456789abcdef", "timeline_id", "fedcba9876543210fedcba9876543210",
					"lsn", "0/16B3748", "code", "OK")
			}
		})
	}
}
