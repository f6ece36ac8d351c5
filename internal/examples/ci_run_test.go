package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// githubRun runs jobs of examples/ci/github-actions.yml the way a runner
// would for one event, skipping the steps that set the machine up (uses:
// actions, and "Install" steps: the test puts nexus, jq and curl on the
// PATH itself).
type githubRun struct {
	t     *testing.T
	wf    map[string]any
	ws    string
	event string
	// exprs answers ${{ }} expressions: vars, secrets, github context.
	exprs map[string]string
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand resolves the ${{ }} expressions of s; an expression the test does
// not know fails it, so a new one in the workflow gets a value here.
func (g *githubRun) expand(s string) string {
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		expr := ghExpr.FindStringSubmatch(m)[1]
		v, ok := g.exprs[expr]
		if !ok {
			g.t.Fatalf("the workflow uses ${{ %s }}, which this test gives no value", expr)
		}
		return v
	})
}

func (g *githubRun) envOf(v any) []string {
	m, _ := v.(map[string]any)
	var env []string
	for _, k := range sortedKeys(m) {
		env = append(env, k+"="+g.expand(m[k].(string)))
	}
	return env
}

// stepRuns evaluates a step's `if`: only github.event_name comparisons.
func (g *githubRun) stepRuns(cond string) bool {
	if cond == "" {
		return true
	}
	m := regexp.MustCompile(`^github\.event_name == '([a-z_]+)'$`).FindStringSubmatch(cond)
	if m == nil {
		g.t.Fatalf("the test cannot evaluate the step condition %q", cond)
	}
	return m[1] == g.event
}

// job runs one job and returns its steps' outputs (id → key → value) and
// the job summary it wrote.
func (g *githubRun) job(name string) (outputs map[string]map[string]string, summary string) {
	g.t.Helper()
	job := get[map[string]any](g.t, g.wf, "jobs", name)
	files := map[string]string{}
	dir := g.t.TempDir()
	for _, f := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
		files[f] = filepath.Join(dir, f)
	}
	outputs = map[string]map[string]string{}
	for i, s := range get[[]any](g.t, job, "steps") {
		step := s.(map[string]any)
		stepName, _ := step["name"].(string)
		run, isRun := step["run"].(string)
		cond, _ := step["if"].(string)
		if !isRun || strings.HasPrefix(stepName, "Install") || !g.stepRuns(cond) {
			continue
		}
		if err := os.WriteFile(files["GITHUB_OUTPUT"], nil, 0o600); err != nil {
			g.t.Fatal(err)
		}
		env := []string{"GITHUB_EVENT_NAME=" + g.event, "GITHUB_REPOSITORY=acme/topology", "GITHUB_API_URL=" + g.exprs["api"]}
		for k, f := range files {
			env = append(env, k+"="+f)
		}
		env = append(env, g.envOf(g.wf["env"])...)
		env = append(env, g.envOf(job["env"])...)
		env = append(env, g.envOf(step["env"])...)
		where := fmt.Sprintf("github-actions.yml jobs.%s.steps[%d] %q", name, i, stepName)
		runScript(g.t, where, g.ws, run, env)
		if id, ok := step["id"].(string); ok {
			b, _ := os.ReadFile(files["GITHUB_OUTPUT"])
			outputs[id] = map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					outputs[id][k] = v
				}
			}
		}
	}
	b, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	return outputs, string(b)
}

