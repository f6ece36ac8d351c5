package config

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// local is one local value.
type local struct {
	name  string
	attr  *hcl.Attribute
	index int       // declaration order: a node of the locals graph
	value cty.Value // unknown when it could not be evaluated
}

// localsScope: locals are evaluated once, before any module.
var localsScope = scope{
	noModules: "A local value cannot refer to a module: locals are evaluated before any module. Move the expression into the module block that needs it.",
}

// declareLocals records the attributes of a locals block, in source order.
func (l *loader) declareLocals(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = l.diags.Extend(diags)
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Range.Start.Byte < sorted[j].Range.Start.Byte })
	for _, a := range sorted {
		if !validName(a.Name) {
			l.diags = l.diags.Append(errorDiag(rangePtr(a.NameRange), "Invalid local value name",
				"%q is not a valid name: use letters, digits, '_' and '-', starting with a letter, so that local.<name> can refer to it.", a.Name))
			continue
		}
		if first, dup := l.locals[a.Name]; dup {
			l.diags = l.diags.Append(errorDiag(rangePtr(a.NameRange), "Duplicate local value",
				"A local value named %q was already declared at %s. Local value names must be unique within a topology.", a.Name, position(first.attr.NameRange)))
			continue
		}
		l.locals[a.Name] = &local{name: a.Name, attr: a, index: len(l.locals)}
	}
}

// evalLocals evaluates every local value in dependency order and builds the
// `local` object. A cycle is one diagnostic; its locals stay unknown.
func (l *loader) evalLocals() {
	byIndex := make([]*local, len(l.locals))
	for _, lv := range l.locals {
		byIndex[lv.index] = lv
	}
	g := newGraph(len(byIndex))
	refOK := make([]bool, len(byIndex))
	for i, lv := range byIndex {
		refs, ok := l.checkRefs(lv.attr.Expr, localsScope)
		refOK[i] = ok
		for _, dep := range refs.locals {
			g.addEdge(i, dep.index)
		}
	}
	vals := make(map[string]cty.Value, len(byIndex))
	for _, comp := range g.components() {
		if g.isCycle(comp) {
			l.reportLocalCycle(byIndex, g, comp)
			for _, i := range comp {
				byIndex[i].value = cty.DynamicVal
				vals[byIndex[i].name] = cty.DynamicVal
			}
			continue
		}
		lv := byIndex[comp[0]]
		lv.value = cty.DynamicVal
		if refOK[comp[0]] {
			lv.value = l.evalLocal(lv, g.edges[comp[0]], byIndex)
		}
		vals[lv.name] = lv.value
	}
	l.localObj = cty.ObjectVal(vals)
}

// evalLocal evaluates one local value with only the locals it refers to in
// its context, so that many locals cost linear time.
func (l *loader) evalLocal(lv *local, deps []int, byIndex []*local) cty.Value {
	refd := make(map[string]cty.Value, len(deps))
	for _, d := range deps {
		refd[byIndex[d].name] = byIndex[d].value
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": l.varObj, "local": cty.ObjectVal(refd)},
		Functions: l.funcs,
	}
	v, diags := lv.attr.Expr.Value(ctx)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

func (l *loader) reportLocalCycle(byIndex []*local, g *graph, comp []int) {
	path := g.cycle(comp)
	names := make([]string, len(path))
	for i, n := range path {
		names[i] = "local." + byIndex[n].name
	}
	first := byIndex[comp[0]]
	l.diags = l.diags.Append(errorDiag(rangePtr(first.attr.NameRange), "Dependency cycle",
		"These local values refer to each other in a loop: %s. Break the loop by removing one of the references.", strings.Join(names, " → ")))
}
