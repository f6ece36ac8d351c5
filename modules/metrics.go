package modules

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsFactory creates the metric vectors that modules record into. It owns
// one vector per metric name, each with a `module` label, registered in the
// registry it was given (never the global one). Safe for concurrent use.
type MetricsFactory struct {
	reg        prometheus.Registerer
	operations *prometheus.HistogramVec

	mu   sync.Mutex
	vecs map[string]metricVec
}

type metricVec struct {
	collector prometheus.Collector
	deleter   interface{ DeletePartialMatch(prometheus.Labels) int }
}

// NewMetricsFactory returns a factory registering into reg.
func NewMetricsFactory(reg prometheus.Registerer) *MetricsFactory {
	f := &MetricsFactory{reg: reg, vecs: make(map[string]metricVec)}
	f.operations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nexus_module_operation_duration_seconds",
		Help:    "Duration of operations modules tracked with Context.Track.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"module", "operation", "result"})
	reg.MustRegister(f.operations)
	return f
}

// For returns the metrics helper of one module instance.
func (f *MetricsFactory) For(kind, id string) *Metrics {
	return &Metrics{factory: f, kind: kind, id: id}
}

// Forget deletes every series of a module instance, when it is destroyed.
func (f *MetricsFactory) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	labels := prometheus.Labels{"module": id}
	f.operations.DeletePartialMatch(labels)
	for _, v := range f.vecs {
		v.deleter.DeletePartialMatch(labels)
	}
}

var metricName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// vec returns the vector named name, creating and registering it with make on
// first use. A name reused with another metric type is a programming mistake.
func (f *MetricsFactory) vec(name string, make func() metricVec) metricVec {
	if !metricName.MatchString(name) {
		panic(fmt.Sprintf("metric name %q must match %s", name, metricName))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.vecs[name]; ok {
		return v
	}
	v := make()
	f.reg.MustRegister(v.collector)
	f.vecs[name] = v
	return v
}

// Metrics is one module instance's metrics helper. Metric names are prefixed
// with "nexus_<kind>_" and carry a `module` label with the instance id, so
// `Counter("beats_total", …)` of a heartbeat is exported as
// nexus_heartbeat_beats_total{module="vitals/heartbeat"}.
//
// A nil *Metrics records nothing, which keeps modules testable without one.
type Metrics struct {
	factory  *MetricsFactory
	kind, id string
}

// fullName prefixes name with the kind, whose '-' (valid in kind names, not
// in metric names) becomes '_'.
func (m *Metrics) fullName(name string) string {
	return "nexus_" + strings.ReplaceAll(m.kind, "-", "_") + "_" + name
}

// Counter returns the module's counter of that name.
func (m *Metrics) Counter(name, help string) prometheus.Counter {
	if m == nil {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered", Help: help})
	}
	v := m.factory.vec(m.fullName(name), func() metricVec {
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.fullName(name), Help: help}, []string{"module"})
		return metricVec{cv, cv}
	})
	return v.collector.(*prometheus.CounterVec).WithLabelValues(m.id)
}

// Gauge returns the module's gauge of that name.
func (m *Metrics) Gauge(name, help string) prometheus.Gauge {
	if m == nil {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "unregistered", Help: help})
	}
	v := m.factory.vec(m.fullName(name), func() metricVec {
		gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: m.fullName(name), Help: help}, []string{"module"})
		return metricVec{gv, gv}
	})
	return v.collector.(*prometheus.GaugeVec).WithLabelValues(m.id)
}

// Histogram returns the module's histogram of that name; nil buckets means
// prometheus.DefBuckets.
func (m *Metrics) Histogram(name, help string, buckets []float64) prometheus.Observer {
	if m == nil {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: "unregistered", Help: help})
	}
	v := m.factory.vec(m.fullName(name), func() metricVec {
		hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.fullName(name), Help: help, Buckets: buckets}, []string{"module"})
		return metricVec{hv, hv}
	})
	return v.collector.(*prometheus.HistogramVec).WithLabelValues(m.id)
}

func (m *Metrics) observeOperation(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.factory.operations.WithLabelValues(m.id, op, result).Observe(d.Seconds())
}
