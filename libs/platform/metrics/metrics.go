// Package metrics gives each process one Prometheus registry with the Go and
// process collectors, and the naming rule strata_<component>_<noun>_<unit>.
//
// Components build their metrics struct from an injected
// prometheus.Registerer (never the global default registry):
//
//	reg := metrics.NewRegistry()
//	type uploadMetrics struct{ uploaded prometheus.Counter }
//	m := uploadMetrics{uploaded: promauto.With(reg).NewCounter(prometheus.CounterOpts{
//		Name: metrics.Name("uploadworker", "layers_uploaded", "total"),
//		Help: "Layers uploaded to object storage.",
//	})}
//	http.Handle("/metrics", metrics.Handler(reg))
package metrics

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Strata metric.
const Namespace = "strata"

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Name returns strata_<component>_<noun>[_<unit>], e.g.
// Name("pageservice", "getpage_requests", "total"). The unit is one of total,
// seconds, bytes (or empty for unitless gauges).
func Name(component, noun, unit string) string {
	parts := []string{Namespace, component, noun}
	if unit != "" {
		parts = append(parts, unit)
	}
	return strings.Join(parts, "_")
}

// Handler serves the registry in the Prometheus exposition format.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
