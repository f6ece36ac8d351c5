package planner

import (
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// mod builds a config module instance of a built-in kind.
func mod(t *testing.T, group, name, kind string, cfg map[string]cty.Value, deps ...string) *config.Module {
	t.Helper()
	m, ok := builtin.Registry().Manifest(kind)
	if !ok {
		t.Fatalf("unknown kind %q", kind)
	}
	attrs := map[string]cty.Value{}
	for n, a := range m.Config.Attributes {
		attrs[n] = cty.NullVal(a.Type)
		if a.Default != cty.NilVal {
			attrs[n] = a.Default
		}
	}
	for n, v := range cfg {
		attrs[n] = v
	}
	return &config.Module{
		Manifest: m,
		Spec: modules.Spec{
			Address: "module." + group + "." + name, ID: group + "/" + name,
			Kind: kind, Version: m.Version,
			Config:       modules.NewConfig(cty.ObjectVal(attrs)),
			DependsOn:    deps,
			DesiredState: modules.DesiredStarted, OnSecretChange: modules.OnSecretRestart,
			Restart: modules.DefaultRestartPolicy, Timeouts: modules.DefaultTimeouts,
		},
	}
}

func cfgOf(ms ...*config.Module) *config.Config {
	slices.SortFunc(ms, func(a, b *config.Module) int { return strings.Compare(a.Spec.Address, b.Spec.Address) })
	return &config.Config{Project: "default", Modules: ms}
}

// applied returns a state in which every module of cfg runs as configured.
func applied(cfg *config.Config) *state.State {
	st := state.New(cfg.Project)
	st.Serial = 7
	for _, m := range cfg.Modules {
		whole, attrs := m.Spec.Config.Digests()
		st.Modules[m.Spec.Address] = &state.Module{Spec: m.Spec, ConfigDigest: whole, AttrDigests: attrs, State: modules.StateStarted}
	}
	return st
}

func actions(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		out[c.Address] = c.Action.Marker()
	}
	return out
}

func mustPlan(t *testing.T, cfg *config.Config, st *state.State, o Options) *Plan {
	t.Helper()
	p, diags := Make(cfg, st, o)
	if diags.HasErrors() {
		t.Fatalf("plan: %v", diags)
	}
	return p
}

func beat(interval string) map[string]cty.Value {
	return map[string]cty.Value{"target": cty.StringVal("http://127.0.0.1:9/beat"), "interval": cty.StringVal(interval)}
}

func cmd(args ...string) map[string]cty.Value {
	vals := make([]cty.Value, len(args))
	for i, a := range args {
		vals[i] = cty.StringVal(a)
	}
	return map[string]cty.Value{"command": cty.ListVal(vals)}
}

func TestPlanner_createsEverythingOnEmptyState(t *testing.T) {
	cfg := cfgOf(
		mod(t, "synapse", "bus", "exec", cmd("sleep", "100")),
		mod(t, "vitals", "heartbeat", "heartbeat", beat("10s"), "module.synapse.bus"),
	)
	p := mustPlan(t, cfg, nil, Options{})
	got := actions(p)
	want := map[string]string{"module.synapse.bus": "+", "module.vitals.heartbeat": "+"}
	if !mapsEqual(got, want) {
		t.Fatalf("got: %v, want: %v", got, want)
	}
	if p.Changes[0].Address != "module.synapse.bus" || p.Changes[0].Wave != 1 || p.Changes[1].Wave != 2 {
		t.Errorf("got order %s(w%d), %s(w%d); want the dependency in wave 1 first",
			p.Changes[0].Address, p.Changes[0].Wave, p.Changes[1].Address, p.Changes[1].Wave)
	}
	if !slices.Equal(p.Changes[1].Permissions, []string{"heartbeat.send"}) {
		t.Errorf("got permissions %v, want the kind's heartbeat.send", p.Changes[1].Permissions)
	}
	if p.Lineage != "" || p.Serial != 0 {
		t.Errorf("got base lineage %q serial %d, want an empty state's", p.Lineage, p.Serial)
	}
}

func TestPlanner_noChanges(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "b", "target", nil))
	p := mustPlan(t, cfg, applied(cfg), Options{})
	if p.HasChanges() || p.Unchanged != 1 {
		t.Errorf("got %d changes, %d unchanged; want 0 and 1", len(p.Changes), p.Unchanged)
	}
	if p.Serial != 7 {
		t.Errorf("got serial %d, want the base state's 7", p.Serial)
	}
}

