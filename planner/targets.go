package planner

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/internal/state"
)

// expandAddresses resolves addresses given on the command line (an
// instance, or a block address standing for all its instances) against the
// known addresses. An address that matches nothing is an error.
func expandAddresses(given []string, all []string, flag string) (map[string]bool, hcl.Diagnostics) {
	out := make(map[string]bool)
	var diags hcl.Diagnostics
	for _, g := range given {
		n := 0
		for _, a := range all {
			if matchAddress(g, a) {
				out[a] = true
				n++
			}
		}
		if n == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No module matches " + flag,
				Detail: fmt.Sprintf("%s %s matches no module in the configuration or the state. "+
					"Use an address such as module.<group>.<name> or module.<group>.<name>[\"key\"]; "+
					"`nexus state list` shows the addresses the state knows.", flag, g),
			})
		}
	}
	return out, diags
}

// matchAddress reports whether the command-line address g selects the
// instance address a: equal, or g is a's block address.
func matchAddress(g, a string) bool {
	if g == a {
		return true
	}
	rest, ok := strings.CutPrefix(a, g)
	return ok && strings.HasPrefix(rest, "[")
}

// selectScope returns the addresses the plan may touch.
func selectScope(all []string, want map[string]*desired, st *state.State, newG, oldG *graph, opts Options) (map[string]bool, hcl.Diagnostics) {
	scope := make(map[string]bool, len(all))
	if len(opts.Targets) == 0 {
		for _, a := range all {
			scope[a] = true
		}
		return scope, nil
	}
	targets, diags := expandAddresses(opts.Targets, all, "-target")
	start := sortedKeys(targets)
	var next func(string) []string
	if opts.Destroy {
		next = func(a string) []string { return append(append([]string(nil), oldG.rall[a]...), newG.rall[a]...) }
	} else {
		next = func(a string) []string { return append(newG.deps(a), oldG.deps(a)...) }
	}
	for _, a := range closure(start, next) {
		scope[a] = true
	}
	return scope, diags
}

// pathString renders a cty path the way internal/redact names values:
// .name, .key or ["odd key"], [0].
func pathString(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			switch {
			case s.Key.Type() == cty.String:
				b.WriteString(redact.KeyStep(s.Key.AsString()))
			case s.Key.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
			}
		}
	}
	return b.String()
}
