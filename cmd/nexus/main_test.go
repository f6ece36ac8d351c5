package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// nexusBin is the binary under test, built once by TestMain.
var nexusBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "nexus-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nexusBin = filepath.Join(dir, "nexus")
	build := exec.Command("go", "build", "-o", nexusBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nexus:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary in dir with args, an environment without NEXUS_*
// variables (plus env), and stdin.
func run(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(nexusBin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEXUS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/nexus -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update if intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func quickstart(t *testing.T) string { return filepath.Join(repoRoot(t), "examples", "quickstart") }

func TestCLI_version(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "nexus 0.") {
		t.Errorf("got %d %q", r.code, r.stdout)
	}
}

func TestCLI_validateQuickstart(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "validate", quickstart(t))
	if r.code != 0 || !strings.Contains(r.stdout, "Success! The configuration is valid: 3 modules.") {
		t.Errorf("got exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// writeDir writes files into a new temp dir and returns it.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const twoMistakes = `module "a" "b" {
  kind = "target"
  colour = "blue"
}

module "a" "c" {
  kind = "nope"
}
`

func TestCLI_validateReportsEveryMistake(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.nexus.hcl": twoMistakes})
	r := run(t, dir, "", nil, "validate", "--no-color")
	if r.code != 1 {
		t.Fatalf("got exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Error: Unsupported argument", "main.nexus.hcl line 3", "Unsupported module kind", "main.nexus.hcl line 7"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCLI_validateJSON(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.nexus.hcl": twoMistakes})
	// The single-dash form Terraform users type.
	r := run(t, dir, "", nil, "validate", "-json")
	if r.code != 1 {
		t.Fatalf("got exit %d, want 1\n%s", r.code, r.stderr)
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Valid         bool   `json:"valid"`
		ErrorCount    int    `json:"error_count"`
		WarningCount  int    `json:"warning_count"`
		Diagnostics   []struct {
			Severity, Summary string
			Range             struct {
				Filename string
				Start    struct{ Line, Column int }
			}
			Snippet struct {
				Code      string
				StartLine int `json:"start_line"`
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if doc.Valid || doc.ErrorCount != 2 || doc.WarningCount != 0 || doc.FormatVersion != "1.0" {
		t.Errorf("got %+v", doc)
	}
	d := doc.Diagnostics[0]
	if d.Severity != "error" || d.Range.Start.Line != 3 || d.Range.Start.Column != 3 || !strings.Contains(d.Snippet.Code, "colour") {
		t.Errorf("got first diagnostic %+v", d)
	}
}

func TestCLI_fmt(t *testing.T) {
	messy := "module \"a\" \"b\" {\nkind=\"target\"\n    after = []\n}\n"
	dir := writeDir(t, map[string]string{"main.nexus.hcl": messy})
	r := run(t, dir, "", nil, "fmt", "-check", "-diff")
	if r.code != 3 || !strings.Contains(r.stdout, "main.nexus.hcl") || !strings.Contains(r.stdout, "+  kind  = \"target\"") {
		t.Fatalf("got exit %d, want 3 with a diff\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.nexus.hcl")); string(b) != messy {
		t.Error("fmt --check changed the file")
	}
	if r := run(t, dir, "", nil, "fmt"); r.code != 0 {
		t.Fatalf("fmt: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "", nil, "fmt", "--check"); r.code != 0 {
		t.Errorf("after fmt, --check exits %d", r.code)
	}
	r = run(t, dir, messy, nil, "fmt", "-")
	if r.code != 0 || r.stdout != "module \"a\" \"b\" {\n  kind  = \"target\"\n  after = []\n}\n" {
		t.Errorf("fmt - got %d %q", r.code, r.stdout)
	}
}

func TestCLI_graph(t *testing.T) {
	for _, format := range []string{"dot", "mermaid"} {
		r := run(t, t.TempDir(), "", nil, "graph", "--format", format, quickstart(t))
		if r.code != 0 {
			t.Fatalf("graph %s: exit %d %s", format, r.code, r.stderr)
		}
		golden(t, "graph."+format, r.stdout)
	}
}

func TestCLI_planOffline(t *testing.T) {
	work := t.TempDir()
	state := filepath.Join(work, "none.json")
	r := run(t, work, "", nil, "plan", "--no-color", "--state", state, quickstart(t))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	golden(t, "plan-quickstart.txt", r.stdout)

	r = run(t, work, "", nil, "plan", "-state="+state, "-detailed-exitcode", quickstart(t))
	if r.code != 2 {
		t.Errorf("-detailed-exitcode with changes: exit %d, want 2", r.code)
	}

	r = run(t, work, "", nil, "plan", "--state", state, "--json", "--out", "plan.out", "--var", "beat_interval=7s", quickstart(t))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Summary       struct{ Create int }
		Changes       []struct {
			Address string
			After   map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if doc.FormatVersion != "1.0" || doc.Summary.Create != 3 {
		t.Errorf("got %+v", doc)
	}
	for _, c := range doc.Changes {
		if c.Address == "module.vitals.heartbeat" && c.After["interval"] != "7s" {
			t.Errorf("--var did not reach the plan: %v", c.After)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "plan.out")); err != nil {
		t.Errorf("--out: %v", err)
	}
}

func TestCLI_planVariableValidation(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "plan", "--state", "x.json", "--var", "beat_interval=soon", quickstart(t))
	if r.code != 1 || !strings.Contains(r.stderr, "Use whole seconds") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
}

func TestCLI_noDaemonSaysWhatToDo(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "plan", quickstart(t))
	if r.code != 1 || !strings.Contains(r.stderr, "no nexus daemon answers at unix://.nexus/nexus.sock") ||
		!strings.Contains(r.stderr, "nexus daemon") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
}

func TestCLI_tokenHash(t *testing.T) {
	r := run(t, t.TempDir(), "test\n", nil, "token", "hash")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Errorf("got %d %q", r.code, r.stdout)
	}
}

func TestCLI_unknownCommand(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "frobnicate")
	if r.code != 1 || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("got %d %q", r.code, r.stderr)
	}
}

func TestCLI_statePushChecksTheProject(t *testing.T) {
	dir := t.TempDir()
	doc := `{"version":1,"lineage":"3c3e3593-1a22-4817-9cd8-20392567a836","serial":3,"project":"payments","modules":{}}`
	if err := os.WriteFile(filepath.Join(dir, "s.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, "", nil, "state", "push", "--project", "search", "s.json")
	if r.code != 1 || !strings.Contains(r.stderr, `holds the state of project "payments", not --project "search"`) {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
}

func TestCLI_upTakesNoApprovalFlags(t *testing.T) {
	r := run(t, t.TempDir(), "", nil, "up", "--auto-approve", ".")
	if r.code != 1 || !strings.Contains(r.stderr, "unknown flag: --auto-approve") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
}
