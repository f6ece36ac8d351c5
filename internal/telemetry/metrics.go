package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nexus-run/nexus/modules"
)

// Results of an apply, the values of nexus_applies_total's result label.
const (
	ApplyOK          = "ok"
	ApplyError       = "error"
	ApplyInterrupted = "interrupted"
	ApplyDenied      = "denied"
	ApplyStale       = "stale"
	ApplyLocked      = "locked"
)

// Metrics are the daemon's metrics: its own (transitions, applies,
// authorization decisions, API requests, state-store calls) in the registry
// it was given, beside the Go and process collectors and the modules' SDK
// metrics, and the per-module series (nexus_module_*), which are kept out
// of the registry so that /metrics can write them fast. Gatherer gathers
// both; Handler serves both. Methods are safe for concurrent use, and a nil
// *Metrics records nothing (the benchmarks measure the daemon without
// metrics that way).
type Metrics struct {
	reg                *prometheus.Registry
	modules            *moduleMetrics
	gatherer           prometheus.Gatherer
	handler            http.Handler
	transitionDuration *prometheus.HistogramVec
	applyDuration      prometheus.Histogram
	applies            *prometheus.CounterVec
	authz              *prometheus.CounterVec
	storeLatency       *prometheus.HistogramVec
	requests           *prometheus.CounterVec
}

// New creates the daemon's metrics, and the Go and process collectors, in
// reg, and the per-module metrics read from source at every scrape. It
// panics if reg already holds them: a registry serves one daemon.
func New(reg *prometheus.Registry, source ModuleSource) *Metrics {
	m := &Metrics{
		reg:     reg,
		modules: newModuleMetrics(source),
		transitionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nexus_module_transition_duration_seconds",
			Help:    "Duration of lifecycle transitions, by transition.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12),
		}, []string{"transition"}),
		applyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nexus_apply_duration_seconds",
			Help:    "Duration of the applies that ran, from the first transition to the last.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_applies_total",
			Help: "Applies, by result (ok, error, interrupted; denied, stale, locked for those refused before they started).",
		}, []string{"result"}),
		authz: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_authz_decisions_total",
			Help: "Authorization decisions, by decision (allow, deny).",
		}, []string{"decision"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nexus_state_store_duration_seconds",
			Help:    "Latency of state store calls, by store, operation and result (ok, locked, conflict, error).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"store", "operation", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_api_requests_total",
			Help: "API requests, by route and status code.",
		}, []string{"route", "code"}),
	}
	for _, d := range []string{"allow", "deny"} {
		m.authz.WithLabelValues(d) // both series exist from the start, at 0
	}
	reg.MustRegister(m.transitionDuration, m.applyDuration, m.applies, m.authz, m.storeLatency, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	own := prometheus.NewRegistry()
	own.MustRegister(m.modules)
	m.gatherer = prometheus.Gatherers{reg, own}
	m.handler = &handler{reg: reg, mods: m.modules,
		generic: promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{Registry: reg})}
	return m
}

// Gatherer gathers everything /metrics serves: the registry's metrics and
// the per-module series.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return prometheus.Gatherers{}
	}
	return m.gatherer
}

// Handler serves /metrics: what Gatherer gathers, in the exposition format
// the scraper asks for (the text format by default, gzipped when accepted).
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics are turned off in this daemon", http.StatusNotFound)
		})
	}
	return m.handler
}

// Transition records one finished transition of a module (by its id).
func (m *Metrics) Transition(project, module string, t modules.Transition, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.modules.count(project, module, t, err)
	m.transitionDuration.WithLabelValues(string(t)).Observe(d.Seconds())
}

// ForgetModule drops the transition counters of a destroyed module, whose
// other series ended with it, so that a daemon that creates and destroys
// modules for months does not export them for ever.
func (m *Metrics) ForgetModule(project, module string) {
	if m == nil {
		return
	}
	m.modules.forget(project, module)
}

// ApplyRefused counts an apply refused before it started: ApplyDenied,
// ApplyStale or ApplyLocked.
func (m *Metrics) ApplyRefused(result string) {
	if m == nil {
		return
	}
	m.applies.WithLabelValues(result).Inc()
}

// ApplyDone counts an apply that ran (ApplyOK, ApplyError or
// ApplyInterrupted) and observes its duration.
func (m *Metrics) ApplyDone(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.applies.WithLabelValues(result).Inc()
	m.applyDuration.Observe(d.Seconds())
}

// Authz records an authorization decision.
func (m *Metrics) Authz(allowed bool) {
	if m == nil {
		return
	}
	if allowed {
		m.authz.WithLabelValues("allow").Inc()
	} else {
		m.authz.WithLabelValues("deny").Inc()
	}
}

// Request counts an API request by its route pattern and status code.
func (m *Metrics) Request(route string, code int) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// StoreCall records the latency of one state store call; result is one of
// ok, locked, conflict, error (see InstrumentStore).
func (m *Metrics) StoreCall(store, op, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.storeLatency.WithLabelValues(store, op, result).Observe(d.Seconds())
}
