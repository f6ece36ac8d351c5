package planner

import "sort"

// graph is a dependency graph over module addresses: an edge from a module
// to each module it depends on. Hard edges (depends_on and references)
// require the dependency to be started and ready; soft edges (after) only
// order.
type graph struct {
	hard, soft map[string][]string // module → its dependencies
	rhard      map[string][]string // module → its hard dependents
	rall       map[string][]string // module → all its dependents
}

func newGraph() *graph {
	return &graph{
		hard: map[string][]string{}, soft: map[string][]string{},
		rhard: map[string][]string{}, rall: map[string][]string{},
	}
}

func (g *graph) add(addr string, hard, soft []string) {
	g.hard[addr] = hard
	g.soft[addr] = soft
	for _, d := range hard {
		g.rhard[d] = append(g.rhard[d], addr)
		g.rall[d] = append(g.rall[d], addr)
	}
	for _, d := range soft {
		g.rall[d] = append(g.rall[d], addr)
	}
}

// deps returns every dependency of addr, hard then soft.
func (g *graph) deps(addr string) []string {
	return append(append([]string(nil), g.hard[addr]...), g.soft[addr]...)
}

// closure returns the given addresses plus everything reachable from them
// through next, sorted.
func closure(start []string, next func(string) []string) []string {
	seen := make(map[string]bool, len(start))
	stack := append([]string(nil), start...)
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[a] {
			continue
		}
		seen[a] = true
		stack = append(stack, next(a)...)
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// topoOrder returns the addresses ordered dependencies first (Kahn's
// algorithm, ties by address). Addresses on a cycle are left out; the
// config package reports cycles before a plan is made.
func (g *graph) topoOrder(addrs []string) []string {
	in := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		in[a] = true
	}
	indeg := make(map[string]int, len(addrs))
	for _, a := range addrs {
		for _, d := range g.deps(a) {
			if in[d] {
				indeg[a]++
			}
		}
	}
	var ready []string
	for _, a := range addrs {
		if indeg[a] == 0 {
			ready = append(ready, a)
		}
	}
	sort.Strings(ready)
	order := make([]string, 0, len(addrs))
	for len(ready) > 0 {
		a := ready[0]
		ready = ready[1:]
		order = append(order, a)
		for _, d := range g.rall[a] {
			if !in[d] {
				continue
			}
			if indeg[d]--; indeg[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return order
}