// TestCI_githubActions_planOnPullRequestApplyOnMerge runs the workflow's
// scripts against a real daemon: on a pull request the plan job posts the
// plan as a comment and a job summary; on the push that merges it, the
// plan job saves a plan and the apply job applies exactly it.
func TestCI_githubActions_planOnPullRequestApplyOnMerge(t *testing.T) {
	needBinaries(t)
	needTools(t, "bash", "jq", "curl")
	wf := ciWorkflow(t, "github-actions.yml")
	d, addr := ciDaemon(t)
	api := newAPIRecorder(t)
	ws := ciWorkspace(t)
	exprs := map[string]string{
		"vars.NEXUS_ADDR":                  addr,
		"secrets.NEXUS_PLAN_TOKEN":         ciPlanToken,
		"secrets.NEXUS_APPLY_TOKEN":        ciApplyToken,
		"github.token":                     "gh-test-token",
		"github.event.pull_request.number": "42",
		"steps.plan.outputs.exitcode":      "",
		"api":                              api.srv.URL,
	}

	pr := &githubRun{t: t, wf: wf, ws: ws, event: "pull_request", exprs: exprs}
	out, summary := pr.job("plan")
	if got := out["plan"]["exitcode"]; got != "2" {
		t.Fatalf("plan exit code on the pull request: got %q, want 2 (changes)", got)
	}
	wantRow := "| `+` | `module.app.web` | create | 1 |"
	wantAll(t, "the job summary", summary, "### nexus plan for `ci-demo`", "Plan: 2 to create", wantRow, "| `+` | `module.app.all` | create | 2 |")
	reqs := api.requests()
	if len(reqs) != 1 || reqs[0].path != "/repos/acme/topology/issues/42/comments" || reqs[0].header.Get("Authorization") != "Bearer gh-test-token" {
		t.Fatalf("got API requests %+v, want one comment on pull request 42", reqs)
	}
	if body, _ := reqs[0].body["body"].(string); body != summary {
		t.Errorf("the comment differs from the job summary:\n%s\n---\n%s", body, summary)
	}
	if got := statusCount(t, d); got != 0 {
		t.Fatalf("a pull request's plan changed something: %d modules", got)
	}

	push := &githubRun{t: t, wf: wf, ws: ws, event: "push", exprs: exprs}
	out, _ = push.job("plan")
	if got := out["plan"]["exitcode"]; got != "2" {
		t.Fatalf("plan exit code on the push: got %q, want 2", got)
	}
	if len(api.requests()) != 1 {
		t.Errorf("the push commented: %+v", api.requests())
	}
	cond := get[string](t, wf, "jobs", "apply", "if")
	if cond != "github.event_name == 'push' && needs.plan.outputs.exitcode == '2'" {
		t.Fatalf("jobs.apply.if is %q; teach this test to evaluate it", cond)
	}
	if _, err := os.Stat(filepath.Join(ws, "plan.out")); err != nil {
		t.Fatalf("the plan job saved no plan.out for the apply job: %v", err)
	}
	push.job("apply")
	if got := statusCount(t, d); got != 2 {
		t.Fatalf("after the apply job: %d modules, want 2", got)
	}

	out, summary = push.job("plan")
	if got := out["plan"]["exitcode"]; got != "0" {
		t.Errorf("plan exit code once applied: got %q, want 0", got)
	}
	wantAll(t, "the job summary once applied", summary, "No changes: the running modules match the topology.")
}

// statusCount is how many modules the daemon runs.
func statusCount(t *testing.T, d *daemonProc) int {
	t.Helper()
	r := d.nexus("status", "--no-color")
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	return strings.Count(r.stdout, " started ")
}

// TestCI_gitlab_planOnMergeRequestApplyOnDefaultBranch runs the GitLab
// jobs' scripts against a real daemon: the plan job posts a merge request
// note and writes the widget's report; the apply job applies the saved plan.
func TestCI_gitlab_planOnMergeRequestApplyOnDefaultBranch(t *testing.T) {
	needBinaries(t)
	needTools(t, "bash", "jq", "curl")
	ci := ciWorkflow(t, "gitlab-ci.yml")
	jobs := gitlabJobs(t, ci)
	d, addr := ciDaemon(t)
	api := newAPIRecorder(t)
	ws := ciWorkspace(t)
	var env []string
	vars := get[map[string]any](t, ci, "variables")
	for _, k := range sortedKeys(vars) {
		env = append(env, k+"="+vars[k].(string))
	}
	env = append(env, "NEXUS_ADDR="+addr, "NEXUS_PLAN_TOKEN="+ciPlanToken, "NEXUS_APPLY_TOKEN="+ciApplyToken,
		"NEXUS_NOTE_TOKEN=gl-note-token", "CI_API_V4_URL="+api.srv.URL+"/api/v4", "CI_PROJECT_ID=99",
		"CI_MERGE_REQUEST_IID=7", "CI_PIPELINE_SOURCE=merge_request_event")
	script := func(job string) string {
		var lines []string
		for _, item := range get[[]any](t, jobs[job], "script") {
			lines = append(lines, item.(string))
		}
		return strings.Join(lines, "\n")
	}

	runScript(t, "gitlab-ci.yml nexus:check", ws, script("nexus:check"), env)
	r := runScript(t, "gitlab-ci.yml nexus:plan", ws, script("nexus:plan"), env)
	wantAll(t, "the plan job's log", r.stdout, "Plan: 2 to create", "| `+` | `module.app.web` | create | 1 |")
	reqs := api.requests()
	if len(reqs) != 1 || reqs[0].path != "/api/v4/projects/99/merge_requests/7/notes" || reqs[0].header.Get("PRIVATE-TOKEN") != "gl-note-token" {
		t.Fatalf("got API requests %+v, want one note on merge request 7", reqs)
	}
	report, err := os.ReadFile(filepath.Join(ws, "plan-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(string(report)), ""); got != `{"create":2,"delete":0,"update":0}` {
		t.Errorf("got: plan-report.json %s\nwant: 2 to create", report)
	}
	for _, p := range get[[]any](t, jobs["nexus:plan"], "artifacts", "paths") {
		if _, err := os.Stat(filepath.Join(ws, p.(string))); err != nil {
			t.Errorf("artifact %s: %v", p, err)
		}
	}

	runScript(t, "gitlab-ci.yml nexus:apply", ws, script("nexus:apply"), env)
	if got := statusCount(t, d); got != 2 {
		t.Fatalf("after the apply job: %d modules, want 2", got)
	}
}
