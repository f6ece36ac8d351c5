package config

import (
	"fmt"
	"sort"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// blockName is a module block's two labels.
type blockName struct{ group, name string }

// moduleBlock is one module block: what decodeModule reads from it without
// evaluating per instance, and what evalBlock makes of it.
type moduleBlock struct {
	blockName
	block   *hcl.Block
	addr    string // module.<group>.<name>
	index   int    // declaration order: a node of the module graph
	content *hcl.BodyContent

	kind     string
	manifest modules.Manifest
	// evaluable is false when the block cannot be expanded or evaluated
	// (missing or unknown kind, count with for_each); its mistakes are
	// reported, and what depends on it is skipped without more errors.
	evaluable bool
	// failed is set by any error about the block; its instances are then
	// left out of the result.
	failed bool

	config      *hcl.Block
	configAttrs hcl.Attributes
	nested      map[string]*nestedBlock // health, restart, limits, timeouts

	dependsOn, after []moduleRef
	modRefs          []moduleRef        // references in expressions: hard dependencies
	deps             []*moduleBlock     // graph edges: modRefs, depends_on and after
	badExprs         map[hcl.Range]bool // expressions with invalid references

	expanded  bool // instances are known
	instances []*instance
	value     cty.Value // what module.<group>.<name> evaluates to
}

// nestedBlock is a health, restart, limits or timeouts block.
type nestedBlock struct {
	block *hcl.Block
	attrs hcl.Attributes
}

var moduleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "kind"}, {Name: "version"}, {Name: "count"}, {Name: "for_each"}, {Name: "depends_on"}, {Name: "after"},
		{Name: "permissions"}, {Name: "sensitive"}, {Name: "state"}, {Name: "on_secret_change"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "config"}, {Type: "health"}, {Type: "restart"}, {Type: "limits"}, {Type: "timeouts"}},
}

// nestedSchemas are the schemas of a module block's fixed nested blocks.
var nestedSchemas = map[string]*hcl.BodySchema{
	"health":   attrSchema("http", "tcp", "exec", "interval", "timeout", "failure_threshold"),
	"restart":  attrSchema("policy", "max_attempts", "window", "backoff", "max_backoff"),
	"limits":   attrSchema("memory_mb", "cpu_percent"),
	"timeouts": attrSchema("start", "stop"),
}

func attrSchema(names ...string) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range names {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// declareModule records a module block, checking its labels and that its
// address is unique.
func (l *loader) declareModule(b *hcl.Block) {
	for i, what := range []string{"group", "name"} {
		if !validName(b.Labels[i]) {
			l.diags = l.diags.Append(errorDiag(rangePtr(b.LabelRanges[i]), "Invalid module "+what,
				"%q is not a valid module %s: use letters, digits, '_' and '-', starting with a letter, so that module.<group>.<name> can refer to it.", b.Labels[i], what))
			return
		}
	}
	name := blockName{b.Labels[0], b.Labels[1]}
	if first, dup := l.byName[name]; dup {
		l.diags = l.diags.Append(errorDiag(rangePtr(b.DefRange), "Duplicate module",
			"A module block %q %q was already declared at %s. Each module needs its own group and name.", name.group, name.name, position(first.block.DefRange)))
		return
	}
	mb := &moduleBlock{blockName: name, block: b, addr: "module." + name.group + "." + name.name, index: len(l.blocks)}
	l.blocks = append(l.blocks, mb)
	l.byName[name] = mb
}

// report appends diags to the load's and marks b failed when one is an error.
func (l *loader) report(b *moduleBlock, diags ...*hcl.Diagnostic) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			b.failed = true
		}
	}
	l.diags = l.diags.Extend(diags)
}

