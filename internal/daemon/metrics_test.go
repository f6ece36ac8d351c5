package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/nexus-run/nexus/modules"
)

// threeTargets is module.g.a, module.g.b (after a) and module.g.c.
const threeTargets = `
module "g" "a" { kind = "target" }
module "g" "b" {
  kind       = "target"
  depends_on = [module.g.a]
}
module "g" "c" { kind = "target" }
`

// aAndStoppedB drops module.g.c and stops module.g.b.
const aAndStoppedB = `
module "g" "a" { kind = "target" }
module "g" "b" {
  kind       = "target"
  depends_on = [module.g.a]
  state      = "stopped"
}
`

func TestMetrics_afterScriptedApply(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("", threeTargets)
	h.mustApply("", aAndStoppedB)

	const want = `
# HELP nexus_module_transitions_total Lifecycle transitions performed, by project, module, transition and result (ok, error).
# TYPE nexus_module_transitions_total counter
nexus_module_transitions_total{module="g/a",project="default",result="ok",transition="init"} 1
nexus_module_transitions_total{module="g/a",project="default",result="ok",transition="load"} 1
nexus_module_transitions_total{module="g/a",project="default",result="ok",transition="start"} 1
nexus_module_transitions_total{module="g/b",project="default",result="ok",transition="init"} 1
nexus_module_transitions_total{module="g/b",project="default",result="ok",transition="load"} 1
nexus_module_transitions_total{module="g/b",project="default",result="ok",transition="start"} 1
nexus_module_transitions_total{module="g/b",project="default",result="ok",transition="stop"} 1
# HELP nexus_module_up 1 when the module is started.
# TYPE nexus_module_up gauge
nexus_module_up{kind="target",module="g/a",project="default"} 1
nexus_module_up{kind="target",module="g/b",project="default"} 0
# HELP nexus_module_ready 1 when the module is ready (started and its health check passing).
# TYPE nexus_module_ready gauge
nexus_module_ready{kind="target",module="g/a",project="default"} 1
nexus_module_ready{kind="target",module="g/b",project="default"} 0
# HELP nexus_module_state 1 for the lifecycle state the module is in, 0 for the others.
# TYPE nexus_module_state gauge
nexus_module_state{kind="target",module="g/a",project="default",state="failed"} 0
nexus_module_state{kind="target",module="g/a",project="default",state="initialized"} 0
nexus_module_state{kind="target",module="g/a",project="default",state="loaded"} 0
nexus_module_state{kind="target",module="g/a",project="default",state="started"} 1
nexus_module_state{kind="target",module="g/a",project="default",state="stopped"} 0
nexus_module_state{kind="target",module="g/a",project="default",state="unloaded"} 0
nexus_module_state{kind="target",module="g/b",project="default",state="failed"} 0
nexus_module_state{kind="target",module="g/b",project="default",state="initialized"} 0
nexus_module_state{kind="target",module="g/b",project="default",state="loaded"} 0
nexus_module_state{kind="target",module="g/b",project="default",state="started"} 0
nexus_module_state{kind="target",module="g/b",project="default",state="stopped"} 1
nexus_module_state{kind="target",module="g/b",project="default",state="unloaded"} 0
# HELP nexus_module_restarts_total Restarts the daemon made: by restart policy or for a rotated secret.
# TYPE nexus_module_restarts_total counter
nexus_module_restarts_total{kind="target",module="g/a",project="default"} 0
nexus_module_restarts_total{kind="target",module="g/b",project="default"} 0
# HELP nexus_applies_total Applies, by result (ok, error, interrupted; denied, stale, locked for those refused before they started).
# TYPE nexus_applies_total counter
nexus_applies_total{result="ok"} 2
# HELP nexus_authz_decisions_total Authorization decisions, by decision (allow, deny).
# TYPE nexus_authz_decisions_total counter
nexus_authz_decisions_total{decision="allow"} 6
nexus_authz_decisions_total{decision="deny"} 0
# HELP nexus_api_requests_total API requests, by route and status code.
# TYPE nexus_api_requests_total counter
nexus_api_requests_total{code="200",route="POST /v1/apply"} 2
nexus_api_requests_total{code="200",route="POST /v1/plan"} 2
`
	// g/c was destroyed: its series, transition counters included, are gone.
	if err := testutil.GatherAndCompare(h.d.metrics.Gatherer(), strings.NewReader(want),
		"nexus_module_transitions_total", "nexus_module_up", "nexus_module_ready", "nexus_module_state", "nexus_module_restarts_total",
		"nexus_applies_total", "nexus_authz_decisions_total", "nexus_api_requests_total"); err != nil {
		t.Error(err)
	}
	// Two applies ran: two observations; 12 transitions timed (g/c's stop
	// and unload among them).
	for name, want := range map[string]int{"nexus_apply_duration_seconds": 2, "nexus_module_transition_duration_seconds": 12} {
		var n int
		if mf := h.family(name); mf != nil {
			for _, m := range mf.GetMetric() {
				n += int(m.GetHistogram().GetSampleCount())
			}
		}
		if n != want {
			t.Errorf("%s: got: %d observations\nwant: %d", name, n, want)
		}
	}
	for _, op := range []string{"lock", "apply", "unlock"} {
		if n, ok := h.metricValue("nexus_state_store_duration_seconds", map[string]string{"store": "file", "operation": op, "result": "ok"}); !ok || n < 1 {
			t.Errorf("got: %v observations of the store's %s\nwant: at least one", n, op)
		}
	}
}

