package planner

import (
	"testing"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/bench"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/state"
)

// BenchmarkPlan_1000 and BenchmarkPlan_10000 measure what `nexus plan` does
// with a random DAG of `target` modules (configtest.GenerateDAG, two
// depends_on edges each): load and validate the files, then plan, against
// an empty state (create) and against a state in which everything runs as
// configured (noop, the re-plan after an apply). The target for
// 10,000 modules: under 1 s and under 300 MB of heap, growing linearly.
//
// cpu-ms/op is the process's CPU time per iteration (load-cpu-ms and
// plan-cpu-ms split it); heap-MB is the live heap right after, with the
// config and the plan still referenced; peak-rss-MB is the process's
// resident high-water mark so far.
func BenchmarkPlan_1000(b *testing.B)  { benchPlan(b, 1000) }
func BenchmarkPlan_10000(b *testing.B) { benchPlan(b, 10000) }

func benchPlan(b *testing.B, n int) {
	files := configtest.GenerateDAG(n, 1)
	opts := config.Options{Registry: builtin.Registry(), Env: map[string]string{}}
	cfg0, diags := config.Load("", files, opts)
	if diags.HasErrors() {
		b.Fatalf("load: %v", diags)
	}
	for _, tc := range []struct {
		name    string
		applied bool // plan against a state where everything runs as configured
	}{
		{"create", false},
		{"noop", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var st *state.State
			if tc.applied {
				st = applied(cfg0)
			}
			var load, plan bench.CPU
			var keep *Plan
			b.ReportAllocs()
			for b.Loop() {
				load.Start()
				cfg, diags := config.Load("", files, opts)
				load.Stop()
				if diags.HasErrors() {
					b.Fatalf("load: %v", diags)
				}
				plan.Start()
				p, diags := Make(cfg, st, Options{})
				plan.Stop()
				if diags.HasErrors() {
					b.Fatalf("plan: %v", diags)
				}
				keep = p
			}
			b.StopTimer()
			want := n
			if st != nil {
				want = 0
			}
			if got := len(keep.Changes); got != want {
				b.Fatalf("got: %d changes\nwant: %d", got, want)
			}
			bench.ReportMS(b, load.Total()+plan.Total(), "cpu-ms/op")
			bench.ReportMS(b, load.Total(), "load-cpu-ms")
			bench.ReportMS(b, plan.Total(), "plan-cpu-ms")
			b.ReportMetric(bench.HeapMB(), "heap-MB")
			b.ReportMetric(float64(bench.PeakRSS())/(1<<20), "peak-rss-MB")
		})
	}
}
