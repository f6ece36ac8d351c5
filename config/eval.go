package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nexus-run/nexus/modules"
)

// instance is one expanded instance of a block.
type instance struct {
	key      instanceKey
	addr, id string
	// module is nil when the instance has errors (or depends on something
	// that has): it is then left out of the result.
	module *Module
	// value is what a reference to this instance evaluates to: an object
	// with config, id, address and kind; unknown when its config is.
	value cty.Value
}

// moduleOrder returns the blocks in dependency order, dependencies first.
// Each cycle is reported once, and its blocks are left out.
func (l *loader) moduleOrder() []*moduleBlock {
	g := newGraph(len(l.blocks))
	for _, b := range l.blocks {
		for _, d := range b.deps {
			g.addEdge(b.index, d.index)
		}
	}
	order := make([]*moduleBlock, 0, len(l.blocks))
	for _, comp := range g.components() {
		if g.isCycle(comp) {
			l.reportModuleCycle(g, comp)
			continue
		}
		order = append(order, l.blocks[comp[0]])
	}
	return order
}

func (l *loader) reportModuleCycle(g *graph, comp []int) {
	path := g.cycle(comp)
	addrs := make([]string, len(path))
	inPath := make(map[int]bool, len(path))
	for i, n := range path {
		addrs[i] = l.blocks[n].addr
		inPath[n] = true
	}
	detail := fmt.Sprintf("These modules depend on each other in a loop, through references, depends_on or after: %s. "+
		"Break the loop by removing one of those dependencies.", strings.Join(addrs, " → "))
	var others []string
	for _, n := range comp {
		if !inPath[n] {
			others = append(others, l.blocks[n].addr)
		}
	}
	if len(others) > 0 {
		detail += fmt.Sprintf(" Also in the same cycle: %s.", strings.Join(others, ", "))
	}
	first := l.blocks[comp[0]]
	for _, n := range comp {
		l.blocks[n].failed = true
	}
	l.diags = l.diags.Append(errorDiag(rangePtr(first.block.DefRange), "Dependency cycle", "%s", detail))
}

// evalBlock expands a block and evaluates each of its instances. Every block
// it depends on has been evaluated.
func (l *loader) evalBlock(b *moduleBlock) {
	b.value = cty.DynamicVal
	if !b.evaluable {
		return
	}
	modObj := l.moduleObject(b)
	keys, ok := l.expand(b, modObj)
	if !ok {
		return
	}
	b.expanded = true
	hard, soft := l.blockDependencies(b)
	for _, k := range keys {
		inst := l.evalInstance(b, k, modObj)
		if inst.module != nil {
			inst.module.Spec.DependsOn = slices.Clone(hard)
			inst.module.Spec.After = slices.Clone(soft)
		}
		b.instances = append(b.instances, inst)
	}
	if b.failed {
		for _, inst := range b.instances {
			inst.module = nil
		}
	}
	b.value = b.refValue()
}

// refValue is what module.<group>.<name> evaluates to: the instance object,
// a tuple of them (count) or an object of them by key (for_each).
func (b *moduleBlock) refValue() cty.Value {
	attrs := b.content.Attributes
	switch {
	case attrs["count"] != nil:
		vals := make([]cty.Value, len(b.instances))
		for i, inst := range b.instances {
			vals[i] = inst.value
		}
		return cty.TupleVal(vals)
	case attrs["for_each"] != nil:
		vals := make(map[string]cty.Value, len(b.instances))
		for _, inst := range b.instances {
			vals[inst.key.key] = inst.value
		}
		return cty.ObjectVal(vals)
	}
	return b.instances[0].value
}

// blockDependencies resolves the block's references, depends_on and after
// to instance addresses: hard (references and depends_on) and soft (after,
// less what is hard), each sorted.
func (l *loader) blockDependencies(b *moduleBlock) (hard, soft []string) {
	hardSet := make(map[string]bool)
	for _, r := range b.modRefs {
		for _, a := range l.refAddrs(b, r, false) {
			hardSet[a] = true
		}
	}
	for _, r := range b.dependsOn {
		for _, a := range l.refAddrs(b, r, true) {
			hardSet[a] = true
		}
	}
	softSet := make(map[string]bool)
	for _, r := range b.after {
		for _, a := range l.refAddrs(b, r, true) {
			if !hardSet[a] {
				softSet[a] = true
			}
		}
	}
	return sortedKeys(hardSet), sortedKeys(softSet)
}

// refAddrs returns the instance addresses a reference names: every instance
// of the block, or the one its index names. A static reference (depends_on,
// after) to an instance that does not exist is reported; in an expression,
// evaluation reports it.
func (l *loader) refAddrs(b *moduleBlock, r moduleRef, static bool) []string {
	t := r.target
	if !t.expanded {
		return []string{t.addr + keySuffix(r.key)} // t failed and said so
	}
	if r.key == cty.NilVal {
		addrs := make([]string, len(t.instances))
		for i, inst := range t.instances {
			addrs[i] = inst.addr
		}
		return addrs
	}
	for _, inst := range t.instances {
		if inst.key.matches(r.key) {
			return []string{inst.addr}
		}
	}
	if static {
		l.report(b, errorDiag(rangePtr(r.rng), "Reference to undeclared module instance",
			"%s has no instance %s: %s", t.addr, keySuffix(r.key), t.instancesHint()))
	}
	return nil
}