// decodeModule reads everything in a module block that does not vary per
// instance: its kind, the shape of its nested blocks, its dependencies and
// whether its references are valid.
func (l *loader) decodeModule(b *moduleBlock) {
	content, diags := b.block.Body.Content(moduleSchema)
	l.report(b, diags...)
	b.content = content
	b.evaluable = l.decodeKind(b)
	if content.Attributes["count"] != nil && content.Attributes["for_each"] != nil {
		l.report(b, errorDiag(rangePtr(content.Attributes["for_each"].NameRange), `Invalid combination of "count" and "for_each"`,
			`The "count" and "for_each" arguments are mutually exclusive: use count for a number of identical instances, for_each for one instance per key.`))
		b.evaluable = false
	}
	l.decodeNested(b)
	var ok bool
	if a := content.Attributes["depends_on"]; a != nil {
		if b.dependsOn, ok = l.staticModuleRefs(a); !ok {
			b.failed = true
		}
	}
	if a := content.Attributes["after"]; a != nil {
		if b.after, ok = l.staticModuleRefs(a); !ok {
			b.failed = true
		}
	}
	l.checkModuleRefs(b)
}

// decodeKind reads kind and version, which may refer to variables and
// locals but not vary per instance. It reports whether the kind is usable.
func (l *loader) decodeKind(b *moduleBlock) bool {
	a := b.content.Attributes["kind"]
	if a == nil {
		l.report(b, errorDiag(rangePtr(b.block.DefRange), "Missing required argument",
			`The argument "kind" is required: it says what the module is, like kind = "exec".`))
		return false
	}
	kind, ok := l.blockString(b, a)
	if !ok {
		return false
	}
	b.kind = kind
	var (
		m     modules.Manifest
		known bool
	)
	if l.opts.Registry != nil {
		m, known = l.opts.Registry.Manifest(kind)
	}
	if !known {
		if l.opts.AllowUnknownKinds {
			return true
		}
		kinds := l.kinds()
		l.report(b, errorDiag(rangePtr(a.Expr.Range()), "Unsupported module kind",
			"This nexus build has no module kind %q.%s The kinds it has are %s.", kind, didYouMean(kind, kinds), quotedList(kinds)))
		return false
	}
	b.manifest = m
	if v := b.content.Attributes["version"]; v != nil {
		if c, ok := l.blockString(b, v); ok {
			l.report(b, checkKindVersion(v, c, m)...)
		}
	}
	return true
}

func (l *loader) kinds() []string {
	if l.opts.Registry == nil {
		return nil
	}
	return l.opts.Registry.Kinds()
}

// checkKindVersion checks the kind's manifest version against a module
// block's version constraint.
func checkKindVersion(a *hcl.Attribute, constraint string, m modules.Manifest) hcl.Diagnostics {
	c, err := goversion.NewConstraint(constraint)
	if err != nil {
		return hcl.Diagnostics{errorDiag(rangePtr(a.Expr.Range()), "Invalid version constraint",
			"%q is not a version constraint: %s. Write one like \"1.0.0\", \">= 1.2\" or \"~> 1.0\".", constraint, err)}
	}
	v, err := goversion.NewVersion(m.Version)
	if err != nil || !c.Check(v) {
		return hcl.Diagnostics{errorDiag(rangePtr(a.Expr.Range()), "Unsupported kind version",
			"This nexus build has kind %q at version %s, which does not satisfy %q. Change the constraint, or use a nexus build with a matching version of the kind.",
			m.Kind, m.Version, constraint)}
	}
	return nil
}

// blockString evaluates a per-block string (kind, version) with variables
// and locals.
func (l *loader) blockString(b *moduleBlock, a *hcl.Attribute) (string, bool) {
	if _, ok := l.checkRefs(a.Expr, scope{blockArg: a.Name}); !ok {
		b.failed = true
		return "", false
	}
	ev := &evaluator{l: l, b: b, ctx: l.staticCtx}
	v, ok := ev.value(a, cty.String)
	if !ok || v.IsNull() {
		if !ev.unknown && ok {
			l.report(b, errorDiag(rangePtr(a.Expr.Range()), "Invalid value", "The %s argument must not be null.", a.Name))
		}
		b.failed = b.failed || ev.failed
		return "", false
	}
	if v.IsMarked() {
		l.report(b, errorDiag(rangePtr(a.Expr.Range()), "Sensitive value not allowed",
			"The %s argument cannot be derived from a sensitive variable: it is shown in plans.", a.Name))
		return "", false
	}
	return v.AsString(), true
}

