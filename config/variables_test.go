package config_test

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
)

// TestLoad_variablePrecedence checks which source of a value wins.
func TestLoad_variablePrecedence(t *testing.T) {
	const decl = "variable \"v\" {\n  default = \"default\"\n}\n"
	tests := map[string]struct {
		env      map[string]string
		auto     map[string]string // file name → source
		varFiles []config.File
		vars     []config.VarAssignment
		want     string
	}{
		"default":                 {want: "default"},
		"env over default":        {env: map[string]string{"NEXUS_VAR_v": "env"}, want: "env"},
		"auto file over env":      {env: map[string]string{"NEXUS_VAR_v": "env"}, auto: map[string]string{"a.auto.nexusvars.hcl": `v = "auto"`}, want: "auto"},
		"later auto file wins":    {auto: map[string]string{"b.auto.nexusvars.hcl": `v = "b"`, "a.auto.nexusvars.hcl": `v = "a"`}, want: "b"},
		"var file over auto":      {auto: map[string]string{"a.auto.nexusvars.hcl": `v = "auto"`}, varFiles: []config.File{{Name: "x.hcl", Src: []byte(`v = "file"`)}}, want: "file"},
		"later var file wins":     {varFiles: []config.File{{Name: "x.hcl", Src: []byte(`v = "x"`)}, {Name: "y.json", Src: []byte(`{"v": "y"}`)}}, want: "y"},
		"-var over var file":      {varFiles: []config.File{{Name: "x.hcl", Src: []byte(`v = "file"`)}}, vars: []config.VarAssignment{{Name: "v", Value: "flag"}}, want: "flag"},
		"later -var wins":         {vars: []config.VarAssignment{{Name: "v", Value: "1"}, {Name: "v", Value: "2"}}, want: "2"},
		"-var is literal for any": {vars: []config.VarAssignment{{Name: "v", Value: `"quoted"`}}, want: `"quoted"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := map[string][]byte{"main.nexus.hcl": []byte(decl)}
			for n, src := range tt.auto {
				files[n] = []byte(src)
			}
			opts := testOptions()
			if tt.env != nil {
				opts.Env = tt.env
			}
			opts.VarFiles, opts.Vars = tt.varFiles, tt.vars
			cfg, diags := config.Load("", files, opts)
			if len(diags) > 0 {
				t.Fatalf("got:\n%s\nwant: no diagnostics", describe(diags))
			}
			if got := cfg.Variables[0].Value; got != cty.StringVal(tt.want) {
				t.Errorf("got: %#v\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestLoad_variableTypes checks typed -var and NEXUS_VAR_ values (HCL
// expressions unless the type is string) and optional object attributes.
func TestLoad_variableTypes(t *testing.T) {
	src := `
variable "n" { type = number }
variable "b" { type = bool }
variable "s" { type = string }
variable "m" { type = map(string) }
variable "o" {
  type    = object({ name = string, port = optional(number, 8080) })
  default = { name = "web" }
}
`
	opts := testOptions()
	opts.Env = map[string]string{"NEXUS_VAR_n": "42", "NEXUS_VAR_s": "a b"}
	opts.Vars = []config.VarAssignment{{Name: "b", Value: "true"}, {Name: "m", Value: `{ k = "v" }`}}
	cfg := mustLoad(t, src, opts)
	want := map[string]cty.Value{
		"n": cty.NumberIntVal(42),
		"b": cty.True,
		"s": cty.StringVal("a b"),
		"m": cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		"o": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("web"), "port": cty.NumberIntVal(8080)}),
	}
	for _, v := range cfg.Variables {
		if !v.Value.RawEquals(want[v.Name]) {
			t.Errorf("got: %s = %#v\nwant: %#v", v.Name, v.Value, want[v.Name])
		}
	}
}
