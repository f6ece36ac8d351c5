package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/modules/target"
)

// BenchmarkRuntime_startTargets measures init, load and start of 10,000
// `target` modules, one after another as a single executor branch would,
// each with its own data directory and supervision. ns/module is the cost
// of one module's three transitions.
func BenchmarkRuntime_startTargets(b *testing.B) {
	const n = 10_000
	reg := modules.NewRegistry()
	reg.MustRegister(target.Manifest(), target.New)
	specs := make([]*modules.Spec, n)
	for i := range specs {
		specs[i] = &modules.Spec{
			Address: fmt.Sprintf("module.bench.t%05d", i), ID: fmt.Sprintf("bench/t%05d", i), Kind: "target",
			Config: modules.NewConfig(modules.Config{}.Value()), DesiredState: modules.DesiredStarted,
		}
	}
	ctx := context.Background()
	transitions := []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		rt := New(Options{Registry: reg, DataDir: b.TempDir()})
		b.StartTimer()
		start := time.Now()
		for _, s := range specs {
			for _, t := range transitions {
				if err := rt.Do(ctx, s, t); err != nil {
					b.Fatal(err)
				}
			}
		}
		total += time.Since(start)
		b.StopTimer()
		if err := rt.WaitReady(ctx, specs[n-1].Address); err != nil {
			b.Fatal(err)
		}
		if err := rt.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/module")
}
