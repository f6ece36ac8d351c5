package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// Options select what a plan covers, as plan's flags do.
type Options struct {
	// Targets limit the plan to these addresses (an instance, or a block
	// address matching all its instances) and their dependencies; a
	// destroy plan takes their dependents instead.
	Targets []string
	// Replace forces a replace of these addresses.
	Replace []string
	// Destroy plans the destruction of everything (or of the targets).
	Destroy bool
	// Now is the plan's creation time; zero means time.Now().
	Now time.Time
}

// desired is one module instance of the config, with what the diff needs:
// its spec (a copy, completed with its sensitive paths) and the digests of
// its config attributes.
type desired struct {
	mod         *config.Module
	spec        *modules.Spec
	attrDigests map[string]string
}

// Make diffs cfg against st and returns the changes that bring the state
// to the config. st may be nil (no state yet). Problems with the options,
// such as a -target that matches nothing, are diagnostics.
func Make(cfg *config.Config, st *state.State, opts Options) (*Plan, hcl.Diagnostics) {
	base := st
	if st == nil {
		st = state.New(cfg.Project)
		st.Lineage = ""
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	want := make(map[string]*desired, len(cfg.Modules))
	if !opts.Destroy {
		for _, m := range cfg.Modules {
			_, attrs := m.Spec.Config.Digests()
			spec := m.Spec
			spec.SensitivePaths = sensitivePaths(m)
			want[m.Spec.Address] = &desired{mod: m, spec: &spec, attrDigests: attrs}
		}
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		Project:       cfg.Project,
		Lineage:       st.Lineage,
		Serial:        st.Serial,
		StateDigest:   StateDigest(base),
		ConfigDigest:  ConfigDigest(cfg),
		CreatedAt:     now.UTC(),
		Destroy:       opts.Destroy,
		Targets:       sortedCopy(opts.Targets),
		Replace:       sortedCopy(opts.Replace),
	}

	all := unionAddresses(want, st)
	newG, oldG := newGraph(), newGraph()
	for _, a := range all {
		if d := want[a]; d != nil {
			newG.add(a, d.spec.DependsOn, d.spec.After)
		}
		if m := st.Modules[a]; m != nil {
			oldG.add(a, m.Spec.DependsOn, m.Spec.After)
		}
	}

	scope, diags := selectScope(all, want, st, newG, oldG, opts)
	replace, rdiags := expandAddresses(opts.Replace, all, "-replace")
	diags = append(diags, rdiags...)
	if diags.HasErrors() {
		return nil, diags
	}

	changes := make(map[string]*Change)
	for _, a := range all {
		if !scope[a] {
			continue
		}
		if c := diff(a, want[a], st.Modules[a], replace[a]); c != nil {
			changes[a] = c
		}
	}
	cascade(changes, want, st, newG)
	for a := range changes {
		if c := changes[a]; c.Action == NoOp {
			delete(changes, a)
		}
	}
	for _, c := range changes {
		c.Permissions = permissions(c, cfg)
	}
	p.Changes = sortChanges(changes)
	assignWaves(p)
	SortByWave(p.Changes)
	p.Unchanged = len(all) - len(p.Changes)
	return p, diags
}

func unionAddresses(want map[string]*desired, st *state.State) []string {
	set := make(map[string]bool, len(want)+len(st.Modules))
	for a := range want {
		set[a] = true
	}
	for a := range st.Modules {
		set[a] = true
	}
	return sortedKeys(set)
}

// diff decides the change of one address; nil means nothing to do.
func diff(addr string, d *desired, prior *state.Module, forceReplace bool) *Change {
	switch {
	case d == nil && prior == nil:
		return nil
	case d == nil:
		return destroyChange(prior)
	case prior == nil || prior.State == modules.StateAbsent || prior.State == modules.StateUnloaded:
		return createChange(d, prior)
	}
	spec := d.spec
	c := &Change{Address: addr, ID: spec.ID, Before: &prior.Spec, BeforeState: prior.State, After: spec}
	c.ChangedAttrs = changedFields(prior, spec, d.attrDigests, d.mod.Manifest.Config)

	var reason string
	switch {
	case forceReplace:
		reason = "requested with -replace"
	case prior.Spec.Kind != spec.Kind:
		reason = fmt.Sprintf("kind changes from %q to %q", prior.Spec.Kind, spec.Kind)
	case prior.Spec.Version != spec.Version:
		reason = fmt.Sprintf("kind %s version changes from %s to %s", spec.Kind, prior.Spec.Version, spec.Version)
	case prior.Spec.Limits != spec.Limits:
		reason = "limits cannot change in place"
	default:
		if cold := coldAttrs(c.ChangedAttrs, d.mod.Manifest); len(cold) > 0 {
			reason = strings.Join(cold, ", ") + " cannot change in place"
		}
	}
	if reason != "" {
		c.Action, c.Reason = Replace, reason
		c.Transitions = replaceTransitions(prior.State, spec.DesiredState)
		return c
	}

	running := prior.State == modules.StateStarted
	wantRunning := spec.DesiredState == modules.DesiredStarted
	var ts []modules.Transition
	switch {
	case prior.State == modules.StateInitialized:
		ts = append(ts, modules.TransitionLoad)
	}
	if running && !wantRunning {
		ts = append(ts, modules.TransitionStop)
	}
	if len(c.ChangedAttrs) > 0 {
		ts = append(ts, modules.TransitionReconfigure)
	}
	if !running && wantRunning {
		ts = append(ts, modules.TransitionStart)
	}
	c.Transitions = ts
	switch {
	case len(ts) == 0:
		c.Action = NoOp
	case len(c.ChangedAttrs) > 0:
		c.Action = Update
		if !running && wantRunning {
			c.Reason = fmt.Sprintf("and start it (it is %s)", prior.State)
		} else if running && !wantRunning {
			c.Reason = "and stop it (state = \"stopped\")"
		}
	case !running && wantRunning:
		c.Action = Start
		if prior.State == modules.StateFailed {
			c.Reason = "it failed"
			if prior.LastError != "" {
				c.Reason += ": " + prior.LastError
			}
		} else if prior.State != modules.StateStopped {
			c.Reason = fmt.Sprintf("it was left %s", prior.State)
		}
	default:
		c.Action = Stop
	}
	return c
}

func createChange(d *desired, prior *state.Module) *Change {
	spec := d.spec
	c := &Change{Address: spec.Address, ID: spec.ID, Action: Create, After: spec}
	c.Transitions = []modules.Transition{modules.TransitionInit, modules.TransitionLoad}
	if spec.DesiredState == modules.DesiredStarted {
		c.Transitions = append(c.Transitions, modules.TransitionStart)
	}
	if prior != nil {
		c.BeforeState = prior.State
	}
	return c
}

func destroyChange(prior *state.Module) *Change {
	c := &Change{Address: prior.Spec.Address, ID: prior.Spec.ID, Action: Destroy, Before: &prior.Spec, BeforeState: prior.State}
	switch prior.State {
	case modules.StateStarted, modules.StateFailed:
		c.Transitions = []modules.Transition{modules.TransitionStop, modules.TransitionUnload}
	case modules.StateStopped, modules.StateLoaded, modules.StateInitialized:
		c.Transitions = []modules.Transition{modules.TransitionUnload}
	}
	// An unloaded or absent module only leaves the state: no transition.
	return c
}

func replaceTransitions(prior modules.State, want modules.DesiredState) []modules.Transition {
	var ts []modules.Transition
	switch prior {
	case modules.StateStarted, modules.StateFailed:
		ts = append(ts, modules.TransitionStop, modules.TransitionUnload)
	case modules.StateStopped, modules.StateLoaded, modules.StateInitialized:
		ts = append(ts, modules.TransitionUnload)
	}
	ts = append(ts, modules.TransitionInit, modules.TransitionLoad)
	if want == modules.DesiredStarted {
		ts = append(ts, modules.TransitionStart)
	}
	return ts
}

// changedFields lists what differs: config attributes by digest (so a
// redacted state still compares), then the other spec fields by value.
func changedFields(prior *state.Module, spec *modules.Spec, attrs map[string]string, schema modules.Schema) []string {
	var out []string
	for name, dg := range attrs {
		old, recorded := prior.AttrDigests[name]
		if old == dg || !recorded && prior.AttrDigests != nil && asBefore(spec.Config.Get(name), schema.Attributes[name]) {
			continue
		}
		out = append(out, "config."+name)
	}
	for name := range prior.AttrDigests {
		if _, ok := attrs[name]; !ok {
			out = append(out, "config."+name)
		}
	}
	old := &prior.Spec
	fields := []struct {
		name  string
		equal bool
	}{
		{"health", equalHealth(old.Health, spec.Health)},
		{"restart", old.Restart == spec.Restart},
		{"timeouts", old.Timeouts == spec.Timeouts},
		{"permissions", slices.Equal(old.Permissions, spec.Permissions)},
		{"depends_on", slices.Equal(old.DependsOn, spec.DependsOn)},
		{"after", slices.Equal(old.After, spec.After)},
		{"on_secret_change", old.OnSecretChange == spec.OnSecretChange},
		{"sensitive", old.Sensitive == spec.Sensitive},
		{"secrets", slices.Equal(old.Secrets, spec.Secrets)},
	}
	for _, f := range fields {
		if !f.equal {
			out = append(out, f.name)
		}
	}
	sort.Strings(out)
	return out
}

// asBefore reports whether v, the value of an attribute the kind gained
// since a record was written (the record has no digest for it), leaves the
// module as it was: unset, or set to the attribute's default, which is how
// the kind behaves for configs that predate it. Upgrading nexus then plans
// no change.
func asBefore(v cty.Value, a *modules.Attribute) bool {
	if v.IsNull() {
		return true
	}
	return a != nil && a.Default != cty.NilVal && v.RawEquals(a.Default)
}

// equalHealth reports whether two health blocks check the same way (nil
// and empty exec lists alike, as they read back from JSON).
func equalHealth(a, b *modules.HealthCheck) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.HTTP == b.HTTP && a.TCP == b.TCP && slices.Equal(a.Exec, b.Exec) &&
		a.Interval == b.Interval && a.Timeout == b.Timeout && a.FailureThreshold == b.FailureThreshold
}

