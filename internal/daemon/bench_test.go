package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/bench"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/runtime"
	filestate "github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/planner"
)

// BenchmarkRecorder_apply10000Targets is issue 3's apply (10,000 `target`
// modules, a random DAG, parallelism 64, the real executor and runtime)
// recorded the way the daemon records it: every transition through the
// project's recorder into the file store, concurrent transitions group
// committed, each returning once its change is durable (fdatasync).
// commits is how many store writes the 30,000 transitions took.
func BenchmarkRecorder_apply10000Targets(b *testing.B) {
	const n = 10_000
	cfg, diags := config.Load("", configtest.GenerateDAG(n, 1), config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		b.Fatalf("load: %v", diags)
	}
	plan, diags := planner.Make(cfg, nil, planner.Options{})
	if diags.HasErrors() {
		b.Fatalf("plan: %v", diags)
	}
	ctx := context.Background()
	var cpu bench.CPU
	var commits uint64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		store, err := filestate.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		d := &Daemon{now: time.Now, log: slog.New(slog.DiscardHandler)}
		p := &project{name: "bench", d: d, base: map[string]history{}}
		p.rt = runtime.New(runtime.Options{Registry: builtin.Registry(), DataDir: b.TempDir()})
		p.rec = newRecorder(store, p.name, nil, time.Now)
		b.StartTimer()
		cpu.Start()
		sum, err := executor.Apply(ctx, plan, p.rt, &applyRecorder{rec: p.rec, rt: p.rt, project: p}, nil, executor.Options{Parallelism: 64})
		cpu.Stop()
		b.StopTimer()
		if err != nil || sum.Succeeded != n {
			b.Fatalf("apply: %d succeeded, %v", sum.Succeeded, err)
		}
		_, serial := p.rec.serial()
		commits += serial
		if err := p.rt.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		store.Close()
		b.StartTimer()
	}
	cpu.Report(b, "cpu-ms/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/apply")
	b.ReportMetric(float64(commits)/float64(b.N), "commits")
}
