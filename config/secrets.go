package config

import (
	"fmt"
	"slices"
	"sort"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/nexus-run/nexus/modules"
)

// secretFunc is secret(provider, path[, key]): a reference to a secret the
// daemon reads when the module starts. It returns the reference's
// placeholder string, never a value.
func (l *loader) secretFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Refers to a secret, by provider, path and optional key; the daemon reads its value when the module starts.",
		Params: []function.Parameter{
			{Name: "provider", Type: cty.String},
			{Name: "path", Type: cty.String},
		},
		VarParam: &function.Parameter{Name: "key", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 3 {
				return cty.NilVal, function.NewArgErrorf(3, "secret takes a provider, a path and an optional key: at most three arguments")
			}
			ref := modules.SecretRef{Provider: args[0].AsString(), Path: args[1].AsString()}
			if len(args) == 3 {
				ref.Key = args[2].AsString()
			}
			if i, err := l.checkSecretRef(ref); err != nil {
				return cty.NilVal, function.NewArgError(i, err)
			}
			return cty.StringVal(ref.Placeholder()), nil
		},
	})
}

// checkSecretRef validates ref, returning the index of the argument at fault.
func (l *loader) checkSecretRef(ref modules.SecretRef) (int, error) {
	if err := (modules.SecretRef{Provider: ref.Provider, Path: "x"}).Validate(); err != nil {
		return 0, err
	}
	if l.opts.SecretProviders != nil && !slices.Contains(l.opts.SecretProviders, ref.Provider) {
		known := slices.Sorted(slices.Values(l.opts.SecretProviders))
		hint := ""
		if s := suggest(ref.Provider, known); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		return 0, fmt.Errorf("the daemon has no secret provider %q%s; its providers are %s", ref.Provider, hint, quotedList(known))
	}
	if err := (modules.SecretRef{Provider: ref.Provider, Path: ref.Path}).Validate(); err != nil {
		return 1, err
	}
	if err := ref.Validate(); err != nil {
		return 2, fmt.Errorf("secret key %q must not contain '⟦', '⟧' or control characters", ref.Key)
	}
	return 0, nil
}

// secretRefs lists every secret reference in the strings of v (values and
// map keys), sorted and de-duplicated.
func secretRefs(v cty.Value) []modules.SecretRef {
	seen := make(map[modules.SecretRef]bool)
	_ = cty.Walk(v, func(p cty.Path, v cty.Value) (bool, error) {
		if len(p) > 0 {
			if idx, ok := p[len(p)-1].(cty.IndexStep); ok && idx.Key.Type().Equals(cty.String) {
				for _, r := range modules.FindSecretRefs(idx.Key.AsString()) {
					seen[r] = true
				}
			}
		}
		if v.IsKnown() && !v.IsNull() && v.Type().Equals(cty.String) {
			for _, r := range modules.FindSecretRefs(v.AsString()) {
				seen[r] = true
			}
		}
		return true, nil
	})
	if len(seen) == 0 {
		return nil
	}
	refs := make([]modules.SecretRef, 0, len(seen))
	for r := range seen {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Key < b.Key
	})
	return refs
}

// sensitivePaths returns the paths that carried the sensitive mark, sorted
// by their rendering.
func sensitivePaths(marks []cty.PathValueMarks) []cty.Path {
	var paths []cty.Path
	for _, pvm := range marks {
		if _, ok := pvm.Marks[sensitive]; ok {
			paths = append(paths, pvm.Path.Copy())
		}
	}
	sort.Slice(paths, func(i, j int) bool { return formatPath(paths[i]) < formatPath(paths[j]) })
	return paths
}

// formatPath renders a cty path as HCL would write it: .a["k"][0].
func formatPath(p cty.Path) string {
	s := ""
	for _, step := range p {
		switch st := step.(type) {
		case cty.GetAttrStep:
			s += "." + st.Name
		case cty.IndexStep:
			switch {
			case st.Key.Type().Equals(cty.String):
				s += fmt.Sprintf("[%q]", st.Key.AsString())
			case st.Key.Type().Equals(cty.Number):
				s += "[" + st.Key.AsBigFloat().Text('f', -1) + "]"
			default:
				s += "[?]"
			}
		}
	}
	return s
}