// coldAttrs returns the changed config attributes the kind cannot reload in place.
func coldAttrs(changed []string, m modules.Manifest) []string {
	var cold []string
	for _, c := range changed {
		name, ok := strings.CutPrefix(c, "config.")
		if !ok {
			continue
		}
		if !m.Config.HotReloadable([]string{name}) {
			cold = append(cold, c)
		}
	}
	return cold
}

func sensitivePaths(m *config.Module) []string {
	if len(m.SensitivePaths) == 0 {
		return nil
	}
	out := make([]string, 0, len(m.SensitivePaths))
	for _, p := range m.SensitivePaths {
		out = append(out, "config"+pathString(p))
	}
	sort.Strings(out)
	return out
}

// permissions returns what applying c requires beyond the action's verbs:
// the kind's manifest permissions plus the block's own, sorted.
func permissions(c *Change, cfg *config.Config) []string {
	set := map[string]bool{}
	if m := cfg.Module(c.Address); m != nil {
		for _, p := range m.Manifest.Permissions {
			set[p] = true
		}
	}
	if s := c.Spec(); s != nil {
		for _, p := range s.Permissions {
			set[p] = true
		}
	}
	return sortedKeys(set)
}

// ConfigDigest is the digest of a loaded configuration: of every module
// instance's spec (secret references, not values) and the project name.
func ConfigDigest(cfg *config.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "project=%s\n", cfg.Project)
	var buf []byte
	for _, m := range cfg.Modules {
		var err error
		if buf, err = m.Spec.AppendJSON(buf[:0]); err != nil {
			panic(fmt.Sprintf("config digest: %v", err)) // specs are plain data
		}
		h.Write(append(buf, '\n'))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
