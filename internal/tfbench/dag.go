package tfbench

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ErrUnsupported is returned, wrapped, by ReadNexus for a topology the
// benchmark cannot translate for Terraform: a kind other than "target", or a
// construct other than a static depends_on list.
var ErrUnsupported = errors.New("unsupported by the Terraform benchmark")

// modulesPerFile is how many blocks one rendered Terraform file holds; the
// nexus generator splits its files the same way.
const modulesPerFile = 1000

// DAG is a dependency graph of named nodes. Node i depends on the nodes
// listed in Deps[i]. It is the part of a topology both tools understand.
type DAG struct {
	// Names are the node names, unique, in declaration order.
	Names []string
	// Deps are each node's dependencies, as indexes into Names, in the
	// order the depends_on list gives them.
	Deps [][]int
}

// Len is the number of nodes.
func (d *DAG) Len() int { return len(d.Names) }

// Edges is the number of dependency edges.
func (d *DAG) Edges() int {
	n := 0
	for _, deps := range d.Deps {
		n += len(deps)
	}
	return n
}

// nexusModule is one module block as ReadNexus reads it.
type nexusModule struct {
	addr, name string
	deps       []string // addresses
	rng        hcl.Range
}

// ReadNexus reads a nexus topology of `target` modules joined by depends_on
// lists, such as configtest.GenerateDAG writes, into a DAG named after the
// modules' second label. Files are read in name order; locals and nexus
// blocks are ignored. Anything else (another kind, a config block, a
// dependency that is not a module address) is an error wrapping
// ErrUnsupported; invalid HCL or a dependency on an undeclared module is an
// error that says where.
func ReadNexus(files map[string][]byte) (*DAG, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var mods []nexusModule
	for _, name := range names {
		m, err := readNexusFile(name, files[name])
		if err != nil {
			return nil, err
		}
		mods = append(mods, m...)
	}
	return buildDAG(mods)
}

var nexusFileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "module", LabelNames: []string{"group", "name"}},
	{Type: "locals"},
	{Type: "nexus"},
}}

var targetSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "kind", Required: true},
	{Name: "depends_on"},
}}

// readNexusFile reads the module blocks of one file.
func readNexusFile(name string, src []byte) ([]nexusModule, error) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("read %s: %w", name, diags)
	}
	content, diags := f.Body.Content(nexusFileSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("read %s: %w: %w", name, ErrUnsupported, diags)
	}
	var mods []nexusModule
	for _, b := range content.Blocks {
		if b.Type != "module" {
			continue
		}
		m, err := readTarget(b)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// readTarget reads one module block, which must be a target.
func readTarget(b *hcl.Block) (nexusModule, error) {
	m := nexusModule{
		addr: "module." + b.Labels[0] + "." + b.Labels[1],
		name: b.Labels[1],
		rng:  b.DefRange,
	}
	content, diags := b.Body.Content(targetSchema)
	if diags.HasErrors() {
		return m, fmt.Errorf("%s: %w: %w", m.addr, ErrUnsupported, diags)
	}
	kind, diags := content.Attributes["kind"].Expr.Value(nil)
	if diags.HasErrors() || kind.Type() != cty.String || !kind.IsKnown() || kind.IsNull() || kind.AsString() != "target" {
		return m, fmt.Errorf("%s: %w: only kind = \"target\" has a Terraform twin (terraform_data)", m.addr, ErrUnsupported)
	}
	a, ok := content.Attributes["depends_on"]
	if !ok {
		return m, nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		return m, fmt.Errorf("%s: depends_on: %w: %w", m.addr, ErrUnsupported, diags)
	}
	for _, e := range exprs {
		t, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() || len(t) != 3 || t.RootName() != "module" {
			return m, fmt.Errorf("%s: depends_on at %s: %w: want module.GROUP.NAME", m.addr, e.Range(), ErrUnsupported)
		}
		g, ok1 := t[1].(hcl.TraverseAttr)
		n, ok2 := t[2].(hcl.TraverseAttr)
		if !ok1 || !ok2 {
			return m, fmt.Errorf("%s: depends_on at %s: %w: want module.GROUP.NAME", m.addr, e.Range(), ErrUnsupported)
		}
		m.deps = append(m.deps, "module."+g.Name+"."+n.Name)
	}
	return m, nil
}

// buildDAG resolves the modules' dependency addresses to indexes.
func buildDAG(mods []nexusModule) (*DAG, error) {
	index := make(map[string]int, len(mods))
	byName := make(map[string]string, len(mods))
	d := &DAG{Names: make([]string, len(mods)), Deps: make([][]int, len(mods))}
	for i, m := range mods {
		if _, dup := index[m.addr]; dup {
			return nil, fmt.Errorf("%s: %s is declared twice", m.rng, m.addr)
		}
		if other, dup := byName[m.name]; dup {
			return nil, fmt.Errorf("%s: %s and %s share the name %q, which must be unique to name a terraform_data resource", m.rng, other, m.addr, m.name)
		}
		if !hclsyntax.ValidIdentifier(m.name) {
			return nil, fmt.Errorf("%s: %s: %w: %q is not a valid Terraform resource name", m.rng, m.addr, ErrUnsupported, m.name)
		}
		index[m.addr], byName[m.name] = i, m.addr
		d.Names[i] = m.name
	}
	for i, m := range mods {
		for _, dep := range m.deps {
			j, ok := index[dep]
			if !ok {
				return nil, fmt.Errorf("%s: %s depends on %s, which is not declared", m.rng, m.addr, dep)
			}
			d.Deps[i] = append(d.Deps[i], j)
		}
	}
	return d, nil
}

// Terraform renders the DAG as Terraform configuration: one
// `resource "terraform_data" NAME` per node with depends_on on its
// dependencies, in files "dag_000.tf", "dag_001.tf", … of at most 1,000
// resources each. The result is deterministic.
func (d *DAG) Terraform() map[string][]byte {
	files := make(map[string][]byte)
	var buf bytes.Buffer
	for i, name := range d.Names {
		fmt.Fprintf(&buf, "resource \"terraform_data\" %q {\n", name)
		if len(d.Deps[i]) > 0 {
			refs := make([]string, len(d.Deps[i]))
			for k, j := range d.Deps[i] {
				refs[k] = "terraform_data." + d.Names[j]
			}
			fmt.Fprintf(&buf, "  depends_on = [%s]\n", strings.Join(refs, ", "))
		}
		buf.WriteString("}\n\n")
		if (i+1)%modulesPerFile == 0 || i == len(d.Names)-1 {
			files[fmt.Sprintf("dag_%03d.tf", i/modulesPerFile)] = bytes.Clone(buf.Bytes())
			buf.Reset()
		}
	}
	return files
}
