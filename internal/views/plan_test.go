package views

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func load(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, diags := config.LoadDir(dir, config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		t.Fatalf("load %s: %v", dir, diags)
	}
	return cfg
}

// applied is the state after cfg was applied and everything started: its
// records hold the specs a plan from nothing would have applied.
func applied(cfg *config.Config) *state.State {
	p, diags := planner.Make(cfg, nil, planner.Options{})
	if diags.HasErrors() {
		panic(diags)
	}
	st := state.New(cfg.Project)
	st.Lineage, st.Serial = "00000000-0000-4000-8000-000000000000", 4
	for _, c := range p.Changes {
		whole, attrs := c.After.Config.Digests()
		st.Modules[c.Address] = &state.Module{Spec: *c.After, ConfigDigest: whole, AttrDigests: attrs, State: modules.StateStarted}
	}
	return st
}

func TestPlan_golden(t *testing.T) {
	base := load(t, "testdata/plans/base")
	// Each case plans its directory's config (the base config when dir is
	// "base") against a state; the golden files live in testdata/plans/<case>.
	tests := map[string]struct {
		dir   string
		state func() *state.State
		opts  planner.Options
	}{
		"create":  {dir: "base", state: func() *state.State { return nil }},
		"update":  {state: func() *state.State { return applied(base) }},
		"replace": {state: func() *state.State { return applied(base) }},
		"destroy": {state: func() *state.State { return applied(base) }},
		"stop":    {state: func() *state.State { return applied(base) }},
		"start": {dir: "base", state: func() *state.State {
			st := applied(base)
			st.Modules["module.vitals.heartbeat"].State = modules.StateFailed
			st.Modules["module.vitals.heartbeat"].LastError = "exit status 2"
			return st
		}},
		"target": {dir: "base", state: func() *state.State { return nil }, opts: planner.Options{Targets: []string{"module.vitals.pager"}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = name
			}
			cfg := load(t, filepath.Join("testdata/plans", dir))
			tt.opts.Now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			p, diags := planner.Make(cfg, tt.state(), tt.opts)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			var human, js bytes.Buffer
			if err := Plan(&human, p, PlanOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := PlanJSON(&js, p); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata/plans", name, "plan.golden"), human.Bytes())
			golden(t, filepath.Join("testdata/plans", name, "plan.json.golden"), js.Bytes())
			for _, out := range []string{human.String(), js.String()} {
				if strings.Contains(out, "s3cr3t-default") {
					t.Errorf("a sensitive variable's value appears in the plan:\n%s", out)
				}
				if strings.Contains(out, "⟦") {
					t.Errorf("a raw secret placeholder appears in the plan:\n%s", out)
				}
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/views -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
