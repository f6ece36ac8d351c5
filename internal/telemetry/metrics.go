package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nexus-run/nexus/modules"
)

// Metrics are the daemon's own metrics. Methods are safe for concurrent use.
type Metrics struct {
	Transitions        *prometheus.CounterVec
	TransitionDuration *prometheus.HistogramVec
	ApplyDuration      prometheus.Histogram
	Applies            *prometheus.CounterVec
	AuthzDecisions     *prometheus.CounterVec
	StoreLatency       *prometheus.HistogramVec
	HTTPRequests       *prometheus.CounterVec
}

// New creates the daemon's metrics, and the Go and process collectors, in reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_module_transitions_total",
			Help: "Lifecycle transitions performed, by module, transition and result (ok, error).",
		}, []string{"module", "transition", "result"}),
		TransitionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nexus_module_transition_duration_seconds",
			Help:    "Duration of lifecycle transitions, by transition.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12),
		}, []string{"transition"}),
		ApplyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nexus_apply_duration_seconds",
			Help:    "Duration of applies, from the first transition to the last.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		Applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_applies_total",
			Help: "Applies, by result (ok, error, interrupted, denied, stale, locked).",
		}, []string{"result"}),
		AuthzDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_authz_decisions_total",
			Help: "Authorization decisions, by decision (allow, deny).",
		}, []string{"decision"}),
		StoreLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nexus_state_store_duration_seconds",
			Help:    "Latency of state store operations, by store and operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"store", "operation", "result"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nexus_api_requests_total",
			Help: "API requests, by route and status code.",
		}, []string{"route", "code"}),
	}
	reg.MustRegister(m.Transitions, m.TransitionDuration, m.ApplyDuration, m.Applies, m.AuthzDecisions, m.StoreLatency, m.HTTPRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Transition records one finished transition.
func (m *Metrics) Transition(module string, t modules.Transition, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.Transitions.WithLabelValues(module, string(t), result).Inc()
	m.TransitionDuration.WithLabelValues(string(t)).Observe(d.Seconds())
}

// Authz records an authorization decision.
func (m *Metrics) Authz(allowed bool) {
	if allowed {
		m.AuthzDecisions.WithLabelValues("allow").Inc()
	} else {
		m.AuthzDecisions.WithLabelValues("deny").Inc()
	}
}
