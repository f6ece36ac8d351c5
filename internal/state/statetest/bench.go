package statetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/bench"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// benchDocs are the 1,000-module documents the save and load benchmarks
// time: the fixture (every field set, see Module), and what applying a
// generated topology of `target` modules and of `exec` modules leaves.
var benchDocs = []struct {
	name string
	doc  func(project, lineage string) *state.State
}{
	{"fixture", func(p, l string) *state.State { return Document(p, l, 1000, 1) }},
	{"target", func(p, l string) *state.State { return Applied(p, l, "target", 1000) }},
	{"exec", func(p, l string) *state.State { return Applied(p, l, "exec", 1000) }},
}

// BenchSave measures Put of 1,000-module documents (each iteration one
// Put, at the next serial), one sub-benchmark per kind of document.
// cpu-ms/op is this process's CPU time (a database server's is not
// counted); KB is the size of the document's JSON.
func BenchSave(b *testing.B, s state.Store) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			ctx := context.Background()
			project := "bench-save-" + uuid.NewString()[:8]
			doc := d.doc(project, uuid.NewString())
			var cpu bench.CPU
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				doc.Serial = uint64(i) + 1
				cpu.Start()
				err := s.Put(ctx, doc, uint64(i), "push")
				cpu.Stop()
				if err != nil {
					b.Fatalf("Put: %v", err)
				}
			}
			cpu.Report(b, "cpu-ms/op")
			reportSize(b, doc)
		})
	}
}

// BenchLoad measures Get of 1,000-module documents, one sub-benchmark per
// kind of document. Each iteration reads the document another process
// wrote (the file store's cache of its own writes does not help).
func BenchLoad(b *testing.B, open func(b *testing.B) state.Store) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			ctx := context.Background()
			project := "bench-load-" + uuid.NewString()[:8]
			doc := d.doc(project, uuid.NewString())
			w := open(b)
			if err := w.Put(ctx, doc, 0, "push"); err != nil {
				b.Fatalf("Put: %v", err)
			}
			var cpu bench.CPU
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				r := open(b)
				b.StartTimer()
				cpu.Start()
				got, err := r.Get(ctx, project)
				cpu.Stop()
				if err != nil || len(got.Modules) != 1000 {
					b.Fatalf("Get: %d modules, %v", len(got.Modules), err)
				}
			}
			cpu.Report(b, "cpu-ms/op")
			reportSize(b, doc)
		})
	}
}

// reportSize reports the size of the document's JSON as KB (after the
// loop: b.Loop resets what was reported before it).
func reportSize(b *testing.B, doc *state.State) {
	b.StopTimer()
	buf, err := state.Encode(doc)
	Must(b, "encode", err)
	b.ReportMetric(float64(len(buf))/1024, "KB")
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
	var cpu bench.CPU
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		project := "bench-apply-" + uuid.NewString()[:8]
		b.StartTimer()
		start := time.Now()
		cpu.Start()
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
		cpu.Stop()
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/3000, "µs/transition")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/3000")
	cpu.Report(b, "cpu-ms/op")
}

// Applied returns the document an apply of a generated topology of n
// modules leaves: kind "target" is configtest.GenerateDAG (no config),
// kind "exec" configtest.GenerateRefDAG (a command and an env referring to
// other modules'). Every module is started, with the spec, digests, times
// and usage the daemon records. Equal arguments give equal documents.
func Applied(project, lineage, kind string, n int) *state.State {
	gen := configtest.GenerateDAG
	if kind == "exec" {
		gen = configtest.GenerateRefDAG
	}
	cfg, diags := config.Load("", gen(n, 1), config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		panic(fmt.Sprintf("statetest: load generated %s topology: %v", kind, diags))
	}
	doc := &state.State{Version: state.FormatVersion, Lineage: lineage, Serial: 1, Project: project, Modules: make(map[string]*state.Module, n)}
	for i, m := range cfg.Modules {
		started := epoch.Add(time.Duration(i) * time.Millisecond)
		whole, attrs := m.Spec.Config.Digests()
		rec := &state.Module{
			Spec: m.Spec, ConfigDigest: whole, AttrDigests: attrs,
			State: modules.StateStarted, StartedAt: &started, UptimeSeconds: 3600.5, UpdatedAt: started,
		}
		if kind == "exec" {
			rec.Usage = modules.Usage{CPUSeconds: 12.25, MemoryMB: 18.5}
		}
		doc.Modules[m.Spec.Address] = rec
	}
	return doc
}

// Must fails b unless err is nil; for benchmark set-up.
func Must(b *testing.B, what string, err error) {
	if err != nil {
		b.Fatal(fmt.Errorf("%s: %w", what, err))
	}
}
