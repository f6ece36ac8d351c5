package rbac

import (
	"strings"
	"testing"
)

// FuzzParsePattern checks that any string is either refused with an error
// or compiles to a pattern that grants what it names and nothing odd.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"*", "plan", "module.*", "module.load", "mod*", "a..b", "", ".", "a.*.b", "x.y.z.*", "ü.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pat, err := parsePattern(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error for %q", s)
			}
			return
		}
		g := compile([]pattern{pat})
		switch pat.kind {
		case matchAll:
			if s != "*" {
				t.Fatalf("%q compiled to match-all", s)
			}
		case matchExact:
			if !g.allows(s) || strings.Contains(s, "*") {
				t.Fatalf("exact %q: does not grant itself, or holds a wildcard", s)
			}
			if g.allows(s+".x") || g.allows(s+"x") {
				t.Fatalf("exact %q grants more than itself", s)
			}
		case matchPrefix:
			prefix := strings.TrimSuffix(s, "*")
			if !g.allows(prefix+"x") || g.allows(strings.TrimSuffix(prefix, ".")) || g.allows(prefix) {
				t.Fatalf("prefix %q grants the wrong things", s)
			}
		}
	})
}