func TestMetrics_failedTransitionAndSkippedDependent(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	_, sum := h.apply("", `
module "proc" "bad" {
  kind = "exec"
  config { command = ["/nonexistent/nexus-test-binary"] }
}
module "g" "after" {
  kind       = "target"
  depends_on = [module.proc.bad]
}
`)
	if sum.Failed != 1 || sum.Skipped != 1 {
		t.Fatalf("got: %+v\nwant: one failed, one skipped", sum)
	}
	const want = `
# HELP nexus_module_transitions_total Lifecycle transitions performed, by project, module, transition and result (ok, error).
# TYPE nexus_module_transitions_total counter
nexus_module_transitions_total{module="proc/bad",project="default",result="error",transition="start"} 1
nexus_module_transitions_total{module="proc/bad",project="default",result="ok",transition="init"} 1
nexus_module_transitions_total{module="proc/bad",project="default",result="ok",transition="load"} 1
# HELP nexus_module_up 1 when the module is started.
# TYPE nexus_module_up gauge
nexus_module_up{kind="exec",module="proc/bad",project="default"} 0
# HELP nexus_applies_total Applies, by result (ok, error, interrupted; denied, stale, locked for those refused before they started).
# TYPE nexus_applies_total counter
nexus_applies_total{result="error"} 1
`
	if err := testutil.GatherAndCompare(h.d.metrics.Gatherer(), strings.NewReader(want),
		"nexus_module_transitions_total", "nexus_module_up", "nexus_applies_total"); err != nil {
		t.Error(err)
	}
	if v, _ := h.metricValue("nexus_module_state", map[string]string{"module": "proc/bad", "state": "failed"}); v != 1 {
		t.Errorf("got: nexus_module_state{state=\"failed\"} %v\nwant: 1", v)
	}
}

func TestMetrics_lintClean(t *testing.T) {
	bt := newBeatTarget(t, http.StatusOK)
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("", threeTargets+heartbeatBlock(bt.url, `"k"`)+sleeperBlock)
	h.waitFor("two beats", func() bool { return bt.count() >= 2 })
	problems, err := testutil.GatherAndLint(h.d.metrics.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	code, body := h.get("/metrics", true)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	if problems, err = promlint.New(strings.NewReader(body)).Lint(); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint on /metrics: %s: %s", p.Metric, p.Text)
	}
}

// heartbeatBlock is module.vitals.heartbeat beating every 20ms to url with
// apiKey (an HCL expression) as its key.
func heartbeatBlock(url, apiKey string) string {
	return fmt.Sprintf(`
module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target   = %q
    interval = "20ms"
    api_key  = %s
  }
}
`, url, apiKey)
}

// sleeperBlock is an exec module whose process the daemon measures.
const sleeperBlock = `
module "proc" "sleeper" {
  kind = "exec"
  config { command = ["sleep", "300"] }
}
`

