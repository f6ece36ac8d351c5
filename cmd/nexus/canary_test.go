package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The canary topology: an exec module that gets the file secret as an env
// var and as a secret file, crashes on its first run and then proves (by
// hash, without printing it) that it got the value both ways; and a
// heartbeat that sends the env secret as its bearer token.
const canaryTopology = `
module "app" "worker" {
  kind = "exec"
  config {
    command      = ["/bin/sh", %[1]q, %[2]q]
    env          = { TOKEN = secret("file", "app/token") }
    secret_files = { token = secret("file", "app/token") }
  }
  restart {
    policy  = "on-failure"
    backoff = "100ms"
  }
}

module "app" "beat" {
  kind = "heartbeat"
  config {
    target   = "%[3]s"
    interval = "200ms"
    api_key  = secret("env", "beat_key")
  }
  depends_on = [module.app.worker]
}

module "app" "leaky" {
  kind = "heartbeat"
  config {
    target   = "http://127.0.0.1:1/beat?key=${secret("env", "beat_key")}"
    interval = "200ms"
  }
}
`

// brokenTopology is a project whose module cannot start, with a secret in
// the program's name: its error carries the value.
const brokenTopology = `
nexus { project = "broken" }

module "app" "broken" {
  kind = "exec"
  config {
    command = ["/nonexistent/${secret("file", "app/token")}"]
  }
  restart { policy = "never" }
}
`

const canaryScript = `#!/bin/sh
proof="$1"
if [ ! -f "$proof.first" ]; then
  touch "$proof.first"
  echo "first run: exiting 1 on purpose" >&2
  sleep 1
  exit 1
fi
printf %s "$TOKEN" | sha256sum | cut -d' ' -f1 > "$proof.env.tmp" && mv "$proof.env.tmp" "$proof.env"
sha256sum < "$NEXUS_SECRETS_DIR/token" | cut -d' ' -f1 > "$proof.file.tmp" && mv "$proof.file.tmp" "$proof.file"
echo "running with my secrets"
exec sleep 3100
`

