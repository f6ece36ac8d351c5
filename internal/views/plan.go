package views

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// PlanOptions tune the human plan.
type PlanOptions struct {
	Color bool
}

// Plan renders a plan for a human reviewer: the changes grouped by wave,
// each with its marker, address, kind and reason, the values a create sets
// and the old and new values an update changes, and the summary line.
func Plan(w io.Writer, p *planner.Plan, o PlanOptions) error {
	c := palette{on: o.Color}
	var b strings.Builder
	if !p.HasChanges() {
		b.WriteString(c.bold("No changes.") + " The running modules match the configuration.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("nexus will perform the following actions, wave by wave:\n")
	wave := -1
	for _, ch := range p.Changes {
		if ch.Wave != wave {
			wave = ch.Wave
			fmt.Fprintf(&b, "\n%s\n", c.bold(fmt.Sprintf("Wave %d", wave)))
		}
		renderChange(&b, ch, c)
	}
	b.WriteString("\n" + c.bold(SummaryLine(p)) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SummaryLine is "Plan: N to create, N to update, N to replace, N to
// destroy.", extended with starts, stops and restarts when there are any.
func SummaryLine(p *planner.Plan) string {
	s := p.Summary()
	line := fmt.Sprintf("Plan: %d to create, %d to update, %d to replace, %d to destroy", s.Create, s.Update, s.Replace, s.Destroy)
	for _, extra := range []struct {
		n    int
		verb string
	}{{s.Start, "start"}, {s.Stop, "stop"}, {s.Restart, "restart"}} {
		if extra.n > 0 {
			line += fmt.Sprintf(", %d to %s", extra.n, extra.verb)
		}
	}
	return line + "."
}

func marker(a planner.Action, c palette) string {
	m := fmt.Sprintf("%3s", a.Marker())
	switch a {
	case planner.Create, planner.Start:
		return c.green(m)
	case planner.Destroy, planner.Stop:
		return c.red(m)
	case planner.Replace:
		return c.yellow(m)
	}
	return c.cyan(m)
}

func renderChange(b *strings.Builder, ch *planner.Change, c palette) {
	spec := ch.Spec()
	kind := spec.Kind
	if spec.Version != "" {
		kind += " " + spec.Version
	}
	fmt.Fprintf(b, "  %s %s %s", marker(ch.Action, c), c.bold(ch.Address), c.dim("("+kind+")"))
	if ch.Reason != "" {
		fmt.Fprintf(b, " %s", c.dim("— "+ch.Reason))
	}
	b.WriteString("\n")
	if ch.Action == planner.Update && len(ch.Transitions) > 1 || ch.Action == planner.Start && len(ch.Transitions) > 1 {
		fmt.Fprintf(b, "      %s\n", c.dim("transitions: "+transitionList(ch.Transitions)))
	}
	r := newValueRenderer(hiddenPaths(ch))
	switch ch.Action {
	case planner.Create:
		renderAttrs(b, r, ch.After.Config.Value(), "      ")
	case planner.Update, planner.Replace, planner.Restart:
		renderDiff(b, r, ch, c)
	}
}

func transitionList(ts []modules.Transition) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " → ")
}

// renderAttrs lists a config's non-null attributes, aligned.
func renderAttrs(b *strings.Builder, r *valueRenderer, cfg cty.Value, pad string) {
	var names []string
	width := 0
	for _, n := range redact.AttrNames(cfg) {
		if !cfg.GetAttr(n).IsNull() {
			names = append(names, n)
			width = max(width, len(n))
		}
	}
	for _, n := range names {
		v := cfg.GetAttr(n)
		fmt.Fprintf(b, "%s%-*s = %s\n", pad, width, n, r.renderValue("config."+n, v, len(pad)/2))
	}
}

// renderDiff shows each changed field: config attributes with old → new
// values, other fields by their flattened sub-fields.
func renderDiff(b *strings.Builder, r *valueRenderer, ch *planner.Change, c palette) {
	if ch.Before == nil || ch.After == nil {
		return
	}
	for _, f := range ch.ChangedAttrs {
		name, isConfig := strings.CutPrefix(f, "config.")
		if isConfig {
			old := ch.Before.Config.Get(name)
			neu := ch.After.Config.Get(name)
			fmt.Fprintf(b, "      %s %s = %s -> %s%s\n", c.yellow("~"), name,
				r.renderValue(f, orNull(old), 3), r.renderValue(f, orNull(neu), 3), forces(ch, f, c))
			continue
		}
		for _, d := range fieldDiffs(f, ch.Before, ch.After) {
			fmt.Fprintf(b, "      %s %s\n", c.yellow("~"), d)
		}
	}
}

func forces(ch *planner.Change, field string, c palette) string {
	if ch.Action == planner.Replace && strings.Contains(ch.Reason, field) {
		return " " + c.red("# forces replacement")
	}
	return ""
}

func orNull(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v
}

// fieldDiffs flattens a non-config spec field of both specs to JSON leaves
// and lists those that differ: "restart.max_attempts = 5 -> 3".
func fieldDiffs(field string, before, after *modules.Spec) []string {
	get := func(s *modules.Spec) map[string]string {
		buf, _ := json.Marshal(s)
		var m map[string]any
		_ = json.Unmarshal(buf, &m)
		out := map[string]string{}
		flatten(field, m[field], out)
		return out
	}
	a, z := get(before), get(after)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range z {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		if a[k] != z[k] {
			out = append(out, fmt.Sprintf("%s = %s -> %s", k, orNone(a[k]), orNone(z[k])))
		}
	}
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(prefix+"."+k, e, out)
		}
	case nil:
	default:
		buf, _ := json.Marshal(x)
		out[prefix] = string(buf)
	}
}

func orNone(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hiddenPaths returns what a change's rendering hides: whatever either of
// its specs hides, so that neither the old nor the new value of a sensitive
// field shows.
func hiddenPaths(ch *planner.Change) ([]string, bool) {
	var paths []string
	all := false
	for _, s := range []*modules.Spec{ch.Before, ch.After} {
		if s != nil {
			paths = append(paths, s.SensitivePaths...)
			all = all || s.Sensitive
		}
	}
	return paths, all
}
