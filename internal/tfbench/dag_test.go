package tfbench_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/tfbench"
)

// TestDAG_sameEdgesForBothTools checks that the Terraform files have exactly
// the edges nexus's own loader sees in the generated topology.
func TestDAG_sameEdgesForBothTools(t *testing.T) {
	for _, n := range []int{1, 2, 3, 100, 1001} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			files := configtest.GenerateDAG(n, 42)
			dag, err := tfbench.ReadNexus(files)
			if err != nil {
				t.Fatalf("got: %v\nwant: no error", err)
			}
			if dag.Len() != n {
				t.Fatalf("got: %d nodes\nwant: %d", dag.Len(), n)
			}
			want := nexusEdges(t, files)
			got := terraformEdges(t, dag.Terraform())
			if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Errorf("got: Terraform edges %v\nwant: nexus edges %v", got, want)
			}
			if n > 2 && dag.Edges() != 2*n-3 {
				t.Errorf("got: %d edges\nwant: %d (two per module after the second)", dag.Edges(), 2*n-3)
			}
		})
	}
}

// nexusEdges loads the topology with config.Load and returns each module's
// name with its sorted dependency names.
func nexusEdges(t *testing.T, files map[string][]byte) map[string][]string {
	t.Helper()
	cfg, diags := config.Load("", files, config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		t.Fatalf("config.Load: got: %v\nwant: no errors", diags)
	}
	edges := make(map[string][]string, len(cfg.Modules))
	for _, m := range cfg.Modules {
		if m.Spec.Kind != "target" {
			t.Fatalf("got: kind %q for %s\nwant: target", m.Spec.Kind, m.Spec.Address)
		}
		deps := make([]string, 0, len(m.Spec.DependsOn))
		for _, d := range m.Spec.DependsOn {
			deps = append(deps, strings.TrimPrefix(d, "module.dag."))
		}
		slices.Sort(deps)
		edges[strings.TrimPrefix(m.Spec.Address, "module.dag.")] = deps
	}
	return edges
}

// terraformEdges parses the rendered Terraform files on their own and
// returns each terraform_data's name with its sorted dependency names.
func terraformEdges(t *testing.T, files map[string][]byte) map[string][]string {
	t.Helper()
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "resource", LabelNames: []string{"type", "name"}}}}
	edges := make(map[string][]string)
	for name, src := range files {
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: got: %v\nwant: valid HCL", name, diags)
		}
		content, diags := f.Body.Content(schema)
		if diags.HasErrors() {
			t.Fatalf("%s: got: %v\nwant: only resource blocks", name, diags)
		}
		for _, b := range content.Blocks {
			if b.Labels[0] != "terraform_data" {
				t.Fatalf("got: resource type %q\nwant: terraform_data", b.Labels[0])
			}
			attrs, _ := b.Body.JustAttributes()
			deps := []string{}
			if a, ok := attrs["depends_on"]; ok {
				for _, v := range a.Expr.Variables() {
					if v.RootName() != "terraform_data" {
						t.Fatalf("got: reference %q\nwant: terraform_data.NAME", v.RootName())
					}
					deps = append(deps, v[1].(hcl.TraverseAttr).Name)
				}
			}
			slices.Sort(deps)
			edges[b.Labels[1]] = deps
		}
	}
	return edges
}

func TestDAG_terraformIsDeterministic(t *testing.T) {
	a, errA := tfbench.ReadNexus(configtest.GenerateDAG(1001, 7))
	b, errB := tfbench.ReadNexus(configtest.GenerateDAG(1001, 7))
	if errA != nil || errB != nil {
		t.Fatalf("got: %v, %v\nwant: no errors", errA, errB)
	}
	fa, fb := a.Terraform(), b.Terraform()
	if !maps.EqualFunc(fa, fb, bytes.Equal) {
		t.Errorf("got: different files for the same seed\nwant: identical")
	}
	if got, want := slices.Sorted(maps.Keys(fa)), []string{"dag_000.tf", "dag_001.tf"}; !slices.Equal(got, want) {
		t.Errorf("got: files %v\nwant: %v", got, want)
	}
}

func TestReadNexus_errors(t *testing.T) {
	tests := map[string]struct {
		src         string
		unsupported bool
		want        string
	}{
		"exec kind": {
			src:         `module "g" "a" { kind = "exec" }`,
			unsupported: true, want: `only kind = "target"`,
		},
		"config block": {
			src:         `module "g" "a" {` + "\n" + `kind = "target"` + "\n" + `config {}` + "\n}",
			unsupported: true, want: "module.g.a",
		},
		"variable block": {
			src:         `variable "x" {}`,
			unsupported: true, want: "variable",
		},
		"reference into config": {
			src:         `module "g" "a" {` + "\n" + `kind = "target"` + "\n" + `depends_on = [module.g.b.config]` + "\n}",
			unsupported: true, want: "want module.GROUP.NAME",
		},
		"undeclared dependency": {
			src:  `module "g" "a" {` + "\n" + `kind = "target"` + "\n" + `depends_on = [module.g.b]` + "\n}",
			want: "module.g.b, which is not declared",
		},
		"same name in two groups": {
			src:  `module "g" "a" {` + "\n" + `kind = "target"` + "\n}\n" + `module "h" "a" {` + "\n" + `kind = "target"` + "\n}",
			want: `share the name "a"`,
		},
		"invalid HCL": {
			src:  `module "g" "a" {`,
			want: "read main.nexus.hcl",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tfbench.ReadNexus(map[string][]byte{"main.nexus.hcl": []byte(tt.src)})
			if err == nil {
				t.Fatalf("got: no error\nwant: an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v\nwant: an error containing %q", err, tt.want)
			}
			if got := errors.Is(err, tfbench.ErrUnsupported); got != tt.unsupported {
				t.Errorf("got: errors.Is(err, ErrUnsupported) = %v\nwant: %v", got, tt.unsupported)
			}
		})
	}
}

func FuzzReadNexus(f *testing.F) {
	for _, src := range configtest.GenerateDAG(5, 1) {
		f.Add(src)
	}
	f.Add([]byte(`module "g" "a" { kind = "target" }`))
	f.Add([]byte(`module "g" "a" { kind = 1 }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		dag, err := tfbench.ReadNexus(map[string][]byte{"f.nexus.hcl": src})
		if err != nil {
			return
		}
		for i, deps := range dag.Deps {
			for _, j := range deps {
				if j < 0 || j >= dag.Len() {
					t.Fatalf("got: node %d depends on index %d\nwant: an index below %d", i, j, dag.Len())
				}
			}
		}
		_ = dag.Terraform()
	})
}