func TestPlanner_updateInPlace(t *testing.T) {
	old := cfgOf(mod(t, "vitals", "heartbeat", "heartbeat", beat("10s")))
	cfg := cfgOf(mod(t, "vitals", "heartbeat", "heartbeat", beat("5s")))
	p := mustPlan(t, cfg, applied(old), Options{})
	c := only(t, p)
	if c.Action != Update || !slices.Equal(c.ChangedAttrs, []string{"config.interval"}) {
		t.Errorf("got %s %v, want update of config.interval", c.Action, c.ChangedAttrs)
	}
	if !slices.Equal(c.Transitions, []modules.Transition{modules.TransitionReconfigure}) {
		t.Errorf("got transitions %v, want [reconfigure]", c.Transitions)
	}
}

func TestPlanner_replaceCascades(t *testing.T) {
	old := cfgOf(
		mod(t, "synapse", "bus", "exec", cmd("bus", "-v1")),
		mod(t, "vitals", "heartbeat", "heartbeat", beat("10s"), "module.synapse.bus"),
		mod(t, "vitals", "pager", "target", nil, "module.vitals.heartbeat"),
		mod(t, "other", "free", "target", nil),
	)
	cfg := cfgOf(
		mod(t, "synapse", "bus", "exec", cmd("bus", "-v2")),
		mod(t, "vitals", "heartbeat", "heartbeat", beat("10s"), "module.synapse.bus"),
		mod(t, "vitals", "pager", "target", nil, "module.vitals.heartbeat"),
		mod(t, "other", "free", "target", nil),
	)
	p := mustPlan(t, cfg, applied(old), Options{})
	got := actions(p)
	want := map[string]string{"module.synapse.bus": "-/+", "module.vitals.heartbeat": "↻", "module.vitals.pager": "↻"}
	if !mapsEqual(got, want) {
		t.Fatalf("got: %v, want: %v", got, want)
	}
	byAddr := index(p)
	if r := byAddr["module.synapse.bus"].Reason; r != "config.command cannot change in place" {
		t.Errorf("got replace reason %q", r)
	}
	if r := byAddr["module.vitals.heartbeat"].Reason; r != "hard dependency module.synapse.bus is replaced" {
		t.Errorf("got cascade reason %q", r)
	}
	if r := byAddr["module.vitals.pager"].Reason; r != "hard dependency module.vitals.heartbeat is restarted" {
		t.Errorf("got transitive cascade reason %q", r)
	}
}

func TestPlanner_cascadeUpgradesUpdate(t *testing.T) {
	old := cfgOf(
		mod(t, "a", "dep", "exec", cmd("x")),
		mod(t, "a", "user", "heartbeat", beat("10s"), "module.a.dep"),
	)
	cfg := cfgOf(
		mod(t, "a", "dep", "exec", cmd("y")),
		mod(t, "a", "user", "heartbeat", beat("5s"), "module.a.dep"),
	)
	c := index(mustPlan(t, cfg, applied(old), Options{}))["module.a.user"]
	want := []modules.Transition{modules.TransitionStop, modules.TransitionReconfigure, modules.TransitionStart}
	if c.Action != Restart || !slices.Equal(c.Transitions, want) {
		t.Errorf("got %s %v, want restart %v", c.Action, c.Transitions, want)
	}
}

func TestPlanner_kindChangeReplaces(t *testing.T) {
	old := cfgOf(mod(t, "a", "b", "target", nil))
	cfg := cfgOf(mod(t, "a", "b", "exec", cmd("x")))
	c := only(t, mustPlan(t, cfg, applied(old), Options{}))
	if c.Action != Replace || !strings.Contains(c.Reason, `kind changes from "target" to "exec"`) {
		t.Errorf("got %s %q", c.Action, c.Reason)
	}
}

func TestPlanner_destroyOrder(t *testing.T) {
	old := cfgOf(
		mod(t, "a", "db", "target", nil),
		mod(t, "a", "app", "target", nil, "module.a.db"),
		mod(t, "a", "keep", "target", nil),
	)
	cfg := cfgOf(mod(t, "a", "keep", "target", nil))
	p := mustPlan(t, cfg, applied(old), Options{})
	if got := actions(p); !mapsEqual(got, map[string]string{"module.a.app": "-", "module.a.db": "-"}) {
		t.Fatalf("got %v", got)
	}
	if p.Changes[0].Address != "module.a.app" || p.Changes[0].Wave >= p.Changes[1].Wave {
		t.Errorf("got %s first, want the dependent module.a.app destroyed in an earlier wave", p.Changes[0].Address)
	}
}

