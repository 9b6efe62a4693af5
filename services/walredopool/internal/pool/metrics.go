package pool

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/metrics"
)

// Kill reasons, the values of the reason label of
// strata_walredo_worker_kills_total.
const (
	ReasonError    = "error"    // EOF, broken pipe, garbage output, protocol error
	ReasonTimeout  = "timeout"  // wal_redo_timeout passed
	ReasonCanceled = "canceled" // the caller gave up mid-request
	ReasonIdle     = "idle"     // quiesced after idle_timeout
	ReasonShutdown = "shutdown" // the pool closed
	ReasonLaunch   = "launch"   // the launch failed after the process started
)

var reasons = []string{ReasonError, ReasonTimeout, ReasonCanceled, ReasonIdle, ReasonShutdown, ReasonLaunch}

// Failure classes, the values of the class label of
// strata_walredo_redo_failures_total.
const (
	classRedo     = "redo_failed"
	classBad      = "bad_request"
	classTimeout  = "timeout"
	classCanceled = "canceled"
	classDead     = "dead_worker"
	classLaunch   = "launch"
	classClosed   = "closed"
)

var classes = []string{classRedo, classBad, classTimeout, classCanceled, classDead, classLaunch, classClosed}

// Metrics are the pool's Prometheus metrics (component "walredo").
type Metrics struct {
	redoSeconds prometheus.Histogram
	waitSeconds prometheus.Histogram
	records     prometheus.Histogram
	bytes       prometheus.Histogram
	launches    prometheus.Counter
	retries     prometheus.Counter
	kills       map[string]prometheus.Counter
	failures    map[string]prometheus.Counter
	workers     prometheus.Gauge
	busy        prometheus.Gauge
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, as in unit tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	name := func(noun, unit string) string { return metrics.Name("walredo", noun, unit) }
	kills := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: name("worker_kills", "total"),
		Help: "Redo worker processes stopped (killed and reaped), by reason.",
	}, []string{"reason"})
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: name("redo_failures", "total"),
		Help: "Redo requests that failed, by class.",
	}, []string{"class"})
	m := &Metrics{
		redoSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    name("redo", "seconds"),
			Help:    "Time to serve one redo request, waiting for a worker included.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 11), // 10µs .. ~10s
		}),
		waitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    name("wait", "seconds"),
			Help:    "Time a redo request waited for a free worker.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 8, 9), // 1µs .. ~16s
		}),
		records: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    name("request_records", ""),
			Help:    "WAL records per redo request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
		bytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    name("request", "bytes"),
			Help:    "Bytes of WAL records per redo request (base image excluded).",
			Buckets: prometheus.ExponentialBuckets(64, 4, 11), // 64B .. 64MiB
		}),
		launches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("worker_launches", "total"),
			Help: "Redo worker processes started.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("retries", "total"),
			Help: "Redo requests retried on a fresh worker after their worker died.",
		}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("workers", ""),
			Help: "Redo worker processes alive.",
		}),
		busy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("workers_busy", ""),
			Help: "Redo worker slots serving a request.",
		}),
		kills:    map[string]prometheus.Counter{},
		failures: map[string]prometheus.Counter{},
	}
	for _, r := range reasons {
		m.kills[r] = kills.WithLabelValues(r)
	}
	for _, c := range classes {
		m.failures[c] = failures.WithLabelValues(c)
	}
	if reg != nil {
		reg.MustRegister(m.redoSeconds, m.waitSeconds, m.records, m.bytes, m.launches, m.retries,
			kills, failures, m.workers, m.busy)
	}
	return m
}
