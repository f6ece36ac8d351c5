package config

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// TestGraph_components checks dependency order and cycle paths.
func TestGraph_components(t *testing.T) {
	tests := map[string]struct {
		n      int
		edges  [][2]int
		order  string // the components, dependencies first
		cycles []string
	}{
		"chain":          {n: 3, edges: [][2]int{{0, 1}, {1, 2}}, order: "[[2] [1] [0]]"},
		"independent":    {n: 3, order: "[[0] [1] [2]]"},
		"self loop":      {n: 2, edges: [][2]int{{1, 1}}, order: "[[0] [1]]", cycles: []string{"[1 1]"}},
		"cycle of three": {n: 4, edges: [][2]int{{0, 1}, {1, 2}, {2, 0}, {3, 0}}, order: "[[0 1 2] [3]]", cycles: []string{"[0 1 2 0]"}},
		"shortest path":  {n: 4, edges: [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {1, 0}}, order: "[[0 1 2 3]]", cycles: []string{"[0 1 0]"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			g := newGraph(tt.n)
			for _, e := range tt.edges {
				g.addEdge(e[0], e[1])
			}
			comps := g.components()
			if got := fmt.Sprint(comps); got != tt.order {
				t.Errorf("got: %s\nwant: %s", got, tt.order)
			}
			var cycles []string
			for _, c := range comps {
				if g.isCycle(c) {
					cycles = append(cycles, fmt.Sprint(g.cycle(c)))
				}
			}
			if !slices.Equal(cycles, tt.cycles) {
				t.Errorf("got: cycles %v\nwant: %v", cycles, tt.cycles)
			}
		})
	}
}

// TestGraph_deepChain checks that a long chain does not exhaust the stack.
func TestGraph_deepChain(t *testing.T) {
	const n = 200000
	g := newGraph(n)
	for i := 1; i < n; i++ {
		g.addEdge(i, i-1)
	}
	if comps := g.components(); len(comps) != n || comps[0][0] != 0 {
		t.Fatalf("got: %d components starting with %v\nwant: %d starting with [0]", len(comps), comps[0], n)
	}
}

// TestCheckRequiredVersion checks the build version's handling.
func TestCheckRequiredVersion(t *testing.T) {
	a := &hcl.Attribute{Name: "required_version", Expr: hcl.StaticExpr(cty.NilVal, hcl.Range{})}
	tests := map[string]struct {
		constraint, current string
		want                string // the diagnostic's summary, "" for none
	}{
		"satisfied":             {">= 0.1.0", "0.1.0", ""},
		"dev counts as release": {">= 0.1.0", "0.1.0-dev", ""},
		"git describe":          {"~> 0.1", "v0.1.0-3-gabc1234-dirty", ""},
		"too old":               {">= 0.2.0", "0.1.0-dev", "Unsupported nexus version"},
		"unversioned build":     {">= 9.0.0", "dev", ""},
		"bad constraint":        {"newest", "0.1.0", "Invalid required_version"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			diags := checkRequiredVersion(a, tt.constraint, tt.current)
			got := ""
			if len(diags) > 0 {
				got = diags[0].Summary
			}
			if got != tt.want {
				t.Errorf("got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}
