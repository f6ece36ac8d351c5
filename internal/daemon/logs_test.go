package daemon

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordsWith returns the log records whose msg is msg and whose fields
// include want.
func recordsWith(recs []map[string]any, msg string, want map[string]any) []map[string]any {
	var out []map[string]any
next:
	for _, r := range recs {
		if r["msg"] != msg {
			continue
		}
		for k, v := range want {
			if r[k] != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

func TestLogs_everyRequestLoggedOnce(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("apply-req-1", threeTargets)
	if code, _ := h.get("/v1/status", true); code != http.StatusUnauthorized { // TCP without a token
		t.Fatalf("GET /v1/status over TCP without a token: got: %d\nwant: 401", code)
	}
	if code, _ := h.get("/v1/status", false); code != http.StatusOK {
		t.Fatalf("GET /v1/status on the socket: got: %d\nwant: 200", code)
	}
	owner := unixPrincipal(os.Getuid())
	recs := h.logRecords()

	applies := recordsWith(recs, "api request", map[string]any{"request_id": "apply-req-1"})
	if len(applies) != 1 {
		t.Fatalf("got: %d request records with the apply's request id\nwant: 1\n%s", len(applies), h.logs.String())
	}
	r := applies[0]
	if r["principal"] != owner || r["method"] != "POST" || r["path"] != "/v1/apply" || r["status"] != float64(200) || r["level"] != "INFO" {
		t.Errorf("got: %v\nwant: principal %s, POST /v1/apply, status 200", r, owner)
	}
	if _, ok := r["duration_ms"].(float64); !ok {
		t.Errorf("got: %v\nwant: a duration_ms", r)
	}
	for _, path := range []string{"/v1/plan", "/v1/status"} {
		byPath := recordsWith(recs, "api request", map[string]any{"path": path, "status": float64(200)})
		if len(byPath) != 1 || byPath[0]["request_id"] == "" || byPath[0]["principal"] != owner {
			t.Errorf("%s: got: %v\nwant: one record with a request id and the principal", path, byPath)
		}
	}
	denied := recordsWith(recs, "api request", map[string]any{"path": "/v1/status", "status": float64(401)})
	if len(denied) != 1 || denied[0]["principal"] != "" {
		t.Errorf("got: %v\nwant: one record of the unauthenticated request, with no principal", denied)
	}
	// Health and metrics scrapes are not logged: a scraper every 15s would
	// drown the log.
	h.get("/metrics", true)
	h.get("/healthz", true)
	if n := len(recordsWith(h.logRecords(), "api request", map[string]any{"path": "/metrics"})); n != 0 {
		t.Errorf("got: %d records of /metrics\nwant: none", n)
	}
}

func TestLogs_transitionsCarryTheDesignsFields(t *testing.T) {
	h := startTeleDaemon(t, teleOptions{})
	h.mustApply("apply-fields", threeTargets)
	_, sum := h.apply("apply-fails", `
module "proc" "bad" {
  kind = "exec"
  config { command = ["/nonexistent/nexus-test-binary"] }
}
`)
	if sum.Failed != 1 {
		t.Fatalf("got: %+v\nwant: the second apply to fail", sum)
	}
	owner := unixPrincipal(os.Getuid())
	recs := h.logRecords()
	ts := recordsWith(recs, "transition", map[string]any{"request_id": "apply-fields"})
	if len(ts) != 9 {
		t.Fatalf("got: %d transition records of the first apply\nwant: 9 (3 modules × init, load, start)\n%s", len(ts), h.logs.String())
	}
	seen := map[string]bool{}
	for _, r := range ts {
		for _, k := range []string{"module_id", "old_state", "new_state", "transition", "project"} {
			if s, _ := r[k].(string); s == "" {
				t.Errorf("got: %v\nwant: a %s", r, k)
			}
		}
		if _, ok := r["duration_ms"].(float64); !ok || r["principal"] != owner {
			t.Errorf("got: %v\nwant: duration_ms and principal %s", r, owner)
		}
		seen[fmt.Sprintf("%s %s %s→%s", r["module_id"], r["transition"], r["old_state"], r["new_state"])] = true
	}
	for _, want := range []string{"g/a init absent→initialized", "g/b load initialized→loaded", "g/c start loaded→started"} {
		if !seen[want] {
			t.Errorf("got: %v\nwant: a record of %s", seen, want)
		}
	}
	failed := recordsWith(recs, "transition failed", map[string]any{"request_id": "apply-fails", "module_id": "proc/bad", "transition": "start"})
	if len(failed) != 1 || failed[0]["level"] != "ERROR" || failed[0]["new_state"] != "failed" || !strings.Contains(fmt.Sprint(failed[0]["error"]), "does not exist") {
		t.Errorf("got: %v\nwant: one ERROR record of the failed start, with its error", failed)
	}
	done := recordsWith(recs, "apply finished", map[string]any{"request_id": "apply-fails", "principal": owner, "result": "error"})
	if len(done) != 1 {
		t.Errorf("got: %v\nwant: the apply's outcome logged once", done)
	}
}

// TestLogs_secretNeverLeaks sends beats with a secret api key to a target
// that rejects them and echoes the key back, with the daemon logging at
// debug: the key appears in no log line, no metric, no status, no module
// answer, no audit record and no state file.
func TestLogs_secretNeverLeaks(t *testing.T) {
	const canary = "canary-7f3a9c-never-print-me"
	bt := newBeatTarget(t, http.StatusUnauthorized)
	h := startTeleDaemon(t, teleOptions{logLevel: "debug", env: map[string]string{"NEXUS_SECRET_HB_KEY": canary}})
	h.mustApply("apply-secret", heartbeatBlock(bt.url, `secret("env", "hb_key")`))
	h.waitFor("degraded heartbeat", func() bool {
		return len(recordsWith(h.logRecords(), "heartbeat degraded", nil)) > 0
	})
	bt.mu.Lock()
	sent := strings.Join(bt.auth, "\n")
	bt.mu.Unlock()
	if !strings.Contains(sent, "Bearer "+canary) {
		t.Fatalf("got: the target saw %q\nwant: the secret as the bearer token (else this test proves nothing)", sent)
	}
	// A change of interval logs and persists more.
	h.mustApply("apply-interval", strings.Replace(heartbeatBlock(bt.url, `secret("env", "hb_key")`), `interval = "20ms"`, `interval = "30ms"`, 1))

	places := map[string]string{"daemon log": h.logs.String()}
	for _, path := range []string{"/metrics", "/v1/status", "/v1/modules/vitals/heartbeat", "/v1/state?project=default", "/v1/audit"} {
		code, body := h.get(path, false)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		places["GET "+path] = body
	}
	_ = filepath.WalkDir(h.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			places[path] = string(b)
		}
		return nil
	})
	for where, text := range places {
		if strings.Contains(text, canary) {
			t.Errorf("got: the secret's value in %s", where)
		}
	}
	if len(recordsWith(h.logRecords(), "transition", map[string]any{"request_id": "apply-secret"})) != 3 {
		t.Errorf("got log:\n%s\nwant: the heartbeat's three transitions logged", h.logs.String())
	}
	// The module's answer names the secret instead.
	if m, err := h.c.Module(context.Background(), "", "vitals/heartbeat"); err != nil || m.Config["api_key"] != "(secret: env hb_key)" {
		t.Errorf("got: %+v, %v\nwant: api_key shown as (secret: env hb_key)", m, err)
	}
}
