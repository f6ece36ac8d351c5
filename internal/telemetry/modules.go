package telemetry

import (
	"cmp"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/modules"
)

// ModuleSample is one module's numbers at scrape time.
type ModuleSample struct {
	Project, ID, Kind string
	State             modules.State
	Ready             bool
	// Restarts counts the module's restarts since its state was created.
	Restarts int
	Usage    modules.Usage
}

// ModuleSource lists the modules to export. It is called once per scrape,
// possibly by several scrapes at once, and should return the modules sorted
// by project and address so that /metrics reads in a stable order.
type ModuleSource func() []ModuleSample

// ModuleStates are the states nexus_module_state reports: each module has a
// series per state (1 for the one it is in, 0 for the others), so a query
// like nexus_module_state{state="failed"} == 1 needs no absent().
var ModuleStates = []modules.State{modules.StateInitialized, modules.StateLoaded, modules.StateStarted,
	modules.StateStopped, modules.StateUnloaded, modules.StateFailed}

// transitions are the transitions nexus_module_transitions_total counts,
// in the order of their counters.
var transitions = []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart,
	modules.TransitionStop, modules.TransitionUnload, modules.TransitionReconfigure}

// gauge is a per-module metric with one series per module.
type gauge struct {
	name, help string
	typ        prometheus.ValueType
	value      func(*ModuleSample) float64
	desc       *prometheus.Desc
}

// moduleLabels are the labels of every per-module series, sorted by name
// as the exposition writes them.
var moduleLabels = []string{"kind", "module", "project"}

const (
	stateName       = "nexus_module_state"
	stateHelp       = "1 for the lifecycle state the module is in, 0 for the others."
	transitionsName = "nexus_module_transitions_total"
	transitionsHelp = "Lifecycle transitions performed, by project, module, transition and result (ok, error)."
)

func newGauges() []gauge {
	gs := []gauge{
		{name: "nexus_module_up", help: "1 when the module is started.", typ: prometheus.GaugeValue,
			value: func(s *ModuleSample) float64 { return b2f(s.State == modules.StateStarted) }},
		{name: "nexus_module_ready", help: "1 when the module is ready (started and its health check passing).", typ: prometheus.GaugeValue,
			value: func(s *ModuleSample) float64 { return b2f(s.Ready) }},
		{name: "nexus_module_cpu_seconds_total", help: "CPU time (user and system) the module's processes used.", typ: prometheus.CounterValue,
			value: func(s *ModuleSample) float64 { return s.Usage.CPUSeconds }},
		{name: "nexus_module_memory_bytes", help: "Resident memory of the module's processes.", typ: prometheus.GaugeValue,
			value: func(s *ModuleSample) float64 { return s.Usage.MemoryMB * 1024 * 1024 }},
		{name: "nexus_module_requests_total", help: "Operations the module tracked through the SDK.", typ: prometheus.CounterValue,
			value: func(s *ModuleSample) float64 { return float64(s.Usage.RequestsTotal) }},
		{name: "nexus_module_errors_total", help: "Tracked operations that failed.", typ: prometheus.CounterValue,
			value: func(s *ModuleSample) float64 { return float64(s.Usage.ErrorsTotal) }},
		{name: "nexus_module_restarts_total", help: "Restarts the daemon made: by restart policy or for a rotated secret.", typ: prometheus.CounterValue,
			value: func(s *ModuleSample) float64 { return float64(s.Restarts) }},
	}
	for i := range gs {
		gs[i].desc = prometheus.NewDesc(gs[i].name, gs[i].help, moduleLabels, nil)
	}
	return gs
}

// moduleKey names a module across projects.
type moduleKey struct{ project, module string }

// transitionCounts counts a module's transitions: [transition][0 ok, 1 error].
type transitionCounts [6][2]uint64

// moduleMetrics holds the per-module series: gauges read from the source at
// scrape time (a module's numbers are kept once, by the runtime, and a
// module's series disappear with it), and transition counters kept here
// until the module is destroyed. It is a prometheus.Collector for the
// generic path, and writes the same series straight to the text
// exposition format for /metrics (see exposition.go).
type moduleMetrics struct {
	source      ModuleSource
	gauges      []gauge
	state       *prometheus.Desc
	transitions *prometheus.Desc

	mu     sync.Mutex
	counts map[moduleKey]*transitionCounts
}

var _ prometheus.Collector = (*moduleMetrics)(nil)

func newModuleMetrics(source ModuleSource) *moduleMetrics {
	return &moduleMetrics{
		source:      source,
		gauges:      newGauges(),
		state:       prometheus.NewDesc(stateName, stateHelp, append(slices.Clone(moduleLabels), "state"), nil),
		transitions: prometheus.NewDesc(transitionsName, transitionsHelp, []string{"module", "project", "result", "transition"}, nil),
		counts:      map[moduleKey]*transitionCounts{},
	}
}

// count records one finished transition of a module.
func (m *moduleMetrics) count(project, module string, t modules.Transition, err error) {
	i := slices.Index(transitions, t)
	if i < 0 {
		return
	}
	r := 0
	if err != nil {
		r = 1
	}
	k := moduleKey{project, module}
	m.mu.Lock()
	c := m.counts[k]
	if c == nil {
		c = new(transitionCounts)
		m.counts[k] = c
	}
	c[i][r]++
	m.mu.Unlock()
}

// forget drops a destroyed module's transition counters.
func (m *moduleMetrics) forget(project, module string) {
	m.mu.Lock()
	delete(m.counts, moduleKey{project, module})
	m.mu.Unlock()
}

// countedModule is one module's transition counters at scrape time.
type countedModule struct {
	key    moduleKey
	counts transitionCounts
}

// snapshotCounts copies the counters, sorted by project and module.
func (m *moduleMetrics) snapshotCounts() []countedModule {
	m.mu.Lock()
	out := make([]countedModule, 0, len(m.counts))
	for k, c := range m.counts {
		out = append(out, countedModule{k, *c})
	}
	m.mu.Unlock()
	sortCounted(out)
	return out
}

func sortCounted(cs []countedModule) {
	slices.SortFunc(cs, func(a, b countedModule) int {
		return cmp.Or(cmp.Compare(a.key.project, b.key.project), cmp.Compare(a.key.module, b.key.module))
	})
}

// Describe sends the descriptors of every per-module metric.
func (m *moduleMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.state
	for _, g := range m.gauges {
		ch <- g.desc
	}
	ch <- m.transitions
}

// Collect sends every module's series.
func (m *moduleMetrics) Collect(ch chan<- prometheus.Metric) {
	samples := m.source()
	for i := range samples {
		s := &samples[i]
		for _, st := range ModuleStates {
			ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, b2f(s.State == st), s.Kind, s.ID, s.Project, string(st))
		}
		for _, g := range m.gauges {
			ch <- prometheus.MustNewConstMetric(g.desc, g.typ, g.value(s), s.Kind, s.ID, s.Project)
		}
	}
	for _, c := range m.snapshotCounts() {
		for i, t := range transitions {
			for r, result := range []string{"ok", "error"} {
				if n := c.counts[i][r]; n > 0 {
					ch <- prometheus.MustNewConstMetric(m.transitions, prometheus.CounterValue, float64(n), c.key.module, c.key.project, result, string(t))
				}
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
