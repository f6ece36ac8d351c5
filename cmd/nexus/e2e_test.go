package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	filestate "github.com/nexus-run/nexus/internal/state/file"
)

// daemonProc is a `nexus daemon` child process with its own data dir,
// socket and HTTP port.
type daemonProc struct {
	t    *testing.T
	dir  string // the daemon's working directory
	cmd  *exec.Cmd
	sock string
	http string
	log  *os.File
	env  []string
}

// startDaemon writes a daemon config into dir and starts the daemon there.
func startDaemon(t *testing.T, dir string, env ...string) *daemonProc {
	t.Helper()
	port := freePort(t)
	cfg := fmt.Sprintf("daemon {\n  data_dir = %q\n  node = \"test\"\n}\nlistener \"unix\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n}\n",
		filepath.Join(dir, ".nexus"), filepath.Join(dir, ".nexus", "nexus.sock"), port)
	if err := os.WriteFile(filepath.Join(dir, "nexusd.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, dir: dir, sock: filepath.Join(dir, ".nexus", "nexus.sock"), http: fmt.Sprintf("http://127.0.0.1:%d", port), env: env}
	d.start()
	return d
}

func (d *daemonProc) start() {
	d.t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "daemon.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	d.log = logf
	d.cmd = exec.Command(nexusBin, "daemon", "--config", "nexusd.hcl", "--log-format", "json")
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(cleanEnv(), d.env...)
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { d.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				d.cmd.Process.Kill()
			}
		}
		if d.t.Failed() {
			out, _ := os.ReadFile(filepath.Join(d.dir, "daemon.out"))
			d.t.Logf("daemon log:\n%s", tail(string(out), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(d.dir, "daemon.out"))
			d.t.Fatalf("the daemon did not come up: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit.
func (d *daemonProc) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		d.t.Fatalf("daemon exit: %v", err)
	}
	d.log.Close()
}

// kill sends SIGKILL and reaps the process.
func (d *daemonProc) kill() {
	d.t.Helper()
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.log.Close()
}

// nexus runs the CLI against this daemon, in its directory.
func (d *daemonProc) nexus(stdin string, args ...string) result {
	d.t.Helper()
	return run(d.t, d.dir, stdin, append([]string{"NEXUS_ADDR=unix://" + d.sock}, d.env...), args...)
}

func (d *daemonProc) mustNexus(args ...string) result {
	d.t.Helper()
	r := d.nexus("", args...)
	if r.code != 0 {
		d.t.Fatalf("nexus %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

type statusDoc struct {
	Ready    bool
	Projects []struct {
		Project string
		Modules []struct {
			Address       string
			ID            string
			State         string
			Restarts      int
			UptimeSeconds float64 `json:"uptime_seconds"`
			Health        struct{ Status string }
		}
	}
}

func (d *daemonProc) status() statusDoc {
	d.t.Helper()
	r := d.mustNexus("status", "--json")
	var s statusDoc
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		d.t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return s
}

// states maps address → lifecycle state across projects.
func (s statusDoc) states() map[string]string {
	out := map[string]string{}
	for _, p := range s.Projects {
		for _, m := range p.Modules {
			out[m.Address] = m.State
		}
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEXUS_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeTopology(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "topo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "topo", "main.nexus.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const lifecycleV1 = `
module "app" "db" {
  kind = "exec"
  config {
    command = ["sleep", "%[1]s"]
  }
}

module "app" "web" {
  kind = "heartbeat"
  config {
    target   = "http://127.0.0.1:%[2]d/beat"
    interval = "%[3]s"
  }
  depends_on = [module.app.db]
}

module "app" "edge" {
  kind       = "target"
  depends_on = [module.app.web]
}
`

func TestE2E_lifecycle(t *testing.T) {
	beats := make(chan struct{}, 1000)
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case beats <- struct{}{}:
		default:
		}
		w.WriteHeader(204)
	})}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go sink.Serve(l)
	defer sink.Close()
	port := l.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, fmt.Sprintf(lifecycleV1, "1001", port, "1s"))

	// Create.
	r := d.mustNexus("apply", "--auto-approve", "--no-color", "topo")
	if !strings.Contains(r.stdout, "Plan: 3 to create") || !strings.Contains(r.stdout, "Apply complete! 3 changed") {
		t.Fatalf("first apply:\n%s", r.stdout)
	}
	if got := d.status().states(); got["module.app.db"] != "started" || got["module.app.web"] != "started" || got["module.app.edge"] != "started" {
		t.Fatalf("got states %v", got)
	}
	select {
	case <-beats:
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat arrived")
	}

	// Nothing to do: a no-op plan, exit 0 with --detailed-exitcode.
	if r := d.nexus("", "plan", "--detailed-exitcode", "topo"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("no-op plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Update in place: the heartbeat's interval.
	writeTopology(t, dir, fmt.Sprintf(lifecycleV1, "1001", port, "2s"))
	r = d.nexus("", "plan", "--detailed-exitcode", "--no-color", "topo")
	if r.code != 2 || !strings.Contains(r.stdout, `~ module.app.web`) || !strings.Contains(r.stdout, `~ interval = "1s" -> "2s"`) {
		t.Fatalf("update plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = d.mustNexus("apply", "--auto-approve", "--no-color", "topo")
	if !strings.Contains(r.stdout, "module.app.web: reconfigure complete") {
		t.Fatalf("update apply:\n%s", r.stdout)
	}

	// Replace with cascade: the exec command changes.
	writeTopology(t, dir, fmt.Sprintf(lifecycleV1, "1002", port, "2s"))
	r = d.mustNexus("plan", "--no-color", "topo")
	for _, want := range []string{"-/+ module.app.db", "↻ module.app.web", "↻ module.app.edge", "1 to replace", "2 to restart"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("replace plan lacks %q:\n%s", want, r.stdout)
		}
	}
	d.mustNexus("apply", "--auto-approve", "topo")
	if !processRunning("sleep 1002") || processRunning("sleep 1001") {
		t.Errorf("after the replace, want sleep 1002 running and sleep 1001 gone")
	}

	// Destroy, dependents first.
	r = d.mustNexus("destroy", "--auto-approve", "--no-color", "topo")
	if !strings.Contains(r.stdout, "3 to destroy") {
		t.Fatalf("destroy:\n%s", r.stdout)
	}
	if got := d.status().states(); len(got) != 0 {
		t.Errorf("after destroy, got %v", got)
	}
	waitFor(t, "sleep 1002 to exit", 10*time.Second, func() bool { return !processRunning("sleep 1002") })
	d.stop()
}

func TestE2E_stalePlanRefused(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, `module "a" "x" { kind = "target" }`)
	d.mustNexus("plan", "--out", "first.plan", "topo")
	d.mustNexus("apply", "--auto-approve", "topo")
	r := d.nexus("", "apply", "first.plan")
	if r.code != 1 || !strings.Contains(r.stderr, "Saved plan is stale") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
	// A fresh saved plan applies without a question.
	writeTopology(t, dir, `module "a" "x" { kind = "target" }
module "a" "y" { kind = "target" }`)
	d.mustNexus("plan", "--out", "second.plan", "topo")
	if r := d.mustNexus("apply", "second.plan"); !strings.Contains(r.stdout, "Apply complete! 1 changed") {
		t.Errorf("got %s", r.stdout)
	}
}

func TestE2E_applyWithoutTerminalRefusesToAsk(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, `module "a" "x" { kind = "target" }`)
	r := d.nexus("yes\n", "apply", "topo")
	if r.code != 1 || !strings.Contains(r.stderr, "stdin is not a terminal") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
	if got := d.status().states(); len(got) != 0 {
		t.Errorf("a refused apply changed something: %v", got)
	}
}

func TestE2E_concurrentApplyWaitsThenFailsOnTheLock(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	d := startDaemon(t, dir)
	// module.a.slow is ready only once the gate file exists, so the apply
	// that starts module.a.after holds the lock until the test opens it.
	writeTopology(t, dir, fmt.Sprintf(`
module "a" "slow" {
  kind = "exec"
  config { command = ["sleep", "1003"] }
  health {
    exec     = ["test", "-f", %q]
    interval = "100ms"
  }
  timeouts { start = "60s" }
}
module "a" "after" {
  kind       = "target"
  depends_on = [module.a.slow]
}
`, gate))
	first := make(chan result, 1)
	go func() { first <- d.nexus("", "apply", "--auto-approve", "topo") }()
	waitFor(t, "the first apply to hold the lock", 20*time.Second, func() bool {
		return d.status().states()["module.a.slow"] == "started"
	})
	start := time.Now()
	r := d.nexus("", "apply", "--auto-approve", "--lock-timeout", "1s", "topo")
	waited := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, "locked") || !strings.Contains(r.stderr, `for "apply"`) || !strings.Contains(r.stderr, "unix:") {
		t.Errorf("second apply: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if waited < time.Second {
		t.Errorf("the second apply gave up after %s, before its --lock-timeout of 1s", waited)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := <-first; r.code != 0 {
		t.Errorf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	d.stop()
	waitFor(t, "sleep 1003 to exit", 10*time.Second, func() bool { return !processRunning("sleep 1003") })
}

func TestE2E_gracefulShutdownPersistsUptime(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, `
module "a" "proc" {
  kind = "exec"
  config { command = ["sleep", "1004"] }
}`)
	d.mustNexus("apply", "--auto-approve", "topo")
	time.Sleep(1500 * time.Millisecond)
	d.stop()
	if processRunning("sleep 1004") {
		t.Fatal("the module's process outlived the daemon's shutdown")
	}
	var st struct {
		Modules map[string]struct {
			State         string
			StoppedAt     *time.Time `json:"stopped_at"`
			UptimeSeconds float64    `json:"uptime_seconds"`
		}
	}
	doc := readState(t, dir, "default")
	if err := json.Unmarshal(doc, &st); err != nil {
		t.Fatal(err)
	}
	m := st.Modules["module.a.proc"]
	if m.State != "started" || m.StoppedAt == nil || m.UptimeSeconds < 1 {
		t.Errorf("got record %+v, want state started (to come back), stopped_at set, uptime ≥ 1s", m)
	}
	// Restarted, the daemon brings the module back.
	d.start()
	waitFor(t, "the module to come back", 20*time.Second, func() bool { return processRunning("sleep 1004") })
	if got := d.status().states()["module.a.proc"]; got != "started" {
		t.Errorf("after restart got %s", got)
	}
	d.stop()
}

// readState reads a project's document straight from the file store, as
// the daemon left it.
func readState(t *testing.T, dir, project string) []byte {
	t.Helper()
	store, err := filestate.New(filepath.Join(dir, ".nexus", "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	doc, err := store.Get(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := json.Marshal(doc)
	return buf
}

// processRunning reports whether a process whose command line contains
// needle (arguments joined by spaces) is alive.
func processRunning(needle string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+2:]), "Z") {
			continue // a zombie is dead
		}
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), needle) {
			return true
		}
	}
	return false
}

// TestE2E_sigkillRecovery kills the daemon in the middle of applying 200
// exec modules, checks that none of its processes outlived it, restarts it,
// and checks that the state says exactly which modules were running: they
// come back, and the plan holds only what was left to do.
func TestE2E_sigkillRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 200 processes")
	}
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	d := startDaemon(t, dir)
	// 100 modules start freely; the other 100 wait for module.fleet.gate,
	// which is ready only once the gate file exists. So the daemon is
	// killed with the apply surely in its middle, however fast it is.
	var b strings.Builder
	fmt.Fprintf(&b, "module \"fleet\" \"gate\" {\n  kind = \"exec\"\n  config { command = [\"sleep\", \"1005.999\"] }\n"+
		"  health {\n    exec     = [\"test\", \"-f\", %q]\n    interval = \"100ms\"\n  }\n  timeouts { start = \"5m\" }\n}\n", gate)
	for i := range 199 {
		fmt.Fprintf(&b, "module \"fleet\" \"m%03d\" {\n  kind = \"exec\"\n  config { command = [\"sleep\", \"1005.%03d\"] }\n", i, i)
		switch {
		case i >= 100:
			b.WriteString("  depends_on = [module.fleet.gate]\n")
		case i >= 10:
			fmt.Fprintf(&b, "  depends_on = [module.fleet.m%03d]\n", i/10-1)
		}
		b.WriteString("}\n")
	}
	writeTopology(t, dir, b.String())
	apply := make(chan result, 1)
	go func() { apply <- d.nexus("", "apply", "--auto-approve", "--parallelism", "8", "topo") }()
	waitFor(t, "100 modules and the gate to start", 60*time.Second, func() bool {
		n := 0
		for _, st := range d.status().states() {
			if st == "started" {
				n++
			}
		}
		return n >= 101
	})
	d.kill()
	<-apply

	// Pdeathsig kills the daemon's children with it.
	waitFor(t, "the old daemon's processes to die", 10*time.Second, func() bool { return !processRunning("sleep 1005.") })

	var doc struct {
		Modules map[string]struct{ State string }
	}
	if err := json.Unmarshal(readState(t, dir, "default"), &doc); err != nil {
		t.Fatal(err)
	}
	started := 0
	for _, m := range doc.Modules {
		if m.State == "started" {
			started++
		}
	}
	if started < 101 || started >= 200 {
		t.Fatalf("the state says %d modules were started; want between 101 and 199", started)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	d.start()
	// The daemon answers /healthz at once and is ready once every recorded
	// module is back; the modules left half-created are not ready yet.
	waitFor(t, "the recorded modules to come back", 60*time.Second, func() bool {
		n := 0
		for _, m := range d.status().Projects[0].Modules {
			if m.State == "started" && m.Health.Status == "healthy" {
				n++
			}
		}
		return n >= started
	})
	r := d.nexus("", "plan", "--no-color", "--detailed-exitcode", "topo")
	if r.code != 2 {
		t.Fatalf("plan after recovery: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	left := 200 - started
	if !strings.Contains(r.stdout, fmt.Sprintf("Plan: %d to create", left)) && !strings.Contains(r.stdout, "to start") {
		t.Errorf("want a plan for the %d modules left, got:\n%s", left, tail(r.stdout, 5))
	}
	for addr, m := range doc.Modules {
		if m.State == "started" && strings.Contains(r.stdout, addr+" ") {
			t.Errorf("the plan touches %s, which was running", addr)
		}
	}
	d.mustNexus("apply", "--auto-approve", "topo")
	if got := d.status().states(); len(got) != 200 {
		t.Errorf("after finishing the apply: %d modules", len(got))
	}
	d.stop()
	waitFor(t, "every process to stop", 20*time.Second, func() bool { return !processRunning("sleep 1005.") })
}
