package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemon"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/rbac"
)

// Tokens of the principals every harness daemon knows (see baseConfig).
const (
	operatorToken = "operator-token-0123456789"
	viewerToken   = "viewer-token-0123456789"
	noRoleToken   = "norole-token-0123456789"
	narrowToken   = "narrow-token-0123456789"
)

// baseConfig is a daemon config on dataDir with a unix socket (in sockDir,
// kept short for the 108-byte socket path limit), a plain TCP listener on
// 127.0.0.1:port, and four token principals:
//
//   - ci@example.com (operator): plan, apply, module.*, state.*, status.read,
//     audit.read, secret.write, heartbeat.send
//   - viewer@example.com (viewer): plan, status.read
//   - norole@example.com: declared, holding no role
//   - narrow@example.com (narrow): plan, apply, module.*, status.read, state.read — no kind permissions
func baseConfig(dataDir, sockDir string, port int) *daemoncfg.Config {
	return &daemoncfg.Config{
		DataDir:             dataDir,
		Node:                "test",
		SecretCheckInterval: time.Hour,
		Listeners: []daemoncfg.Listener{
			{Type: "unix", Path: filepath.Join(sockDir, "nexus.sock"), Mode: 0o600},
			{Type: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", port)},
		},
		State: daemoncfg.State{Type: "file", Path: filepath.Join(dataDir, "state")},
		Secrets: []daemoncfg.Secrets{
			{Type: "file", Name: "file", Dir: filepath.Join(dataDir, "secrets")},
			{Type: "env", Name: "env", Prefix: "NEXUS_SECRET_"},
		},
		Roles: []daemoncfg.Role{
			{Name: "operator", Permissions: []string{"plan", "apply", "module.*", "state.*", "status.read", "audit.read", "secret.write", "heartbeat.send"}},
			{Name: "viewer", Permissions: []string{"plan", "status.read"}},
			{Name: "narrow", Permissions: []string{"plan", "apply", "module.*", "status.read", "state.read"}},
		},
		Principals: []daemoncfg.Principal{
			{Name: "ci@example.com", TokenSHA256: rbac.HashToken(operatorToken), Roles: []string{"operator"}},
			{Name: "viewer@example.com", TokenSHA256: rbac.HashToken(viewerToken), Roles: []string{"viewer"}},
			{Name: "norole@example.com", TokenSHA256: rbac.HashToken(noRoleToken), Roles: []string{}},
			{Name: "narrow@example.com", TokenSHA256: rbac.HashToken(narrowToken), Roles: []string{"narrow"}},
		},
		Audit: daemoncfg.Audit{Path: filepath.Join(dataDir, "audit.log")},
	}
}

// harness is a real daemon (daemon.New + Start) running in the test
// process on a temp data dir.
type harness struct {
	t       *testing.T
	d       *daemon.Daemon
	cfg     *daemoncfg.Config
	dataDir string
	sock    string
	tcp     string // http://127.0.0.1:port
	log     *syncBuffer
	stopped bool
}

// startHarness starts a daemon on baseConfig, after edit (if non-nil) has
// changed the config. It is shut down when the test ends.
func startHarness(t *testing.T, edit func(*daemoncfg.Config)) *harness {
	t.Helper()
	return startHarnessOpts(t, edit, daemon.Options{})
}

// startHarnessOpts is startHarness with daemon options; the logger, the
// metrics registry and the env lookup are the harness's own.
func startHarnessOpts(t *testing.T, edit func(*daemoncfg.Config), opts daemon.Options) *harness {
	t.Helper()
	dataDir := t.TempDir()
	sockDir := shortTempDir(t)
	var lastErr error
	for range 5 { // another process may take the free port before the daemon does
		port := freePort(t)
		cfg := baseConfig(dataDir, sockDir, port)
		if edit != nil {
			edit(cfg)
		}
		h := &harness{t: t, cfg: cfg, dataDir: dataDir, sock: cfg.SocketPath(), log: &syncBuffer{}}
		for _, l := range cfg.Listeners {
			if l.Type == "tcp" && l.TLS == nil {
				h.tcp = "http://" + l.Address
				break
			}
		}
		logger := slog.New(slog.NewJSONHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		ctx := context.Background()
		opts.Logger, opts.Metrics = logger, prometheus.NewRegistry()
		opts.LookupEnv = func(string) (string, bool) { return "", false }
		d, err := daemon.New(ctx, cfg, builtin.Registry(), opts)
		if err != nil {
			t.Fatalf("daemon.New: %v", err)
		}
		if err := d.Start(ctx); err != nil {
			_ = d.Shutdown(ctx)
			lastErr = err
			if strings.Contains(err.Error(), "address already in use") {
				continue
			}
			t.Fatalf("daemon.Start: %v", err)
		}
		h.d = d
		t.Cleanup(h.stop)
		return h
	}
	t.Fatalf("daemon.Start: %v", lastErr)
	return nil
}

// stop shuts the daemon down (once) and fails the test on a shutdown error.
func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.d.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	if h.t.Failed() {
		h.t.Logf("daemon log:\n%s", tail(h.log.String(), 40))
	}
}

// admin is a client on the unix socket: the test runs as the daemon's uid,
// which is admin.
func (h *harness) admin() *client.Client {
	h.t.Helper()
	c, err := client.New("unix://"+h.sock, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// tokenClient is a client on the TCP listener with a bearer token.
func (h *harness) tokenClient(token string) *client.Client {
	h.t.Helper()
	c, err := client.New(h.tcp, token)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// do sends a raw request to the TCP listener and returns the status and
// body. header holds extra headers ("Authorization" among them).
func (h *harness) do(method, path, contentType string, body io.Reader, header map[string]string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.tcp+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, buf
}

// plan plans src (one main.nexus.hcl) through c.
func plan(t *testing.T, c *client.Client, src string) *api.PlanResponse {
	t.Helper()
	resp, err := c.Plan(context.Background(), &api.PlanRequest{Dir: "topo", Files: map[string][]byte{"main.nexus.hcl": []byte(src)}})
	if err != nil {
		if resp != nil {
			t.Fatalf("plan: %v: %+v", err, resp.Diagnostics)
		}
		t.Fatalf("plan: %v", err)
	}
	return resp
}

// apply applies a plan through c and returns its summary.
func apply(t *testing.T, c *client.Client, resp *api.PlanResponse) (*api.ApplySummary, error) {
	t.Helper()
	return c.Apply(context.Background(), "", &api.ApplyRequest{Plan: resp.Plan, LockTimeout: "30s"}, nil)
}

// apiError decodes a JSON error answer, failing the test when the body is
// not one.
func apiError(t *testing.T, body []byte) api.Error {
	t.Helper()
	var e struct {
		Error *api.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got body %q, want a JSON error {\"error\": {\"code\", \"message\"}}", truncate(body, 300))
	}
	return *e.Error
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
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

// shortTempDir is a temp dir with a short path, for unix sockets.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// waitFor polls ok until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) int {
	i, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1000
	}
	return i
}