func TestMetrics_endpointServesModuleSDKAndProcessMetrics(t *testing.T) {
	bt := newBeatTarget(t, http.StatusOK)
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("", heartbeatBlock(bt.url, `"k"`)+sleeperBlock)
	h.waitFor("three beats", func() bool { return bt.count() >= 3 })

	code, body := h.get("/metrics", true) // TCP, no token: /metrics is open
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: got: %d\nwant: 200 without credentials", code)
	}
	for _, want := range []string{
		`nexus_heartbeat_beats_total{module="vitals/heartbeat",project="default"} `,
		`nexus_heartbeat_beat_duration_seconds_count{module="vitals/heartbeat",project="default"} `,
		`nexus_module_operation_duration_seconds_count{module="vitals/heartbeat",operation="beat",project="default",result="ok"} `,
		`nexus_module_requests_total{kind="heartbeat",module="vitals/heartbeat",project="default"} `,
		`nexus_module_up{kind="exec",module="proc/sleeper",project="default"} 1`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("got: no %q on /metrics", want)
		}
	}
	if v, _ := h.metricValue("nexus_heartbeat_beats_total", map[string]string{"module": "vitals/heartbeat", "project": "default"}); v < 3 {
		t.Errorf("got: nexus_heartbeat_beats_total %v\nwant: at least 3", v)
	}
	// The exec module's process is measured: its resident memory.
	h.waitFor("the sleeper's memory on /metrics", func() bool {
		mem, _ := h.metricValue("nexus_module_memory_bytes", map[string]string{"module": "proc/sleeper"})
		return mem > 0
	})

	// The same numbers in status and /v1/modules/{id}.
	ctx := context.Background()
	hb, err := h.c.Module(ctx, "", "vitals/heartbeat")
	if err != nil {
		t.Fatal(err)
	}
	if hb.Usage.RequestsTotal < 3 {
		t.Errorf("got: /v1/modules usage %+v\nwant: the tracked beats", hb.Usage)
	}
	st, err := h.c.Status(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Projects[0].Modules {
		if m.ID == "proc/sleeper" && m.Usage.MemoryMB <= 0 {
			t.Errorf("got: status usage %+v for proc/sleeper\nwant: its memory", m.Usage)
		}
	}

	// Stopping the heartbeat saves its usage in the state.
	h.mustApply("", strings.Replace(heartbeatBlock(bt.url, `"k"`), `kind = "heartbeat"`, `kind = "heartbeat"`+"\n  state = \"stopped\"", 1)+sleeperBlock)
	doc, err := h.c.State(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	rec := doc.Modules["module.vitals.heartbeat"]
	if rec == nil || rec.State != modules.StateStopped || rec.Usage.RequestsTotal < 3 {
		t.Errorf("got: state record %+v\nwant: stopped, with its usage saved", rec)
	}
}

func TestMetrics_sameModuleIDInTwoProjects(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("", threeTargets)
	h.mustApply("", `nexus { project = "other" }`+threeTargets)
	code, body := h.get("/metrics", false)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: got: %d\nwant: 200 (a module id in two projects is two series)\n%s", code, body)
	}
	for _, p := range []string{"default", "other"} {
		want := fmt.Sprintf(`nexus_module_up{kind="target",module="g/a",project=%q} 1`, p)
		if !strings.Contains(body, want) {
			t.Errorf("got: no %s", want)
		}
	}
	if _, err := h.d.metrics.Gatherer().Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
}

// A module's own (SDK) series carry its project too: the same module id
// in two projects is two series, and destroying it in one forgets only
// that project's.
func TestMetrics_moduleSDKSeriesPerProject(t *testing.T) {
	bt := newBeatTarget(t, http.StatusOK)
	h := startTeleDaemon(t, teleOptions{})
	hb := heartbeatBlock(bt.url, `"k"`)
	h.mustApply("", hb)
	h.mustApply("", `nexus { project = "other" }`+hb)
	beats := func(project string) string {
		return fmt.Sprintf(`nexus_heartbeat_beats_total{module="vitals/heartbeat",project=%q} `, project)
	}
	h.waitFor("beats from both projects on /metrics", func() bool {
		_, body := h.get("/metrics", false)
		return strings.Contains(body, beats("default")) && strings.Contains(body, beats("other"))
	})
	h.mustApply("", `nexus { project = "other" }`)
	_, body := h.get("/metrics", false)
	if !strings.Contains(body, beats("default")) || strings.Contains(body, beats("other")) {
		t.Errorf("after destroying vitals/heartbeat in project other:\n%s\nwant: project default's beats series and not other's", grepLines(body, "nexus_heartbeat_beats_total"))
	}
}

// grepLines returns the lines of s holding substr.
func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
