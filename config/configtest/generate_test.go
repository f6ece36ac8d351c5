package configtest_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/builtin"
)

// TestGenerate_validAndDeterministic checks that the generated topologies
// load without diagnostics, with the promised edges, and that a seed always
// gives the same files.
func TestGenerate_validAndDeterministic(t *testing.T) {
	for name, gen := range map[string]func(int, int64) map[string][]byte{
		"GenerateDAG": configtest.GenerateDAG, "GenerateRefDAG": configtest.GenerateRefDAG,
	} {
		t.Run(name, func(t *testing.T) {
			files := gen(1200, 7)
			if again := gen(1200, 7); !maps.EqualFunc(files, again, slices.Equal) {
				t.Fatal("got: different files for one seed\nwant: the same")
			}
			if len(files) != 2 {
				t.Errorf("got: %d files\nwant: 2 (1,000 modules each at most)", len(files))
			}
			cfg, diags := config.Load("", files, config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
			if len(diags) > 0 {
				t.Fatalf("got:\n%s\nwant: no diagnostics", diags.Error())
			}
			if len(cfg.Modules) != 1200 {
				t.Fatalf("got: %d modules\nwant: 1200", len(cfg.Modules))
			}
			for i, m := range cfg.Modules {
				want := min(i, 2)
				if len(m.Spec.DependsOn) != want {
					t.Errorf("got: %s depends on %v\nwant: %d earlier modules", m.Spec.Address, m.Spec.DependsOn, want)
				}
				for _, d := range m.Spec.DependsOn {
					if d >= m.Spec.Address {
						t.Errorf("got: %s depends on %s\nwant: only earlier modules", m.Spec.Address, d)
					}
				}
			}
		})
	}
}
