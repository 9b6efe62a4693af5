package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

func TestRegistryServesComponentAndRuntimeMetrics(t *testing.T) {
	reg := NewRegistry()
	c := promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: Name("test", "things", "total"), Help: "h"})
	c.Add(3)
	rec := httptest.NewRecorder()
	Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"strata_test_things_total 3", "go_goroutines", "process_"} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}
