package config

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// scope says which references an expression may make.
type scope struct {
	// modules allows module.<group>.<name>; noModules explains why not,
	// or blockArg names the per-block argument (kind, version) that may not.
	modules   bool
	noModules string
	blockArg  string
	// each and count allow each.* and count.index.
	each, count bool
}

// references are what an expression refers to, once checked.
type references struct {
	locals  []*local
	modules []moduleRef
}

// moduleRef is a reference to a module block, or to one instance of it when
// key is set (a number for count, a string for for_each).
type moduleRef struct {
	target *moduleBlock
	key    cty.Value
	rng    hcl.Range
}

// checkRefs checks every reference of expr against sc and the declared
// variables, locals and modules. ok is false when any is invalid; the
// expression must then not be evaluated (that would only repeat the error).
func (l *loader) checkRefs(expr hcl.Expression, sc scope) (refs references, ok bool) {
	ok = true
	for _, t := range expr.Variables() {
		if d := l.checkRef(t, sc, &refs); d != nil {
			l.diags = l.diags.Append(d)
			ok = false
		}
	}
	return refs, ok
}

func (l *loader) checkRef(t hcl.Traversal, sc scope, refs *references) *hcl.Diagnostic {
	rng := rangePtr(t.SourceRange())
	root := t.RootName()
	switch root {
	case "var":
		name, ok := attrStep(t, 1)
		if !ok {
			return errorDiag(rng, "Invalid reference", "The var object must be followed by a variable name, like var.region.")
		}
		if _, ok := l.variables[name]; !ok {
			return errorDiag(rng, "Reference to undeclared input variable",
				"No variable %q is declared. Declare it with a variable block.%s", name, didYouMean(name, l.variableNames()))
		}
	case "local":
		name, ok := attrStep(t, 1)
		if !ok {
			return errorDiag(rng, "Invalid reference", "The local object must be followed by a local value's name, like local.bus_addr.")
		}
		lv, ok := l.locals[name]
		if !ok {
			return errorDiag(rng, "Reference to undeclared local value",
				"No local value %q is declared. Declare it in a locals block.%s", name, didYouMean(name, l.localNames()))
		}
		refs.locals = append(refs.locals, lv)
	case "module":
		if !sc.modules {
			if sc.blockArg != "" {
				return errorDiag(rng, "Invalid reference",
					"The %s argument cannot refer to a module: it must be known before any module is evaluated.", sc.blockArg)
			}
			return errorDiag(rng, "Invalid reference", "%s", sc.noModules)
		}
		ref, d := l.moduleRef(t)
		if d != nil {
			return d
		}
		refs.modules = append(refs.modules, ref)
	case "each":
		if !sc.each {
			return errorDiag(rng, `Reference to "each" in context without for_each`,
				"The each object can be used only inside a module block that has for_each.")
		}
		if name, ok := attrStep(t, 1); !ok || (name != "key" && name != "value") {
			return errorDiag(rng, "Invalid reference", "The each object has two attributes: each.key and each.value.")
		}
	case "count":
		if !sc.count {
			return errorDiag(rng, `Reference to "count" in non-counted context`,
				"The count object can be used only inside a module block that has count.")
		}
		if name, ok := attrStep(t, 1); !ok || name != "index" {
			return errorDiag(rng, "Invalid reference", "The count object has one attribute: count.index.")
		}
	default:
		return errorDiag(rng, "Invalid reference",
			"There is nothing named %q: a reference starts with var., local., module., each. or count.", root)
	}
	return nil
}

// moduleRef resolves module.<group>.<name>, with an optional static index.
func (l *loader) moduleRef(t hcl.Traversal) (moduleRef, *hcl.Diagnostic) {
	rng := t.SourceRange()
	group, ok1 := attrStep(t, 1)
	name, ok2 := attrStep(t, 2)
	if !ok1 || !ok2 {
		return moduleRef{}, errorDiag(&rng, "Invalid reference",
			"A module reference names the module's group and name: module.<group>.<name>, like module.synapse.bus.")
	}
	target, ok := l.byName[blockName{group, name}]
	if !ok {
		return moduleRef{}, errorDiag(&rng, "Reference to undeclared module",
			"No module block %q %q is declared.%s", group, name, didYouMean(fmt.Sprintf("module.%s.%s", group, name), l.moduleAddrs()))
	}
	ref := moduleRef{target: target, rng: rng}
	if len(t) > 3 {
		if idx, ok := t[3].(hcl.TraverseIndex); ok {
			ref.key = idx.Key
		}
	}
	return ref, nil
}

// attrStep returns the name of t[i] when it is an attribute step.
func attrStep(t hcl.Traversal, i int) (string, bool) {
	if len(t) <= i {
		return "", false
	}
	a, ok := t[i].(hcl.TraverseAttr)
	return a.Name, ok
}

// staticModuleRefs decodes depends_on or after: a list of module addresses,
// module.g.n, module.g.n[0] or module.g.n["k"].
func (l *loader) staticModuleRefs(a *hcl.Attribute) ([]moduleRef, bool) {
	exprs, diags := hcl.ExprList(a.Expr)
	l.diags = l.diags.Extend(diags)
	ok := !diags.HasErrors()
	var refs []moduleRef
	for _, e := range exprs {
		t, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() || t.RootName() != "module" || !validStaticRef(t) {
			l.diags = l.diags.Append(errorDiag(rangePtr(e.Range()), fmt.Sprintf("Invalid %s reference", a.Name),
				"The %s list holds module addresses, like module.synapse.bus, module.tasks.report[0] or module.tasks.report[\"daily\"].", a.Name))
			ok = false
			continue
		}
		ref, d := l.moduleRef(t)
		if d != nil {
			l.diags = l.diags.Append(d)
			ok = false
			continue
		}
		refs = append(refs, ref)
	}
	return refs, ok
}

// validStaticRef reports whether t is module.g.n with at most one index step
// holding a whole number or a string.
func validStaticRef(t hcl.Traversal) bool {
	_, ok1 := attrStep(t, 1)
	_, ok2 := attrStep(t, 2)
	switch {
	case !ok1 || !ok2 || len(t) > 4:
		return false
	case len(t) == 3:
		return true
	}
	idx, ok := t[3].(hcl.TraverseIndex)
	if !ok || idx.Key.IsNull() || !idx.Key.IsKnown() {
		return false
	}
	switch ty := idx.Key.Type(); {
	case ty.Equals(cty.String):
		return true
	case ty.Equals(cty.Number):
		return idx.Key.AsBigFloat().IsInt()
	}
	return false
}

func (l *loader) moduleAddrs() []string {
	addrs := make([]string, 0, len(l.blocks))
	for _, b := range l.blocks {
		addrs = append(addrs, b.addr)
	}
	return addrs
}

func (l *loader) localNames() []string {
	names := make([]string, 0, len(l.locals))
	for name := range l.locals {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// validName reports whether s is an HCL identifier, so that a reference can
// name it. Plain ASCII names, the common case, are checked without HCL's
// Unicode machinery.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && ('0' <= c && c <= '9' || c == '-')) {
			return hclsyntax.ValidIdentifier(s)
		}
	}
	return s != ""
}
