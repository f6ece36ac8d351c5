package modules_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nexus-run/nexus/modules"
)

func TestMetrics_moduleLabel(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	f := modules.NewMetricsFactory(reg)
	a, b := f.For("heartbeat", "vitals/a"), f.For("heartbeat", "vitals/b")
	a.Counter("beats_total", "Beats sent.").Add(3)
	b.Counter("beats_total", "Beats sent.").Inc()
	a.Gauge("queue_depth", "Queued beats.").Set(7)
	f.For("my-kind", "x/y").Counter("runs_total", "Runs.").Inc()

	want := `
# HELP nexus_heartbeat_beats_total Beats sent.
# TYPE nexus_heartbeat_beats_total counter
nexus_heartbeat_beats_total{module="vitals/a"} 3
nexus_heartbeat_beats_total{module="vitals/b"} 1
# HELP nexus_heartbeat_queue_depth Queued beats.
# TYPE nexus_heartbeat_queue_depth gauge
nexus_heartbeat_queue_depth{module="vitals/a"} 7
# HELP nexus_my_kind_runs_total Runs.
# TYPE nexus_my_kind_runs_total counter
nexus_my_kind_runs_total{module="x/y"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"nexus_heartbeat_beats_total", "nexus_heartbeat_queue_depth", "nexus_my_kind_runs_total"); err != nil {
		t.Error(err)
	}

	f.Forget("vitals/a")
	want = `
# HELP nexus_heartbeat_beats_total Beats sent.
# TYPE nexus_heartbeat_beats_total counter
nexus_heartbeat_beats_total{module="vitals/b"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "nexus_heartbeat_beats_total", "nexus_heartbeat_queue_depth"); err != nil {
		t.Errorf("after Forget: %v", err)
	}
}

func TestMetrics_histogramAndTrack(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	f := modules.NewMetricsFactory(reg)
	inst := modules.NewInstance(&scripted{}, modules.InstanceOptions{
		Spec:    modules.Spec{Address: "module.vitals.hb", ID: "vitals/hb", Kind: "heartbeat"},
		Metrics: f,
	})
	walk(t, inst, initLoadStart...)
	mc := inst.Context()
	mc.Metrics().Histogram("beat_duration_seconds", "Beat latency.", []float64{0.1, 1}).Observe(0.5)
	_ = mc.Track(context.Background(), "beat", func(context.Context) error { return nil })
	_ = mc.Track(context.Background(), "beat", func(context.Context) error { return errors.New("refused") })

	want := `
# HELP nexus_heartbeat_beat_duration_seconds Beat latency.
# TYPE nexus_heartbeat_beat_duration_seconds histogram
nexus_heartbeat_beat_duration_seconds_bucket{module="vitals/hb",le="0.1"} 0
nexus_heartbeat_beat_duration_seconds_bucket{module="vitals/hb",le="1"} 1
nexus_heartbeat_beat_duration_seconds_bucket{module="vitals/hb",le="+Inf"} 1
nexus_heartbeat_beat_duration_seconds_sum{module="vitals/hb"} 0.5
nexus_heartbeat_beat_duration_seconds_count{module="vitals/hb"} 1
`
	if err := testutil.CollectAndCompare(reg, strings.NewReader(want), "nexus_heartbeat_beat_duration_seconds"); err != nil {
		t.Error(err)
	}
	// The operation histogram counts each Track by module, operation and result.
	for _, tt := range []struct{ result string }{{"ok"}, {"error"}} {
		n, err := countOf(reg, "nexus_module_operation_duration_seconds", map[string]string{"module": "vitals/hb", "operation": "beat", "result": tt.result})
		if err != nil || n != 1 {
			t.Errorf("operations with result %s got: %d (%v), want: 1", tt.result, n, err)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// countOf returns the sample count of the histogram series with labels.
func countOf(reg *prometheus.Registry, name string, labels map[string]string) (uint64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			return m.GetHistogram().GetSampleCount(), nil
		}
	}
	return 0, nil
}

func TestMetrics_nilRecordsNothing(t *testing.T) {
	var m *modules.Metrics
	m.Counter("x_total", "X.").Inc()
	m.Gauge("g", "G.").Set(1)
	m.Histogram("h_seconds", "H.", nil).Observe(1)
}
