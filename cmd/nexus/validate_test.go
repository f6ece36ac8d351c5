package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestCLI_validateEveryMistake runs the built binary's `validate -json` on
// each bad-input fixture of the config package and checks the exit code and
// the first diagnostic's summary and range, as a CI job would read them.
func TestCLI_validateEveryMistake(t *testing.T) {
	tests := map[string]struct {
		summary   string
		line, col int
	}{
		"unknown_block":            {"Unsupported block type", 5, 1},
		"unknown_attribute_top":    {"Unsupported argument", 1, 1},
		"unknown_attribute_module": {"Unsupported argument", 3, 3},
		"unknown_attribute_config": {"Unsupported argument", 5, 5},
		"wrong_type":               {"Incorrect attribute value type", 5, 15},
		"unknown_kind":             {"Unsupported module kind", 2, 10},
		"undeclared_variable":      {"Reference to undeclared input variable", 4, 14},
		"undeclared_local":         {"Reference to undeclared local value", 8, 24},
		"undeclared_module":        {"Reference to undeclared module", 12, 24},
		"depends_on_missing":       {"Reference to undeclared module", 7, 37},
		"cycle":                    {"Dependency cycle", 1, 1},
		"duplicate_same_file":      {"Duplicate variable", 5, 1},
		"for_each_list":            {"Invalid for_each argument", 2, 14},
		"for_each_number":          {"Invalid for_each argument", 2, 14},
		"count_and_for_each":       {`Invalid combination of "count" and "for_each"`, 3, 3},
		"validation_failed":        {"Invalid value for variable", 3, 13},
		"required_variable":        {"No value for required variable", 1, 1},
		"secret_bad_provider":      {"Invalid function argument", 5, 23},
		"secret_dotdot":            {"Invalid function argument", 5, 31},
		"bad_duration":             {"Invalid duration", 7, 13},
		"two_health_checks":        {"Conflicting health checks", 8, 5},
		"invalid_state":            {"Invalid state value", 3, 11},
		"five_mistakes":            {"Unsupported argument", 3, 3},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(repoRoot(t), "config", "testdata", name)
			r := run(t, t.TempDir(), "", nil, "validate", "-json", dir)
			if r.code != 1 {
				t.Fatalf("got exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			var doc struct {
				Valid       bool
				Diagnostics []struct {
					Summary string
					Range   struct{ Start struct{ Line, Column int } }
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Diagnostics) == 0 {
				t.Fatalf("got %v, output %s", err, r.stdout)
			}
			d := doc.Diagnostics[0]
			if doc.Valid || d.Summary != tt.summary || d.Range.Start.Line != tt.line || d.Range.Start.Column != tt.col {
				t.Errorf("got %q at %d:%d (valid=%t), want %q at %d:%d", d.Summary, d.Range.Start.Line, d.Range.Start.Column, doc.Valid, tt.summary, tt.line, tt.col)
			}
		})
	}
}
