package config

import "sort"

// graph is a directed graph over the nodes 0..n-1, where an edge u→v means
// that u depends on v. Walks visit nodes and edges in index order, so every
// result is deterministic.
type graph struct {
	edges [][]int
}

func newGraph(n int) *graph { return &graph{edges: make([][]int, n)} }

func (g *graph) addEdge(u, v int) { g.edges[u] = append(g.edges[u], v) }

// components returns the strongly connected components (Tarjan), each
// sorted, in dependency order: a component comes after every component it
// depends on. A component of more than one node, or of one node with an edge
// to itself, is a cycle.
func (g *graph) components() [][]int {
	t := &tarjan{g: g, index: make([]int, len(g.edges)), low: make([]int, len(g.edges)), onStack: make([]bool, len(g.edges))}
	for i := range t.index {
		t.index[i] = -1
	}
	for u := range g.edges {
		if t.index[u] < 0 {
			t.visit(u)
		}
	}
	return t.comps
}

// isCycle reports whether comp, a component, is a cycle.
func (g *graph) isCycle(comp []int) bool {
	if len(comp) > 1 {
		return true
	}
	for _, v := range g.edges[comp[0]] {
		if v == comp[0] {
			return true
		}
	}
	return false
}

// cycle returns a shortest path from the first node of comp, a cycle, back
// to itself through comp: [a, b, c, a].
func (g *graph) cycle(comp []int) []int {
	in := make(map[int]bool, len(comp))
	for _, u := range comp {
		in[u] = true
	}
	start := comp[0]
	prev := map[int]int{}
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range g.edges[u] {
			if v == start {
				path := []int{start}
				for w := u; w != start; w = prev[w] {
					path = append(path, w)
				}
				// path is start, then the nodes back from u; reverse the tail.
				for i, j := 1, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return append(path, start)
			}
			if _, seen := prev[v]; !seen && in[v] {
				prev[v] = u
				queue = append(queue, v)
			}
		}
	}
	return []int{start, start} // unreachable for a cycle
}

type tarjan struct {
	g       *graph
	next    int
	index   []int
	low     []int
	onStack []bool
	stack   []int
	comps   [][]int
}

// visit is Tarjan's recursive step. Go stacks grow as needed, so a chain of
// tens of thousands of modules is fine.
func (t *tarjan) visit(u int) {
	t.index[u], t.low[u] = t.next, t.next
	t.next++
	t.stack = append(t.stack, u)
	t.onStack[u] = true
	for _, v := range t.g.edges[u] {
		switch {
		case t.index[v] < 0:
			t.visit(v)
			t.low[u] = min(t.low[u], t.low[v])
		case t.onStack[v]:
			t.low[u] = min(t.low[u], t.index[v])
		}
	}
	if t.low[u] != t.index[u] {
		return
	}
	var comp []int
	for {
		v := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.onStack[v] = false
		comp = append(comp, v)
		if v == u {
			break
		}
	}
	sort.Ints(comp)
	t.comps = append(t.comps, comp)
}
