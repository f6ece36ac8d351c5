package views

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/modules"
)

// valueRenderer renders cty values as HCL-like literals, with secret
// placeholders shown as references and sensitive values hidden.
type valueRenderer struct {
	hide *redact.Redactor
}

func newValueRenderer(paths []string, all bool) *valueRenderer {
	return &valueRenderer{hide: redact.New(paths, all)}
}

// render writes v at the given path and indent level.
func (r *valueRenderer) render(b *strings.Builder, path string, v cty.Value, indent int) {
	if r.hide.Hidden(path) {
		b.WriteString(redact.Sensitive)
		return
	}
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull():
		b.WriteString("null")
	case !v.IsKnown():
		b.WriteString("(known after apply)")
	case v.Type() == cty.String:
		b.WriteString(renderString(v.AsString()))
	case v.Type() == cty.Number:
		b.WriteString(v.AsBigFloat().Text('f', -1))
	case v.Type() == cty.Bool:
		fmt.Fprintf(b, "%t", v.True())
	case v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType():
		r.renderSeq(b, path, v, indent)
	case v.Type().IsMapType() || v.Type().IsObjectType():
		r.renderMap(b, path, v, indent)
	default:
		b.WriteString(v.GoString())
	}
}

func (r *valueRenderer) renderSeq(b *strings.Builder, path string, v cty.Value, indent int) {
	if v.LengthInt() == 0 {
		b.WriteString("[]")
		return
	}
	simple := true
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if t := e.Type(); !(t.IsPrimitiveType()) {
			simple = false
		}
	}
	if simple && v.LengthInt() <= 8 {
		b.WriteString("[")
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if i > 0 {
				b.WriteString(", ")
			}
			r.render(b, fmt.Sprintf("%s[%d]", path, i), e, indent)
		}
		b.WriteString("]")
		return
	}
	b.WriteString("[\n")
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		b.WriteString(strings.Repeat("  ", indent+1))
		r.render(b, fmt.Sprintf("%s[%d]", path, i), e, indent+1)
		b.WriteString(",\n")
	}
	b.WriteString(strings.Repeat("  ", indent) + "]")
}

func (r *valueRenderer) renderMap(b *strings.Builder, path string, v cty.Value, indent int) {
	keys := make([]string, 0, v.LengthInt())
	vals := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		keys = append(keys, k.AsString())
		vals[k.AsString()] = e
	}
	if len(keys) == 0 {
		b.WriteString("{}")
		return
	}
	sort.Strings(keys)
	width := 0
	for _, k := range keys {
		width = max(width, len(renderKey(k)))
	}
	b.WriteString("{\n")
	for _, k := range keys {
		rk := renderKey(k)
		fmt.Fprintf(b, "%s%-*s = ", strings.Repeat("  ", indent+1), width, rk)
		r.render(b, path+redact.KeyStep(k), vals[k], indent+1)
		b.WriteString("\n")
	}
	b.WriteString(strings.Repeat("  ", indent) + "}")
}

func renderKey(k string) string {
	if redact.IsIdent(k) {
		return k
	}
	return fmt.Sprintf("%q", k)
}

// renderString quotes s, showing a string that is exactly one secret
// reference as (secret: provider path#key), and references inside a larger
// string in place.
func renderString(s string) string {
	refs := modules.FindSecretRefs(s)
	if len(refs) == 1 && s == refs[0].Placeholder() {
		return "(secret: " + refs[0].String() + ")"
	}
	return fmt.Sprintf("%q", redact.String(s))
}

// renderValue renders v alone, at indent.
func (r *valueRenderer) renderValue(path string, v cty.Value, indent int) string {
	var b strings.Builder
	r.render(&b, path, v, indent)
	return b.String()
}
