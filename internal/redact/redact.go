// Package redact renders module config values for anything that leaves the
// daemon or reaches a reviewer: secret placeholders become "(secret:
// provider path#key)", values from sensitive variables and every value of a
// sensitive module become "(sensitive value)". Plans, API answers and logs
// all go through it, so there is one place that decides what is shown.
package redact

import (
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Sensitive is what a hidden value renders as.
const Sensitive = "(sensitive value)"

// Redactor hides values by path ("config.password", "config.env.TOKEN").
type Redactor struct {
	paths map[string]bool
	all   bool
}

// New returns a Redactor hiding the given paths, or everything when all is
// set (a module marked sensitive).
func New(paths []string, all bool) *Redactor {
	r := &Redactor{paths: make(map[string]bool, len(paths)), all: all}
	for _, p := range paths {
		r.paths[p] = true
	}
	return r
}

// Hidden reports whether the value at path is hidden.
func (r *Redactor) Hidden(path string) bool { return r.all || r.paths[path] }

// Object renders a config object as plain JSON-able values, attribute by
// attribute, with "config." paths.
func (r *Redactor) Object(v cty.Value) map[string]any {
	out := map[string]any{}
	for _, n := range AttrNames(v) {
		out[n] = r.Value("config."+n, v.GetAttr(n))
	}
	return out
}

// Value renders one value at path as plain JSON-able data.
func (r *Redactor) Value(path string, v cty.Value) any {
	if r.Hidden(path) {
		return Sensitive
	}
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull() || !v.IsKnown():
		return nil
	case v.Type() == cty.String:
		return String(v.AsString())
	case v.Type() == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			i, _ := bf.Int(new(big.Int))
			return json.Number(i.String())
		}
		f, _ := bf.Float64()
		return f
	case v.Type() == cty.Bool:
		return v.True()
	case v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType():
		out := []any{}
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			out = append(out, r.Value(path+"["+strconv.Itoa(i)+"]", e))
		}
		return out
	default:
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = r.Value(path+KeyStep(k.AsString()), e)
		}
		return out
	}
}

// String replaces secret placeholders in s with "(secret: provider path#key)".
func String(s string) string {
	if !strings.Contains(s, "⟦") {
		return s
	}
	out, _ := modules.ReplaceSecretRefs(s, func(ref modules.SecretRef) (string, error) {
		return "(secret: " + ref.String() + ")", nil
	})
	return out
}

// AttrNames returns an object's attribute names, sorted.
func AttrNames(v cty.Value) []string {
	if v == cty.NilVal || v.IsNull() || !v.Type().IsObjectType() {
		return nil
	}
	names := make([]string, 0, len(v.Type().AttributeTypes()))
	for n := range v.Type().AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// KeyStep renders a map key as a path step: .name or ["key"].
func KeyStep(k string) string {
	if IsIdent(k) {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// IsIdent reports whether s can be written bare as an HCL attribute name.
func IsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
