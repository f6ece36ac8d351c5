package examples_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ciWorkflow reads and parses examples/ci/<name>, and checks that PyYAML
// (when installed) reads the same tree.
func ciWorkflow(t *testing.T, name string) map[string]any {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(example("ci"), name))
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseYAML(string(src))
	if err != nil {
		t.Fatalf("examples/ci/%s: %v", name, err)
	}
	if py, ok := pyYAML(t, string(src)); ok {
		mine := normalize(v).(map[string]any)
		if on, ok := mine["on"]; ok { // YAML 1.1 reads a bare `on` key as true
			delete(mine, "on")
			mine["true"] = on
		}
		if !reflect.DeepEqual(mine, py) {
			t.Errorf("examples/ci/%s: this test's parser and PyYAML read different trees", name)
		}
	} else {
		t.Logf("python3 with PyYAML is not installed; %s checked with this test's YAML parser only", name)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("examples/ci/%s is not a mapping", name)
	}
	return m
}

// get walks a parsed YAML tree by keys and indexes ("jobs", "plan",
// "steps"), failing the test when the path is missing or mistyped.
func get[T any](t *testing.T, v any, path ...any) T {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: %q is not in a mapping", path, k)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = s[k]
		}
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%v: got %T, want %T", path, v, out)
	}
	return out
}

func TestCI_githubActionsStructure(t *testing.T) {
	wf := ciWorkflow(t, "github-actions.yml")
	on := get[map[string]any](t, wf, "on")
	for _, event := range []string{"pull_request", "push"} {
		if _, ok := on[event]; !ok {
			t.Errorf("on: no %s trigger", event)
		}
	}
	jobs := get[map[string]any](t, wf, "jobs")
	for name := range jobs {
		steps := get[[]any](t, jobs, name, "steps")
		for i := range steps {
			step := get[map[string]any](t, steps, i)
			_, uses := step["uses"]
			_, runs := step["run"]
			if uses == runs {
				t.Errorf("jobs.%s.steps[%d]: want exactly one of uses and run, got %v", name, i, step)
			}
			if runs {
				if _, ok := step["run"].(string); !ok {
					t.Errorf("jobs.%s.steps[%d].run is not a string: %#v", name, i, step["run"])
				}
			}
		}
		if _, ok := get[map[string]any](t, jobs, name)["runs-on"]; !ok {
			t.Errorf("jobs.%s has no runs-on", name)
		}
	}
	if got := get[string](t, jobs, "apply", "needs"); got != "plan" {
		t.Errorf("jobs.apply.needs = %q, want plan", got)
	}
	if got := get[string](t, jobs, "apply", "environment"); got != "production" {
		t.Errorf("jobs.apply.environment = %q, want production: applying waits for its approval", got)
	}
}

// gitlabJobs returns the jobs of a GitLab CI file: its keys that are not
// global keywords.
func gitlabJobs(t *testing.T, ci map[string]any) map[string]map[string]any {
	t.Helper()
	global := map[string]bool{"stages": true, "variables": true, "default": true, "include": true, "workflow": true}
	jobs := map[string]map[string]any{}
	for name := range ci {
		if !global[name] && !strings.HasPrefix(name, ".") {
			jobs[name] = get[map[string]any](t, ci, name)
		}
	}
	return jobs
}

func TestCI_gitlabStructure(t *testing.T) {
	ci := ciWorkflow(t, "gitlab-ci.yml")
	stages := map[string]bool{}
	for _, s := range get[[]any](t, ci, "stages") {
		stages[s.(string)] = true
	}
	jobs := gitlabJobs(t, ci)
	if len(jobs) != 3 {
		t.Errorf("got jobs %v, want nexus:check, nexus:plan and nexus:apply", sortedKeys(jobs))
	}
	for name, job := range jobs {
		if st, _ := job["stage"].(string); !stages[st] {
			t.Errorf("%s: stage %q is not in stages", name, st)
		}
		for _, key := range []string{"script", "before_script"} {
			items, ok := job[key]
			if !ok {
				continue
			}
			for i, item := range get[[]any](t, items) {
				if _, ok := item.(string); !ok {
					t.Errorf("%s.%s[%d] is not a string (a stray \": \" makes a mapping): %#v", name, key, i, item)
				}
			}
		}
		if _, ok := job["rules"]; !ok {
			t.Errorf("%s has no rules: it would run in every pipeline", name)
		}
	}
	rule := get[map[string]any](t, jobs["nexus:apply"], "rules", 0)
	if rule["when"] != "manual" {
		t.Errorf("nexus:apply runs without a person starting it: rules[0] = %v", rule)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ciScripts returns every shell script of both CI files, by where it is.
func ciScripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	gh := ciWorkflow(t, "github-actions.yml")
	for name := range get[map[string]any](t, gh, "jobs") {
		for i, s := range get[[]any](t, gh, "jobs", name, "steps") {
			if run, ok := s.(map[string]any)["run"].(string); ok {
				out[fmt.Sprintf("github-actions.yml jobs.%s.steps[%d]", name, i)] = run
			}
		}
	}
	gl := ciWorkflow(t, "gitlab-ci.yml")
	jobs := gitlabJobs(t, gl)
	jobs["default"] = get[map[string]any](t, gl, "default")
	for name, job := range jobs {
		for _, key := range []string{"before_script", "script"} {
			if items, ok := job[key].([]any); ok {
				for i, item := range items {
					out[fmt.Sprintf("gitlab-ci.yml %s.%s[%d]", name, key, i)] = item.(string)
				}
			}
		}
	}
	return out
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// nexusCommands finds the nexus command lines of a script: a line (with its
// backslash continuations) whose command, after VAR=value assignments, or
// after a pipe, is nexus. Each is returned as words up to the first shell
// operator.
func nexusCommands(script string) [][]string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out [][]string
	for _, line := range strings.Split(script, "\n") {
		for _, segment := range strings.Split(line, "|") {
			words := shellWords(segment)
			for len(words) > 0 && assignment.MatchString(words[0]) {
				words = words[1:]
			}
			if len(words) > 0 && words[0] == "nexus" {
				out = append(out, words[1:])
			}
		}
	}
	return out
}

// shellWords splits s into words with shell quoting, up to the first
// unquoted operator (> < | & ;). Nothing is expanded.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			flush()
		case strings.IndexByte("><|&;", c) >= 0:
			if inWord && cur.String() == "2" && c == '>' {
				cur.Reset()
				inWord = false
			}
			flush()
			return words
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words
}

