package config_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/nexus-run/nexus/config"
)

// TestLoadDir_badInput loads each bad fixture in testdata and checks every
// diagnostic's summary and subject, and that nothing else is reported.
func TestLoadDir_badInput(t *testing.T) {
	const main = "main.nexus.hcl"
	tests := map[string]struct {
		opts func(*config.Options)
		want []wantDiag
	}{
		"unknown_block": {want: []wantDiag{
			{summary: "Unsupported block type", file: main, line: 5, col: 1, detail: `"resource"`}}},
		"unknown_attribute_top": {want: []wantDiag{
			{summary: "Unsupported argument", file: main, line: 1, col: 1, detail: `"projekt"`}}},
		"unknown_attribute_module": {want: []wantDiag{
			{summary: "Unsupported argument", file: main, line: 3, col: 3, detail: `Did you mean "depends_on"?`}}},
		"unknown_attribute_config": {want: []wantDiag{
			{summary: "Unsupported argument", file: main, line: 5, col: 5, detail: `Did you mean "interval"?`}}},
		"wrong_type": {want: []wantDiag{
			{summary: "Incorrect attribute value type", file: main, line: 5, col: 15, detail: "map of string required"}}},
		"unknown_kind": {want: []wantDiag{
			{summary: "Unsupported module kind", file: main, line: 2, col: 10, detail: `Did you mean "exec"?`}}},
		"undeclared_variable": {want: []wantDiag{
			{summary: "Reference to undeclared input variable", file: main, line: 4, col: 14, detail: `"beat_target"`}}},
		"undeclared_local": {want: []wantDiag{
			{summary: "Reference to undeclared local value", file: main, line: 8, col: 24, detail: `Did you mean "bus_addr"?`}}},
		"undeclared_module": {want: []wantDiag{
			{summary: "Reference to undeclared module", file: main, line: 12, col: 24, detail: `Did you mean "module.synapse.bus"?`}}},
		"depends_on_missing": {want: []wantDiag{
			{summary: "Reference to undeclared module", file: main, line: 7, col: 37, detail: `"synapse" "cache"`}}},
		"cycle": {want: []wantDiag{
			{summary: "Dependency cycle", file: main, line: 1, col: 1,
				detail: "module.a.x → module.b.y → module.c.z → module.a.x"}}},
		"duplicate_same_file": {want: []wantDiag{
			{summary: "Duplicate variable", file: main, line: 5, col: 1, detail: "main.nexus.hcl:1."},
			{summary: "Duplicate local value", file: main, line: 14, col: 3, detail: "main.nexus.hcl:10."},
			{summary: "Duplicate module", file: main, line: 21, col: 1, detail: "main.nexus.hcl:17."},
		}},
		"duplicate_across_files": {want: []wantDiag{
			{summary: "Duplicate module", file: "b.nexus.hcl", line: 5, col: 1,
				detail: filepath.Join("testdata", "duplicate_across_files", "a.nexus.hcl") + ":1."}}},
		"for_each_list": {want: []wantDiag{
			{summary: "Invalid for_each argument", file: main, line: 2, col: 14, detail: "toset("}}},
		"for_each_number": {want: []wantDiag{
			{summary: "Invalid for_each argument", file: main, line: 2, col: 14, detail: "is a number"}}},
		"count_and_for_each": {want: []wantDiag{
			{summary: `Invalid combination of "count" and "for_each"`, file: main, line: 3, col: 3}}},
		"validation_failed": {want: []wantDiag{
			{summary: "Invalid value for variable", file: main, line: 3, col: 13, detail: `Use whole seconds, like "10s".`}}},
		"required_variable": {want: []wantDiag{
			{summary: "No value for required variable", file: main, line: 1, col: 1, detail: "NEXUS_VAR_beat_target"}}},
		"secret_bad_provider": {want: []wantDiag{
			{summary: "Invalid function argument", file: main, line: 5, col: 23, detail: `"Vault"`}}},
		"secret_dotdot": {want: []wantDiag{
			{summary: "Invalid function argument", file: main, line: 5, col: 31, detail: `".."`}}},
		"secret_unknown_provider": {
			opts: func(o *config.Options) { o.SecretProviders = []string{"vault", "file", "env"} },
			want: []wantDiag{
				{summary: "Invalid function argument", file: main, line: 5, col: 23, detail: `(did you mean "vault"?)`}}},
		"bad_duration": {want: []wantDiag{
			{summary: "Invalid duration", file: main, line: 7, col: 13, detail: `"30 seconds"`}}},
		"two_health_checks": {want: []wantDiag{
			{summary: "Conflicting health checks", file: main, line: 8, col: 5, detail: "also sets http"}}},
		"invalid_state": {want: []wantDiag{
			{summary: "Invalid state value", file: main, line: 3, col: 11, detail: `"started" or "stopped"`}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			cfg, diags := config.LoadDir(filepath.Join("testdata", name), opts)
			assertDiags(t, diags, tt.want...)
			for _, d := range diags {
				if d.Subject != nil && cfg.Files[d.Subject.Filename] == nil {
					t.Errorf("got: subject file %q missing from Config.Files\nwant: every subject's file there, for snippets", d.Subject.Filename)
				}
			}
		})
	}
}

// TestLoadDir_fiveMistakes checks that one file with five different
// mistakes yields all five, and nothing more.
func TestLoadDir_fiveMistakes(t *testing.T) {
	const main = "main.nexus.hcl"
	_, diags := config.LoadDir(filepath.Join("testdata", "five_mistakes"), testOptions())
	assertDiags(t, diags,
		wantDiag{summary: "Unsupported argument", file: main, line: 3, col: 3, detail: `"colour"`},
		wantDiag{summary: "Invalid state value", file: main, line: 4, col: 13, detail: `"paused"`},
		wantDiag{summary: "Incorrect attribute value type", file: main, line: 6, col: 15, detail: "list of string required"},
		wantDiag{summary: "Invalid duration", file: main, line: 9, col: 15, detail: `"soon"`},
		wantDiag{summary: "Reference to undeclared module", file: main, line: 15, col: 17, detail: `"app" "missing"`},
	)
}

// TestLoadDir_cycleLeavesOthers checks that the modules of a cycle are left
// out, with no further errors, and the rest loads.
func TestLoadDir_cycleLeavesOthers(t *testing.T) {
	cfg, _ := config.LoadDir(filepath.Join("testdata", "cycle"), testOptions())
	got := addresses(cfg)
	want := []string{"module.d.ok", "module.e.downstream"}
	if !slices.Equal(got, want) {
		t.Fatalf("got: %v\nwant: %v", got, want)
	}
}
