package executor

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// randomDAG returns a create plan of n modules, each depending on up to two
// random earlier modules.
func randomDAG(n int, seed int64) *planner.Plan {
	r := rand.New(rand.NewSource(seed))
	cs := make([]*planner.Change, n)
	for i := range n {
		var deps []string
		for k := 0; k < 2 && i > 0; k++ {
			d := fmt.Sprintf("module.g.m%05d", r.Intn(i))
			if len(deps) == 0 || deps[0] != d {
				deps = append(deps, d)
			}
		}
		cs[i] = create(fmt.Sprintf("module.g.m%05d", i), deps...)
	}
	return planOf(cs...)
}

type sleepRuntime struct{ d map[string]time.Duration }

func (s sleepRuntime) Do(_ context.Context, spec *modules.Spec, t modules.Transition) error {
	if t == modules.TransitionStart {
		time.Sleep(s.d[spec.Address])
	}
	return nil
}

func (sleepRuntime) WaitReady(context.Context, string) error { return nil }

type nopRuntime struct{}

func (nopRuntime) Do(context.Context, *modules.Spec, modules.Transition) error { return nil }
func (nopRuntime) WaitReady(context.Context, string) error                     { return nil }

// BenchmarkApply_10000 walks a 10,000-module random DAG (three transitions
// each) with parallelism 64 against a runtime that does nothing: the cost
// of the executor itself.
func BenchmarkApply_10000(b *testing.B) {
	p := randomDAG(10000, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := Apply(context.Background(), p, nopRuntime{}, nil, nil, Options{Parallelism: 64}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/apply")
}

// BenchmarkApply_makespan runs a 300-module random DAG whose starts take a
// random 1–50 ms, eagerly with unbounded parallelism and wave by wave, and
// reports each makespan as a ratio of the critical path (the physical limit).
func BenchmarkApply_makespan(b *testing.B) {
	p := randomDAG(300, 2)
	r := rand.New(rand.NewSource(3))
	rt := sleepRuntime{d: map[string]time.Duration{}}
	for _, c := range p.Changes {
		rt.d[c.Address] = time.Duration(1+r.Intn(50)) * time.Millisecond
	}
	critical := criticalPath(p, rt.d)
	steps, _ := planner.Steps(p)
	for _, s := range steps {
		if s.Change != nil {
			s.Change.Wave = s.Wave
		}
	}
	var eager, waves time.Duration
	for range b.N {
		start := time.Now()
		if _, err := Apply(context.Background(), p, rt, nil, nil, Options{Parallelism: -1}); err != nil {
			b.Fatal(err)
		}
		eager += time.Since(start)
		start = time.Now()
		if _, err := Apply(context.Background(), p, rt, nil, nil, Options{Parallelism: -1, Strategy: StrategyWaves}); err != nil {
			b.Fatal(err)
		}
		waves += time.Since(start)
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64(critical.Milliseconds()), "critical-ms")
	b.ReportMetric(float64((eager / n).Milliseconds()), "eager-ms")
	b.ReportMetric(float64((waves / n).Milliseconds()), "waves-ms")
	b.ReportMetric(float64(eager/n)/float64(critical), "eager/critical")
	b.ReportMetric(float64(waves/n)/float64(critical), "waves/critical")
}

// criticalPath is the longest chain of start durations through the DAG.
func criticalPath(p *planner.Plan, d map[string]time.Duration) time.Duration {
	finish := map[string]time.Duration{}
	var longest time.Duration
	for _, c := range p.Changes { // randomDAG lists dependencies first
		var ready time.Duration
		for _, dep := range c.After.DependsOn {
			ready = max(ready, finish[dep])
		}
		finish[c.Address] = ready + d[c.Address]
		longest = max(longest, finish[c.Address])
	}
	return longest
}
