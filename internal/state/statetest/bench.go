package statetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// BenchSave measures Put of a 1,000-module document (each iteration one
// Put, at the next serial).
func BenchSave(b *testing.B, s state.Store) {
	ctx := context.Background()
	project := "bench-save-" + uuid.NewString()[:8]
	doc := Document(project, uuid.NewString(), 1000, 1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		doc.Serial = uint64(i) + 1
		if err := s.Put(ctx, doc, uint64(i), "push"); err != nil {
			b.Fatalf("Put: %v", err)
		}
	}
}

// BenchLoad measures Get of a 1,000-module document.
func BenchLoad(b *testing.B, s state.Store) {
	ctx := context.Background()
	project := "bench-load-" + uuid.NewString()[:8]
	if err := s.Put(ctx, Document(project, uuid.NewString(), 1000, 1), 0, "push"); err != nil {
		b.Fatalf("Put: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		doc, err := s.Get(ctx, project)
		if err != nil || len(doc.Modules) != 1000 {
			b.Fatalf("Get: %d modules, %v", len(doc.Modules), err)
		}
	}
}

// BenchApply measures persisting the 3,000 transitions of creating 1,000
// modules (init, load, start each) as 3,000 single-module Applies to a new
// project; it reports the time per transition as µs/transition.
func BenchApply(b *testing.B, s state.Store) {
	ctx := context.Background()
	recs := make([]*state.Module, 1000)
	for i := range recs {
		recs[i] = Module(i, 1)
	}
	steps := []modules.State{modules.StateInitialized, modules.StateLoaded, modules.StateStarted}
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		project := "bench-apply-" + uuid.NewString()[:8]
		b.StartTimer()
		start := time.Now()
		serial := uint64(0)
		for _, m := range recs {
			for _, st := range steps {
				m.State = st
				if err := s.Apply(ctx, project, serial, state.Change{Set: []*state.Module{m}}); err != nil {
					b.Fatalf("Apply %d: %v", serial, err)
				}
				serial++
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/3000, "µs/transition")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/3000")
}

// Must fails b unless err is nil; for benchmark set-up.
func Must(b *testing.B, what string, err error) {
	if err != nil {
		b.Fatal(fmt.Errorf("%s: %w", what, err))
	}
}
