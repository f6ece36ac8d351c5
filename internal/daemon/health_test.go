package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

func TestHealthz_aliveWithoutCredentials(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	code, body := h.get("/healthz", true)
	var doc struct {
		Status  string  `json:"status"`
		Version string  `json:"version"`
		Uptime  float64 `json:"uptime_seconds"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || code != http.StatusOK || doc.Status != "ok" || doc.Version == "" {
		t.Errorf("got: %d %s\nwant: 200 with status ok and the version", code, body)
	}
}

type readyDoc struct {
	Ready    bool     `json:"ready"`
	Starting bool     `json:"starting"`
	NotReady []string `json:"not_ready"`
}

func (h *teleDaemon) readyz() (int, readyDoc) {
	h.t.Helper()
	code, body := h.get("/readyz", true)
	var doc readyDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		h.t.Fatalf("GET /readyz: %v\n%s", err, body)
	}
	return code, doc
}

func TestReadyz_followsEveryStartedModule(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	if code, doc := h.readyz(); code != http.StatusOK || !doc.Ready {
		t.Fatalf("got: %d %+v with no modules\nwant: ready", code, doc)
	}
	// A probe of a port nothing listens on yet: started, not ready.
	port := teleFreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h.mustApply("", fmt.Sprintf(`
module "net" "upstream" {
  kind = "probe"
  config {
    tcp      = %q
    interval = "20ms"
  }
}
module "g" "idle" {
  kind  = "target"
  state = "stopped"
}
`, addr))
	code, doc := h.readyz()
	if code != http.StatusServiceUnavailable || doc.Ready || len(doc.NotReady) != 1 || doc.NotReady[0] != "default:module.net.upstream" {
		t.Errorf("got: %d %+v\nwant: 503 naming only the probe (a module meant to be stopped does not count)", code, doc)
	}
	st, err := h.c.Status(context.Background(), "")
	if err != nil || st.Ready {
		t.Errorf("got: status ready %v (%v)\nwant: not ready", st.Ready, err)
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	h.waitFor("/readyz to turn ready", func() bool {
		code, doc := h.readyz()
		return code == http.StatusOK && doc.Ready
	})
	st, err = h.c.Status(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Projects[0].Modules {
		if m.ID == "net/upstream" && (!m.Health.Ready || m.Health.Status != "healthy") {
			t.Errorf("got: %+v\nwant: the probe healthy and ready in status", m.Health)
		}
	}
}

func TestReadyz_notReadyUntilStarted(t *testing.T) {
	dir := t.TempDir()
	cfg := &daemoncfg.Config{
		DataDir: filepath.Join(dir, "data"), SecretCheckInterval: time.Hour,
		State: daemoncfg.State{Type: "file", Path: filepath.Join(dir, "data", "state")},
		Audit: daemoncfg.Audit{Path: filepath.Join(dir, "data", "audit.log")},
	}
	d, err := New(context.Background(), cfg, builtin.Registry(), Options{Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.closeAll()
	rec := httptest.NewRecorder()
	d.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var doc readyDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != http.StatusServiceUnavailable || !doc.Starting {
		t.Errorf("got: %d %s\nwant: 503, starting, before the daemon brought its modules back", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	d.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("got: /healthz %d while starting\nwant: 200 (alive)", rec.Code)
	}
}