func TestPlanner_destroyFlag(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "x", "target", nil), mod(t, "a", "y", "target", nil))
	p := mustPlan(t, cfg, applied(cfg), Options{Destroy: true})
	if got := actions(p); !mapsEqual(got, map[string]string{"module.a.x": "-", "module.a.y": "-"}) {
		t.Errorf("got %v", got)
	}
}

func TestPlanner_startAndStop(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "failed", "target", nil), mod(t, "a", "parked", "target", nil))
	cfg.Modules[1].Spec.DesiredState = modules.DesiredStopped
	st := applied(cfg)
	st.Modules["module.a.failed"].State = modules.StateFailed
	st.Modules["module.a.failed"].LastError = "exit status 1"
	p := mustPlan(t, cfg, st, Options{})
	if got := actions(p); !mapsEqual(got, map[string]string{"module.a.failed": ">", "module.a.parked": "#"}) {
		t.Fatalf("got %v", got)
	}
	if r := index(p)["module.a.failed"].Reason; r != "it failed: exit status 1" {
		t.Errorf("got start reason %q", r)
	}
}

func TestPlanner_createStoppedOnlyLoads(t *testing.T) {
	m := mod(t, "a", "x", "target", nil)
	m.Spec.DesiredState = modules.DesiredStopped
	c := only(t, mustPlan(t, cfgOf(m), nil, Options{}))
	if !slices.Equal(c.Transitions, []modules.Transition{modules.TransitionInit, modules.TransitionLoad}) {
		t.Errorf("got %v, want init and load only", c.Transitions)
	}
}

func TestPlanner_resumesInterruptedCreate(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "x", "target", nil))
	st := applied(cfg)
	st.Modules["module.a.x"].State = modules.StateInitialized
	c := only(t, mustPlan(t, cfg, st, Options{}))
	want := []modules.Transition{modules.TransitionLoad, modules.TransitionStart}
	if c.Action != Start || !slices.Equal(c.Transitions, want) {
		t.Errorf("got %s %v, want start %v", c.Action, c.Transitions, want)
	}
}

func TestPlanner_targetIncludesDependencies(t *testing.T) {
	cfg := cfgOf(
		mod(t, "a", "db", "target", nil),
		mod(t, "a", "app", "target", nil, "module.a.db"),
		mod(t, "a", "other", "target", nil),
	)
	p := mustPlan(t, cfg, nil, Options{Targets: []string{"module.a.app"}})
	if got := actions(p); !mapsEqual(got, map[string]string{"module.a.app": "+", "module.a.db": "+"}) {
		t.Errorf("got %v", got)
	}
}

func TestPlanner_targetMatchesInstances(t *testing.T) {
	a, b := mod(t, "t", "r", "target", nil), mod(t, "t", "r", "target", nil)
	a.Spec.Address, a.Spec.ID = `module.t.r["daily"]`, "t/r[daily]"
	b.Spec.Address, b.Spec.ID = `module.t.r["weekly"]`, "t/r[weekly]"
	cfg := cfgOf(a, b, mod(t, "t", "rx", "target", nil))
	p := mustPlan(t, cfg, nil, Options{Targets: []string{"module.t.r"}})
	if len(p.Changes) != 2 {
		t.Errorf("got %v, want both instances of module.t.r and not module.t.rx", actions(p))
	}
}

func TestPlanner_targetMatchingNothingIsAnError(t *testing.T) {
	_, diags := Make(cfgOf(mod(t, "a", "b", "target", nil)), nil, Options{Targets: []string{"module.a.nope"}})
	if !diags.HasErrors() || diags[0].Summary != "No module matches -target" {
		t.Errorf("got %v, want a No module matches -target error", diags)
	}
}

func TestPlanner_replaceFlag(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "b", "target", nil))
	c := only(t, mustPlan(t, cfg, applied(cfg), Options{Replace: []string{"module.a.b"}}))
	if c.Action != Replace || c.Reason != "requested with -replace" {
		t.Errorf("got %s %q", c.Action, c.Reason)
	}
}