// decodeNested reads the shape of the config, health, restart, limits and
// timeouts blocks: each at most once, attributes checked against a schema.
func (l *loader) decodeNested(b *moduleBlock) {
	b.nested = make(map[string]*nestedBlock)
	for _, nb := range b.content.Blocks {
		if first := l.firstNested(b, nb.Type); first != nil {
			l.report(b, errorDiag(rangePtr(nb.DefRange), fmt.Sprintf("Duplicate %s block", nb.Type),
				"A %s block was already given at %s. A module block has at most one.", nb.Type, position(first.DefRange)))
			continue
		}
		if nb.Type == "config" {
			b.config = nb
			b.configAttrs = l.decodeConfigBlock(b, nb)
			continue
		}
		content, diags := nb.Body.Content(nestedSchemas[nb.Type])
		l.report(b, diags...)
		b.nested[nb.Type] = &nestedBlock{block: nb, attrs: content.Attributes}
	}
	if h := b.nested["health"]; h != nil {
		l.checkHealthShape(b, h)
	}
}

func (l *loader) firstNested(b *moduleBlock, typ string) *hcl.Block {
	if typ == "config" {
		return b.config
	}
	if nb := b.nested[typ]; nb != nil {
		return nb.block
	}
	return nil
}

// checkHealthShape checks that a health block sets exactly one check.
func (l *loader) checkHealthShape(b *moduleBlock, h *nestedBlock) {
	var set []*hcl.Attribute
	for _, name := range []string{"http", "tcp", "exec"} {
		if a := h.attrs[name]; a != nil {
			set = append(set, a)
		}
	}
	switch {
	case len(set) == 0:
		l.report(b, errorDiag(rangePtr(h.block.DefRange), "Missing health check",
			`A health block sets exactly one check: http = "<url>", tcp = "<host:port>" or exec = ["<program>", ...].`))
	case len(set) > 1:
		sort.Slice(set, func(i, j int) bool { return set[i].Range.Start.Byte < set[j].Range.Start.Byte })
		l.report(b, errorDiag(rangePtr(set[1].NameRange), "Conflicting health checks",
			"A health block sets exactly one of http, tcp and exec, but this one also sets %s at %s. Keep one; add a probe module for another check.",
			set[0].Name, position(set[0].NameRange)))
	}
}

// checkModuleRefs checks the references of every expression in the block
// and collects its dependencies: the graph edges and the hard dependencies
// its references make.
func (l *loader) checkModuleRefs(b *moduleBlock) {
	attrs := b.content.Attributes
	inst := scope{modules: true, each: attrs["for_each"] != nil, count: attrs["count"] != nil}
	for name, a := range attrs {
		switch name {
		case "kind", "version", "depends_on", "after":
			// kind and version are checked by decodeKind; the lists are static.
		case "count", "for_each":
			l.checkBlockExpr(b, a.Expr, scope{modules: true})
		default:
			l.checkBlockExpr(b, a.Expr, inst)
		}
	}
	for _, a := range b.configAttrs {
		l.checkBlockExpr(b, a.Expr, inst)
	}
	for _, nb := range b.nested {
		for _, a := range nb.attrs {
			l.checkBlockExpr(b, a.Expr, inst)
		}
	}
	seen := make(map[*moduleBlock]bool)
	for _, refs := range [][]moduleRef{b.modRefs, b.dependsOn, b.after} {
		for _, r := range refs {
			if !seen[r.target] {
				seen[r.target] = true
				b.deps = append(b.deps, r.target)
			}
		}
	}
	sort.Slice(b.deps, func(i, j int) bool { return b.deps[i].index < b.deps[j].index })
}

func (l *loader) checkBlockExpr(b *moduleBlock, expr hcl.Expression, sc scope) {
	refs, ok := l.checkRefs(expr, sc)
	if !ok {
		if b.badExprs == nil {
			b.badExprs = make(map[hcl.Range]bool)
		}
		b.badExprs[expr.Range()] = true
		b.failed = true
	}
	b.modRefs = append(b.modRefs, refs.modules...)
}