// TestCanary_secretValuesGoNowhereElse gives two secrets unique random
// values, drives the daemon through plan, apply, a module crash and
// restart, status, module views, metrics, state, audit and destroy, then
// searches every output and every file the daemon wrote: each value is
// only where its module reads it.
func TestCanary_secretValuesGoNowhereElse(t *testing.T) {
	fileCanary, envCanary := "canary"+randomHex(t), "canary"+randomHex(t)
	dir := t.TempDir()
	proof := filepath.Join(t.TempDir(), "proof")
	script := filepath.Join(dir, "worker.sh")
	if err := os.WriteFile(script, []byte(canaryScript), 0o755); err != nil {
		t.Fatal(err)
	}
	beats := newBeatSink(t)

	d := startDaemonWith(t, dir, "", "NEXUS_SECRET_BEAT_KEY="+envCanary)
	d.restartDebug()
	var outputs []captured
	keep := func(name string, r result) result {
		outputs = append(outputs, captured{name + " (stdout)", r.stdout}, captured{name + " (stderr)", r.stderr})
		return r
	}
	keep("secrets put", d.nexusIn(fileCanary, "secrets", "put", "file", "app/token"))
	writeTopology(t, dir, fmt.Sprintf(canaryTopology, script, proof, beats.url()))

	keep("plan", d.mustNexus("plan", "--no-color", "topo"))
	keep("plan -json", d.mustNexus("plan", "-json", "topo"))
	keep("plan -out", d.mustNexus("plan", "--out", "plan.out", "topo"))
	keep("apply plan.out", d.mustNexus("apply", "--no-color", "plan.out"))

	// The module crashed once and came back; each module got its value.
	waitFor(t, "the worker to restart and prove its secrets", 30*time.Second, func() bool {
		e, _ := os.ReadFile(proof + ".env")
		f, _ := os.ReadFile(proof + ".file")
		return len(e) > 0 && len(f) > 0
	})
	want := sha256Hex(fileCanary)
	for _, p := range []string{proof + ".env", proof + ".file"} {
		if b, _ := os.ReadFile(p); strings.TrimSpace(string(b)) != want {
			t.Errorf("%s: the worker did not get the file secret (got hash %q)", p, b)
		}
	}
	waitFor(t, "a beat with the env secret", 30*time.Second, func() bool { return beats.sawToken(envCanary) })
	waitFor(t, "the worker's restart to be recorded", 30*time.Second, func() bool {
		for _, p := range d.status().Projects {
			for _, m := range p.Modules {
				if m.Address == "module.app.worker" && m.Restarts >= 1 && m.State == "started" {
					return true
				}
			}
		}
		return false
	})
	if env := processEnviron("sleep 3100"); !strings.Contains(env, fileCanary) || strings.Contains(env, envCanary) {
		t.Errorf("the worker's environment should hold its own secret and not the heartbeat's")
	}

	// A module whose start fails with the value in its error: the apply
	// stream, its summary, the state's last_error, status and the audit
	// log all carry that error.
	brokenDir := filepath.Join(dir, "broken")
	if err := os.MkdirAll(brokenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokenDir, "main.nexus.hcl"), []byte(brokenTopology), 0o644); err != nil {
		t.Fatal(err)
	}
	r := keep("apply broken", d.nexus("", "apply", "--auto-approve", "--no-color", "broken"))
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "(sensitive value)") {
		t.Errorf("the failing apply: exit %d, want 1 with the value scrubbed from its error\n%s%s", r.code, r.stdout, r.stderr)
	}
	keep("apply broken -json", d.nexus("", "apply", "--auto-approve", "-json", "broken"))
	keep("state pull broken", d.mustNexus("state", "pull", "--project", "broken"))

	keep("plan (no changes)", d.mustNexus("plan", "--no-color", "topo"))
	keep("status", d.mustNexus("status", "--no-color"))
	keep("status --json", d.mustNexus("status", "--json"))
	for _, id := range []string{"app/worker", "app/beat"} {
		outputs = append(outputs, captured{"GET /v1/modules/" + id, d.get(t, "/v1/modules/"+id)})
	}
	outputs = append(outputs, captured{"GET /metrics", d.getTCP(t, "/metrics")},
		captured{"GET /readyz", d.getTCP(t, "/readyz")}, captured{"GET /v1/state/history", d.get(t, "/v1/state/history")})
	keep("state pull", d.mustNexus("state", "pull"))
	keep("state list", d.mustNexus("state", "list"))
	keep("state show", d.mustNexus("state", "show", "module.app.worker"))
	keep("state history", d.mustNexus("state", "history"))
	keep("secrets ls", d.mustNexus("secrets", "ls"))
	r = keep("audit --json", d.mustNexus("audit", "--json"))
	keep("audit", d.mustNexus("audit"))
	for _, typ := range []string{`"type":"module.exited"`, `"type":"module.restarted"`, `"type":"secret.read"`} {
		if !strings.Contains(r.stdout, typ) {
			t.Errorf("the audit log lacks a %s record", typ)
		}
	}

	moduleSecrets := filepath.Join(dir, ".nexus", "projects", "default", "modules", "app.worker", "secrets")
	if b, err := os.ReadFile(filepath.Join(moduleSecrets, "token")); err != nil || string(b) != fileCanary {
		t.Fatalf("the worker's secret file: %q %v (is the module's secrets dir elsewhere?)", b, err)
	}
	providerFile := filepath.Join(dir, ".nexus", "secrets", "app", "token")
	canaries := map[string]string{"the file secret": fileCanary, "the env secret": envCanary}
	for _, p := range []string{providerFile, filepath.Join(moduleSecrets, "token")} {
		if b, _ := os.ReadFile(p); len(leaks(string(b), canaries)) != 1 {
			t.Fatalf("the search does not find the value in %s, where it is", p)
		}
	}
	checkOutputs(t, outputs, canaries)
	checkFiles(t, dir, canaries, moduleSecrets, providerFile)

	// Destroyed, the module's secret files are gone; stopped, the daemon
	// has written its last state, audit and log lines.
	keep("destroy", d.mustNexus("destroy", "--auto-approve", "--no-color", "topo"))
	d.stop()
	if _, err := os.Stat(moduleSecrets); !os.IsNotExist(err) {
		t.Errorf("after destroy the module's secrets dir: %v, want it removed", err)
	}
	checkOutputs(t, outputs, canaries)
	checkFiles(t, dir, canaries, providerFile)
}

// captured is one output of the CLI or the API.
type captured struct{ name, text string }

// forms are the ways a value could be written without being spelled out:
// itself, hex, and base64 (JSON's encoding of []byte) at each alignment.
func forms(v string) []string {
	out := []string{v, hex.EncodeToString([]byte(v))}
	for pad := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			s := enc.EncodeToString(append(make([]byte, pad), v...))
			// Drop the characters that mix in the padding or what follows.
			out = append(out, s[(pad*4+2)/3+1:len(s)-4])
		}
	}
	return out
}

