package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// fuzzRoutes are the routes that read a request body.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/plan"}, {"POST", "/v1/apply"}, {"POST", "/v1/apply/cancel"}, {"POST", "/v1/state/rm"},
	{"POST", "/v1/state/push"}, {"POST", "/v1/force-unlock"}, {"POST", "/v1/secrets"}, {"DELETE", "/v1/secrets"},
}

// FuzzAPI_requestBodies sends arbitrary bodies to every body route as the
// daemon's admin: whatever the bytes, the answer is a 2xx or a 4xx with a
// JSON error, never a 5xx or a panic.
func FuzzAPI_requestBodies(f *testing.F) {
	dir := f.TempDir()
	cfg := &daemoncfg.Config{
		DataDir: dir, Node: "fuzz", SecretCheckInterval: time.Hour,
		State:   daemoncfg.State{Type: "file", Path: filepath.Join(dir, "state")},
		Secrets: []daemoncfg.Secrets{{Type: "file", Name: "file", Dir: filepath.Join(dir, "secrets")}},
		Audit:   daemoncfg.Audit{Path: filepath.Join(dir, "audit.log")},
	}
	d, err := New(context.Background(), cfg, builtin.Registry(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	h := d.routes()
	for i := range fuzzRoutes {
		for _, seed := range []string{
			`{}`, `null`, `[]`, `{"files": {"main.nexus.hcl": "bW9kdWxlICJhIiAiYiIgeyBraW5kID0gInRhcmdldCIgfQ=="}}`,
			`{"plan": {"format_version": "1.0", "project": "default", "changes": []}}`,
			`{"plan": {"format_version": "1.0", "project": "p", "changes": [{"address": "module.a.b", "action": "create", "transitions": ["init"], "after": {"address": "module.a.b", "kind": "target", "config": {}}}]}}`,
			`{"plan": {"format_version": "1.0", "project": "p", "changes": [null]}}`,
			`{"state": {"version": 1, "project": "default", "lineage": "x", "serial": 9, "modules": {"m": null}}}`,
			`{"state": {"version": 1, "project": "default", "lineage": "x", "serial": 9, "modules": {"module.a.b": {"spec": {"address": "module.a.b", "kind": "target", "config": {}}, "state": "started"}}}}`,
			`{"project": "default", "addresses": ["module.a.b"]}`, `{"id": "x"}`,
			`{"provider": "file", "path": "a/b", "value": "v"}`, `{"provider": "nope", "path": "../b"}`,
		} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(context.WithValue(req.Context(), keyPeerUID, os.Getuid()))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: got %d %s", rt.method, rt.path, body, rec.Code, rec.Body.String())
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/x-ndjson") {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: got %d with a body that is not JSON: %q", rt.method, rt.path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Code != http.StatusUnprocessableEntity && !bytes.Contains(rec.Body.Bytes(), []byte(`"error"`)) {
			t.Fatalf("%s %s %q: got %d without an error object: %s", rt.method, rt.path, body, rec.Code, rec.Body.String())
		}
	})
}
