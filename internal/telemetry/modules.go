package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/modules"
)

// ModuleSample is one module's numbers at scrape time.
type ModuleSample struct {
	ID, Kind string
	State    modules.State
	Ready    bool
	Restarts int
	Usage    modules.Usage
}

// ModuleSource lists the modules to export; the daemon reads its runtimes.
type ModuleSource func() []ModuleSample

// moduleCollector exports per-module gauges and counters from a source.
type moduleCollector struct {
	source                                                 ModuleSource
	state, up, ready, cpu, memory, requests, errs, restart *prometheus.Desc
}

// RegisterModules registers the per-module metrics, read from source at
// every scrape.
func RegisterModules(reg prometheus.Registerer, source ModuleSource) {
	reg.MustRegister(&moduleCollector{
		source:   source,
		state:    prometheus.NewDesc("nexus_module_state", "1 for the lifecycle state a module is in.", []string{"module", "kind", "state"}, nil),
		up:       prometheus.NewDesc("nexus_module_up", "1 when the module is started.", []string{"module", "kind"}, nil),
		ready:    prometheus.NewDesc("nexus_module_ready", "1 when the module is ready.", []string{"module", "kind"}, nil),
		cpu:      prometheus.NewDesc("nexus_module_cpu_seconds_total", "CPU time the module used.", []string{"module", "kind"}, nil),
		memory:   prometheus.NewDesc("nexus_module_memory_bytes", "Resident memory of the module's processes.", []string{"module", "kind"}, nil),
		requests: prometheus.NewDesc("nexus_module_requests_total", "Operations the module tracked.", []string{"module", "kind"}, nil),
		errs:     prometheus.NewDesc("nexus_module_errors_total", "Tracked operations that failed.", []string{"module", "kind"}, nil),
		restart:  prometheus.NewDesc("nexus_module_restarts_total", "Restarts by restart policy or secret rotation.", []string{"module", "kind"}, nil),
	})
}

var allStates = []modules.State{modules.StateInitialized, modules.StateLoaded, modules.StateStarted, modules.StateStopped, modules.StateUnloaded, modules.StateFailed}

func (c *moduleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.up, c.ready, c.cpu, c.memory, c.requests, c.errs, c.restart} {
		ch <- d
	}
}

func (c *moduleCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.source() {
		for _, st := range allStates {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, b2f(s.State == st), s.ID, s.Kind, string(st))
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, b2f(s.State == modules.StateStarted), s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, b2f(s.Ready), s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, s.Usage.CPUSeconds, s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, s.Usage.MemoryMB*1024*1024, s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(s.Usage.RequestsTotal), s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(s.Usage.ErrorsTotal), s.ID, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.restart, prometheus.CounterValue, float64(s.Restarts), s.ID, s.Kind)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