// instancesHint says how to refer to the block's instances.
func (b *moduleBlock) instancesHint() string {
	attrs := b.content.Attributes
	switch {
	case attrs["count"] != nil && len(b.instances) == 0:
		return "its count is 0."
	case attrs["count"] != nil:
		return fmt.Sprintf("it has count = %d, so its indexes run from 0 to %d.", len(b.instances), len(b.instances)-1)
	case attrs["for_each"] != nil && len(b.instances) == 0:
		return "its for_each is empty."
	case attrs["for_each"] != nil:
		keys := make([]string, len(b.instances))
		for i, inst := range b.instances {
			keys[i] = inst.key.key
		}
		return "its keys are " + quotedList(keys) + "."
	}
	return fmt.Sprintf("it has no count or for_each, so refer to it as %s.", b.addr)
}

// moduleObject is the `module` object for the block's expressions: only the
// blocks it refers to, so that evaluating n modules costs linear time.
func (l *loader) moduleObject(b *moduleBlock) cty.Value {
	groups := make(map[string]map[string]cty.Value)
	for _, r := range b.modRefs {
		t := r.target
		if groups[t.group] == nil {
			groups[t.group] = make(map[string]cty.Value)
		}
		v := t.value
		if v == cty.NilVal {
			v = cty.DynamicVal // in a cycle: never evaluated
		}
		groups[t.group][t.name] = v
	}
	obj := make(map[string]cty.Value, len(groups))
	for g, names := range groups {
		obj[g] = cty.ObjectVal(names)
	}
	return cty.ObjectVal(obj)
}

// instanceContext is the context of one instance's expressions.
func (l *loader) instanceContext(k instanceKey, modObj cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{"var": l.varObj, "local": l.localObj, "module": modObj}
	switch k.mode {
	case counted:
		vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(k.index))})
	case forEach:
		vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(k.key), "value": k.value})
	}
	return &hcl.EvalContext{Variables: vars, Functions: l.funcs}
}

// evalInstance evaluates one instance of a block into its Module.
func (l *loader) evalInstance(b *moduleBlock, k instanceKey, modObj cty.Value) *instance {
	inst := &instance{
		key:   k,
		addr:  b.addr + k.addrSuffix(),
		id:    b.group + "/" + b.name + k.idSuffix(),
		value: cty.DynamicVal,
	}
	ev := &evaluator{l: l, b: b, ctx: l.instanceContext(k, modObj)}
	spec := modules.Spec{
		Address:        inst.addr,
		ID:             inst.id,
		Kind:           b.kind,
		Version:        b.manifest.Version,
		DesiredState:   modules.DesiredStarted,
		OnSecretChange: modules.OnSecretRestart,
		Restart:        modules.DefaultRestartPolicy,
		Timeouts:       modules.DefaultTimeouts,
	}
	ev.settings(&spec)
	cfg := ev.config()
	if cfg == cty.NilVal {
		return inst
	}
	inst.value = cty.ObjectVal(map[string]cty.Value{
		"config":  cfg,
		"id":      cty.StringVal(inst.id),
		"address": cty.StringVal(inst.addr),
		"kind":    cty.StringVal(b.kind),
	})
	if ev.failed || ev.unknown {
		return inst
	}
	plain, marks := cfg.UnmarkDeepWithPaths()
	spec.Config = modules.NewConfig(plain)
	if !ev.validateConfig(spec.Config, inst.addr) {
		return inst
	}
	spec.Secrets = secretRefs(plain)
	inst.module = &Module{Spec: spec, Manifest: b.manifest, SensitivePaths: sensitivePaths(marks), DeclRange: b.block.DefRange}
	return inst
}

// evaluator evaluates the expressions of one block or instance.
type evaluator struct {
	l   *loader
	b   *moduleBlock
	ctx *hcl.EvalContext
	// failed is set by any error; unknown when a value depends on something
	// that failed earlier (and said so), which skips the instance silently.
	failed, unknown bool
}

func (e *evaluator) add(diags ...*hcl.Diagnostic) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			e.failed = true
		}
	}
	e.l.diags = e.l.diags.Extend(diags)
}

// value evaluates a and converts it to ty. It returns false when that fails
// or the value is not known; a null value is returned as is.
func (e *evaluator) value(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	if e.b.badExprs[a.Expr.Range()] {
		e.unknown = true
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(e.ctx)
	e.add(diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		e.unknown = true
		return cty.NilVal, false
	}
	conv, err := convert.Convert(v, ty)
	if err != nil {
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", a.Name, convertMessage(err, ty)))
		return cty.NilVal, false
	}
	return conv, true
}

// convertMessage explains a conversion error, naming the wanted type.
func convertMessage(err error, ty cty.Type) string {
	msg := err.Error()
	if strings.Contains(msg, ty.FriendlyNameForConstraint()) {
		return msg
	}
	return fmt.Sprintf("%s required, but %s", ty.FriendlyNameForConstraint(), msg)
}

func sortedKeys(set map[string]bool) []string {
	if len(set) == 0 {
		return nil
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