func TestShellWords(t *testing.T) {
	tests := map[string][]string{
		`nexus plan -json -out plan.out "$NEXUS_DIR" > plan.json`: {"nexus", "plan", "-json", "-out", "plan.out", "$NEXUS_DIR"},
		`NEXUS_TOKEN="$T" nexus apply -auto-approve plan.out`:     {"NEXUS_TOKEN=$T", "nexus", "apply", "-auto-approve", "plan.out"},
		`echo 'a b' "c \"d\"" 2>&1`:                               {"echo", "a b", `c "d"`},
	}
	for in, want := range tests {
		if got := shellWords(in); !reflect.DeepEqual(got, want) {
			t.Errorf("shellWords(%q)\ngot:  %q\nwant: %q", in, got, want)
		}
	}
}

// TestCI_nexusCommandsParse runs every nexus command line of the CI files
// with --help appended: the real CLI parses the flags (an unknown flag or a
// flag given a bad value fails) and names the subcommand it found.
func TestCI_nexusCommandsParse(t *testing.T) {
	needBinaries(t)
	seen := map[string]bool{}
	for where, script := range ciScripts(t) {
		for _, words := range nexusCommands(script) {
			if len(words) == 0 {
				t.Errorf("%s: a bare nexus command", where)
				continue
			}
			args := make([]string, len(words))
			for i, w := range words {
				if strings.Contains(w, "$") {
					w = "x" // a shell variable: any value parses
				}
				args[i] = w
			}
			r := run(t, t.TempDir(), nil, nexusBin, append(args, "--help")...)
			if r.code != 0 {
				t.Errorf("%s: nexus %s: %s", where, strings.Join(words, " "), r)
				continue
			}
			if !strings.Contains(r.stdout, "Usage:\n  nexus "+words[0]+" ") {
				t.Errorf("%s: nexus %s did not resolve to the %s command:\n%s", where, strings.Join(words, " "), words[0], r.stdout)
			}
			seen[words[0]] = true
		}
	}
	for _, want := range []string{"fmt", "validate", "plan", "apply"} {
		if !seen[want] {
			t.Errorf("found no nexus %s command in the CI files (the extraction broke?)", want)
		}
	}
}

// ciTokens are the CI principals' tokens; ciDaemon gives them the roles the
// CI files' comments ask for.
const (
	ciPlanToken  = "ci-plan-token"
	ciApplyToken = "ci-apply-token"
)

// ciDaemon starts a daemon with a TCP listener and the two CI principals.
func ciDaemon(t *testing.T) (d *daemonProc, addr string) {
	t.Helper()
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	hash := func(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }
	cfg := fmt.Sprintf(`listener "unix" {
  path = ".nexus/nexus.sock"
}
listener "tcp" {
  address = %q
}
role "planner" {
  permissions = ["plan"]
}
role "deployer" {
  permissions = ["plan", "apply", "module.*"]
}
principal "ci-plan" {
  token_sha256 = %q
  roles        = ["planner"]
}
principal "ci-apply" {
  token_sha256 = %q
  roles        = ["deployer"]
}
`, httpAddr, hash(ciPlanToken), hash(ciApplyToken))
	if err := os.WriteFile(filepath.Join(dir, "nexusd.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, nexusBin, dir, httpAddr), "http://" + httpAddr
}

// ciWorkspace is a checkout of a topology repository: topology/ with two
// modules.
func ciWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	topo := `nexus {
  project = "ci-demo"
}

module "app" "web" {
  kind = "target"
}

module "app" "all" {
  kind       = "target"
  depends_on = [module.app.web]
}
`
	if err := os.MkdirAll(filepath.Join(ws, "topology"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "topology", "main.nexus.hcl"), []byte(topo), 0o644); err != nil {
		t.Fatal(err)
	}
	return ws
}

// needTools skips the test, saying what to install, when the CI scripts'
// tools are missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the CI scripts need it (install %s to run this test)", tool, strings.Join(tools, ", "))
		}
	}
}

// apiRecorder stands in for GitHub's and GitLab's APIs.
type apiRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []apiRequest
}

type apiRequest struct {
	method, path string
	header       http.Header
	body         map[string]any
}

func newAPIRecorder(t *testing.T) *apiRecorder {
	a := &apiRecorder{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := apiRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
		if err := json.Unmarshal(b, &req.body); err != nil {
			http.Error(w, "not JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.reqs = append(a.reqs, req)
		a.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 1}`)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiRecorder) requests() []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiRequest(nil), a.reqs...)
}

// runScript runs a CI script with bash -eo pipefail in ws, with nexus, jq
// and curl on the PATH.
func runScript(t *testing.T, where, ws, script string, env []string) result {
	t.Helper()
	f := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+filepath.Dir(nexusBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := run(t, ws, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", f)
	if r.code != 0 {
		t.Fatalf("%s failed: %s", where, r)
	}
	return r
}
