package daemon

// The observability tests' harness: an in-process daemon with its own data
// directory, a unix socket (the test's uid is the daemon's own, so admin), a
// TCP listener on 127.0.0.1 for the open endpoints, a fresh metrics
// registry and a JSON log captured in memory.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/telemetry"
)

// teleOptions tune a teleDaemon.
type teleOptions struct {
	// env serves the env secret provider (prefix NEXUS_SECRET_).
	env map[string]string
	// logLevel is the JSON log's level; "" means info, the daemon's default.
	logLevel string
}

// teleDaemon is a running in-process daemon and a client for it.
type teleDaemon struct {
	t        testing.TB
	d        *Daemon
	reg      *prometheus.Registry
	logs     *lockedBuffer
	c        *client.Client
	dataDir  string
	sock     string
	httpURL  string
	unixHTTP *http.Client
}

// startTeleDaemon starts a daemon and stops it when the test ends.
func startTeleDaemon(t testing.TB, o teleOptions) *teleDaemon {
	t.Helper()
	// A unix socket path must stay under 108 bytes: a short temp dir, not
	// t.TempDir (which holds the test's name).
	dir, err := os.MkdirTemp("", "nxtele")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := teleFreePort(t)
	cfg := &daemoncfg.Config{
		DataDir:             filepath.Join(dir, "data"),
		Node:                "test-node",
		SecretCheckInterval: time.Hour,
		Listeners: []daemoncfg.Listener{
			{Type: "unix", Path: filepath.Join(dir, "nexus.sock"), Mode: 0o600},
			{Type: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", port)},
		},
		State: daemoncfg.State{Type: "file", Path: filepath.Join(dir, "data", "state")},
		Secrets: []daemoncfg.Secrets{
			{Type: "file", Name: "file", Dir: filepath.Join(dir, "data", "secrets")},
			{Type: "env", Name: "env", Prefix: daemoncfg.DefaultEnvPrefix},
		},
		Audit: daemoncfg.Audit{Path: filepath.Join(dir, "data", "audit.log")},
	}
	level := o.logLevel
	if level == "" {
		level = "info"
	}
	logs := &lockedBuffer{}
	logger, err := telemetry.NewLogger(logs, "json", level)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	lookup := func(k string) (string, bool) { v, ok := o.env[k]; return v, ok }
	ctx := context.Background()
	d, err := New(ctx, cfg, builtin.Registry(), Options{Logger: logger, Metrics: reg, LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		d.closeAll()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	c, err := client.New("unix://"+cfg.Listeners[0].Path, "")
	if err != nil {
		t.Fatal(err)
	}
	sock := cfg.Listeners[0].Path
	return &teleDaemon{t: t, d: d, reg: reg, logs: logs, c: c, dataDir: cfg.DataDir, sock: sock,
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", port),
		unixHTTP: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}}},
	}
}

// plan plans one file's topology through the API; it fails the test on
// diagnostics.
func (h *teleDaemon) plan(src string) *api.PlanResponse {
	h.t.Helper()
	resp, err := h.c.Plan(context.Background(), &api.PlanRequest{Dir: "topo", Files: map[string][]byte{"main.nexus.hcl": []byte(src)}})
	if err != nil {
		h.t.Fatalf("plan: %v (diagnostics: %+v)", err, resp)
	}
	return resp
}

// apply plans src and applies the plan with request id id ("" for a new
// one), returning the stream's messages and its summary.
func (h *teleDaemon) apply(id, src string) ([]api.Message, *api.ApplySummary) {
	h.t.Helper()
	p := h.plan(src).Plan
	if id == "" {
		id = uuid.NewString()
	}
	var msgs []api.Message
	sum, err := h.c.Apply(context.Background(), id, &api.ApplyRequest{Plan: p}, func(m api.Message) { msgs = append(msgs, m) })
	if sum == nil {
		h.t.Fatalf("apply: %v", err)
	}
	return msgs, sum
}

// mustApply is apply that requires every change to succeed.
func (h *teleDaemon) mustApply(id, src string) []api.Message {
	h.t.Helper()
	msgs, sum := h.apply(id, src)
	if sum.Failed > 0 || sum.Skipped > 0 || sum.NotStarted > 0 {
		h.t.Fatalf("apply: got: %+v\nwant: every change to succeed", sum)
	}
	return msgs
}

// get fetches path over TCP with no credentials (tcp) or over the unix
// socket, and returns the status and body.
func (h *teleDaemon) get(path string, tcp bool) (int, string) {
	h.t.Helper()
	url, hc := h.httpURL+path, http.DefaultClient
	if !tcp {
		url, hc = "http://nexus"+path, h.unixHTTP
	}
	resp, err := hc.Get(url)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// waitFor polls cond until it holds or a generous deadline passes.
func (h *teleDaemon) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// family returns the metric family called name, as /metrics serves it,
// or nil.
func (h *teleDaemon) family(name string) *dto.MetricFamily {
	h.t.Helper()
	mfs, err := h.d.metrics.Gatherer().Gather()
	if err != nil {
		h.t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// metricValue returns the value of the counter or gauge name whose labels
// include want, and whether one exists.
func (h *teleDaemon) metricValue(name string, want map[string]string) (float64, bool) {
	h.t.Helper()
	mf := h.family(name)
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// logRecords parses the captured JSON log, one record a line.
func (h *teleDaemon) logRecords() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			h.t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for the daemon's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func teleFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// beatTarget is an HTTP server heartbeats send to; it answers with status
// and counts the beats it received.
type beatTarget struct {
	srv    *http.Server
	url    string
	mu     sync.Mutex
	beats  int
	auth   []string
	status int
}

func newBeatTarget(t testing.TB, status int) *beatTarget {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &beatTarget{url: "http://" + l.Addr().String() + "/beat", status: status}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.beats++
		b.auth = append(b.auth, r.Header.Get("Authorization"))
		b.mu.Unlock()
		w.WriteHeader(b.status)
		// An unhelpful server echoing the credentials it got: nothing of
		// the answer may reach a log line or an error message.
		fmt.Fprintf(w, "you sent %s\n", r.Header.Get("Authorization"))
	})}
	done := make(chan struct{})
	go func() { defer close(done); _ = b.srv.Serve(l) }()
	t.Cleanup(func() { b.srv.Close(); <-done })
	return b
}

func (b *beatTarget) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.beats
}