// A record written before the kind gained an attribute has no digest for
// it: left null or at its default, the attribute changes nothing
// (upgrading nexus plans no update); set otherwise, it is a change like any
// other.
func TestPlanner_attributeAddedToTheKindChangesNothing(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "b", "exec", cmd("sleep", "100")))
	st := applied(cfg)
	delete(st.Modules["module.a.b"].AttrDigests, "reload_signal") // as an older nexus wrote it
	if p := mustPlan(t, cfg, st, Options{}); p.HasChanges() {
		t.Errorf("got: %s %v, want: no changes", p.Changes[0].Action, p.Changes[0].ChangedAttrs)
	}
	set := cmd("sleep", "100")
	set["reload_signal"] = cty.StringVal("SIGHUP")
	c := only(t, mustPlan(t, cfgOf(mod(t, "a", "b", "exec", set)), st, Options{}))
	if c.Action != Update || !slices.Equal(c.ChangedAttrs, []string{"config.reload_signal"}) {
		t.Errorf("got: %s %v, want: an update of config.reload_signal", c.Action, c.ChangedAttrs)
	}

	// An attribute with a default, gained since: the default is how the
	// kind behaved before, anything else a change.
	delete(st.Modules["module.a.b"].AttrDigests, "stop_signal")
	if p := mustPlan(t, cfg, st, Options{}); p.HasChanges() {
		t.Errorf("stop_signal at its default got: %s %v, want: no changes", p.Changes[0].Action, p.Changes[0].ChangedAttrs)
	}
	other := cmd("sleep", "100")
	other["stop_signal"] = cty.StringVal("SIGINT")
	c = only(t, mustPlan(t, cfgOf(mod(t, "a", "b", "exec", other)), st, Options{}))
	if c.Action != Replace || !slices.Equal(c.ChangedAttrs, []string{"config.stop_signal"}) {
		t.Errorf("stop_signal SIGINT got: %s %v, want: a replace for config.stop_signal", c.Action, c.ChangedAttrs)
	}
}

func TestPlanner_redactedStateStillSeesChanges(t *testing.T) {
	old := cfgOf(mod(t, "a", "b", "heartbeat", beat("10s")))
	old.Modules[0].Spec.Sensitive = true
	cfg := cfgOf(mod(t, "a", "b", "heartbeat", beat("5s")))
	cfg.Modules[0].Spec.Sensitive = true
	st := applied(old).Redacted()
	c := only(t, mustPlan(t, cfg, st, Options{}))
	if c.Action != Update || !slices.Equal(c.ChangedAttrs, []string{"config.interval"}) {
		t.Errorf("got %s %v, want an update of config.interval from digests alone", c.Action, c.ChangedAttrs)
	}
}

func TestPlanner_deterministic(t *testing.T) {
	cfg := cfgOf(
		mod(t, "a", "x", "target", nil), mod(t, "a", "y", "target", nil, "module.a.x"),
		mod(t, "b", "x", "target", nil), mod(t, "b", "y", "target", nil, "module.b.x", "module.a.y"),
	)
	first := mustPlan(t, cfg, nil, Options{})
	for range 20 {
		again := mustPlan(t, cfg, nil, Options{})
		for i := range first.Changes {
			if first.Changes[i].Address != again.Changes[i].Address || first.Changes[i].Wave != again.Changes[i].Wave {
				t.Fatalf("plans differ at %d: %s vs %s", i, first.Changes[i].Address, again.Changes[i].Address)
			}
		}
	}
}

func only(t *testing.T, p *Plan) *Change {
	t.Helper()
	if len(p.Changes) != 1 {
		t.Fatalf("got %d changes (%v), want 1", len(p.Changes), actions(p))
	}
	return p.Changes[0]
}

func index(p *Plan) map[string]*Change {
	m := map[string]*Change{}
	for _, c := range p.Changes {
		m[c.Address] = c
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestChange_verbsCoverEveryTransition(t *testing.T) {
	tests := map[string]struct {
		c    Change
		want []string
	}{
		"create":               {Change{Action: Create, Transitions: Create.Transitions()}, []string{"module.load", "module.start"}},
		"destroy":              {Change{Action: Destroy, Transitions: Destroy.Transitions()}, []string{"module.stop", "module.unload"}},
		"update and start":     {Change{Action: Update, Transitions: []modules.Transition{modules.TransitionReconfigure, modules.TransitionStart}}, []string{"module.reconfigure", "module.start"}},
		"resumed start":        {Change{Action: Start, Transitions: []modules.Transition{modules.TransitionLoad, modules.TransitionStart}}, []string{"module.load", "module.start"}},
		"update hiding a stop": {Change{Action: Update, Transitions: []modules.Transition{modules.TransitionStop}}, []string{"module.reconfigure", "module.stop"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.c.Verbs(); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
