package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/planner"
)

// createPlan loads configtest.GenerateDAG(n) and plans it against no state.
func createPlan(b *testing.B, n int) *planner.Plan {
	b.Helper()
	cfg, diags := config.Load("", configtest.GenerateDAG(n, 1), config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		b.Fatalf("load: %v", diags)
	}
	p, diags := planner.Make(cfg, nil, planner.Options{})
	if diags.HasErrors() {
		b.Fatalf("plan: %v", diags)
	}
	return p
}

// memRecorder builds each transition's module record the way the daemon's
// recorder does (the spec, its digests, the runtime's status) and keeps it
// in memory: the cost of recording without the cost of persisting.
type memRecorder struct {
	rt *runtime.Runtime

	mu   sync.Mutex
	mods map[string]*state.Module
}

func (m *memRecorder) Record(_ context.Context, res executor.Result) error {
	rec := &state.Module{Spec: *res.Spec, UpdatedAt: res.Finished.UTC()}
	rec.ConfigDigest, rec.AttrDigests = res.Spec.Config.Digests()
	if st, ok := m.rt.Status(res.Change.Address); ok {
		rec.State = st.State
		rec.Restarts, rec.LastError, rec.Usage = st.Restarts, st.LastError, st.Usage
		rec.UptimeSeconds = st.Uptime.Seconds()
	}
	m.mu.Lock()
	m.mods[res.Change.Address] = rec
	m.mu.Unlock()
	return nil
}

var (
	_ executor.Recorder               = (*memRecorder)(nil)
	_ interface{ Ready(string) bool } = (*runtime.Runtime)(nil) // the executor's fast readiness check
)

// BenchmarkApply_10000Targets is issue 3's target: apply a plan creating
// 10,000 `target` modules (a random DAG, two depends_on edges each) with
// parallelism 64, through the real executor and runtime, each of the
// 30,000 transitions recorded in memory. Target: under 1 s.
func BenchmarkApply_10000Targets(b *testing.B) {
	const n = 10_000
	p := createPlan(b, n)
	reg := builtin.Registry()
	ctx := context.Background()
	var cpu CPU
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rt := runtime.New(runtime.Options{Registry: reg, DataDir: b.TempDir()})
		rec := &memRecorder{rt: rt, mods: make(map[string]*state.Module, n)}
		b.StartTimer()
		cpu.Start()
		sum, err := executor.Apply(ctx, p, rt, rec, nil, executor.Options{Parallelism: 64})
		cpu.Stop()
		b.StopTimer()
		if err != nil || sum.Succeeded != n || len(rec.mods) != n {
			b.Fatalf("apply: %d succeeded, %d recorded, %v", sum.Succeeded, len(rec.mods), err)
		}
		if err := rt.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	cpu.Report(b, "cpu-ms/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/apply")
}