func leaks(text string, canaries map[string]string) []string {
	var found []string
	for what, v := range canaries {
		for _, f := range forms(v) {
			if strings.Contains(text, f) {
				found = append(found, what)
				break
			}
		}
	}
	sort.Strings(found)
	return found
}

func checkOutputs(t *testing.T, outputs []captured, canaries map[string]string) {
	t.Helper()
	for _, o := range outputs {
		if l := leaks(o.text, canaries); len(l) > 0 {
			t.Errorf("%s shows %s", o.name, strings.Join(l, " and "))
		}
	}
}

// checkFiles walks every file under dir (the daemon's data dir and working
// dir: state, journal, history, audit log, daemon log, module logs, plan
// file) except the allowed paths.
func checkFiles(t *testing.T, dir string, canaries map[string]string, allowed ...string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, a := range allowed {
			if path == a {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if l := leaks(string(b), canaries); len(l) > 0 {
			t.Errorf("%s holds %s", path, strings.Join(l, " and "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"audit.log", "state.json", "daemon.out", "stderr.log", "plan.out"} {
		if !hasFile(dir, must) {
			t.Errorf("walked %d files but none named %s: the search missed a place", n, must)
		}
	}
}

func hasFile(dir, name string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.Name() == name {
			found = true
		}
		return nil
	})
	return found
}

// restartDebug restarts the daemon with --log-level debug, so that its log
// holds everything it could say.
func (d *daemonProc) restartDebug() {
	d.t.Helper()
	d.stop()
	logf, err := os.OpenFile(filepath.Join(d.dir, "daemon.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	d.log = logf
	d.cmd = exec.Command(nexusBin, "daemon", "--config", "nexusd.hcl", "--log-format", "json", "--log-level", "debug")
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(cleanEnv(), d.env...)
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	cmd := d.cmd
	d.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	})
	waitFor(d.t, "the daemon to come back", 30*time.Second, func() bool {
		resp, err := http.Get(d.http + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

// get reads an API path over the daemon's socket.
func (d *daemonProc) get(t *testing.T, path string) string {
	t.Helper()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.sock)
	}}}
	return readAll(t, c, "http://nexus"+path)
}

// getTCP reads an open endpoint over the daemon's TCP listener.
func (d *daemonProc) getTCP(t *testing.T, path string) string {
	t.Helper()
	return readAll(t, &http.Client{Timeout: time.Minute}, d.http+path)
}

func readAll(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 && !strings.HasSuffix(url, "/readyz") {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// beatSink receives heartbeats and remembers the bearer tokens they carry.
type beatSink struct {
	l      net.Listener
	mu     sync.Mutex
	tokens map[string]int
}

func newBeatSink(t *testing.T) *beatSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &beatSink{l: l, tokens: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var beat map[string]any
		_ = json.NewDecoder(r.Body).Decode(&beat)
		b.mu.Lock()
		b.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]++
		b.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *beatSink) url() string { return "http://" + b.l.Addr().String() + "/beat" }

func (b *beatSink) sawToken(tok string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[tok] > 0
}

// processEnviron returns the environment of the first process whose
// command line contains needle.
func processEnviron(needle string) string {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), needle) {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		return strings.ReplaceAll(string(env), "\x00", "\n")
	}
	return ""
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestCanary_searchFindsEncodedValues: the canary search is only as good
// as its forms; it must find a value spelled out, in hex, and inside
// base64 at any alignment, with anything around it.
func TestCanary_searchFindsEncodedValues(t *testing.T) {
	v := "canary" + randomHex(t)
	canaries := map[string]string{"v": v}
	for pad := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			blob := append([]byte("prefix"[:pad+1]), v...)
			blob = append(blob, "-suffix"...)
			text := `{"blob":"` + enc.EncodeToString(blob) + `"}`
			if len(leaks(text, canaries)) != 1 {
				t.Errorf("base64 at alignment %d not found: %s", pad, text)
			}
		}
	}
	for _, text := range []string{"x" + v + "y", hex.EncodeToString([]byte("a" + v + "b"))} {
		if len(leaks(text, canaries)) != 1 {
			t.Errorf("not found in %q", text)
		}
	}
	if l := leaks("canary"+randomHex(t), canaries); len(l) != 0 {
		t.Errorf("another value was taken for the canary")
	}
}
