package daemon_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemon"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/rbac"
)

func TestAuth_tcpCredentials(t *testing.T) {
	h := startHarness(t, nil)
	tests := map[string]struct {
		header     map[string]string
		path       string
		wantStatus int
		wantCode   string
		wantInMsg  []string
		wantMiss   []api.Missing
	}{
		"no token": {
			path: "/v1/status", wantStatus: 401, wantCode: api.CodeUnauth, wantInMsg: []string{"no credentials"},
		},
		"not a bearer token": {
			header: map[string]string{"Authorization": "Basic " + operatorToken}, path: "/v1/status",
			wantStatus: 401, wantCode: api.CodeUnauth, wantInMsg: []string{"Bearer <token>"},
		},
		"empty bearer token": {
			header: map[string]string{"Authorization": "Bearer "}, path: "/v1/status",
			wantStatus: 401, wantCode: api.CodeUnauth,
		},
		"wrong token": {
			header: bearer("not-a-token-anyone-has"), path: "/v1/status",
			wantStatus: 401, wantCode: api.CodeUnauth, wantInMsg: []string{"not valid"},
		},
		"a token's hash sent as the token": {
			header: bearer(rbac.HashToken(operatorToken)), path: "/v1/status",
			wantStatus: 401, wantCode: api.CodeUnauth,
		},
		"a token with one byte changed": {
			header: bearer(operatorToken[:len(operatorToken)-1] + "X"), path: "/v1/status",
			wantStatus: 401, wantCode: api.CodeUnauth,
		},
		"principal without a role": {
			header: bearer(noRoleToken), path: "/v1/status",
			wantStatus: 403, wantCode: api.CodeDenied, wantInMsg: []string{"norole@example.com", `"status.read"`},
			wantMiss: []api.Missing{{Permission: "status.read"}},
		},
		"role missing the verb": {
			header: bearer(viewerToken), path: "/v1/state",
			wantStatus: 403, wantCode: api.CodeDenied, wantInMsg: []string{"viewer@example.com", `"state.read"`},
			wantMiss: []api.Missing{{Permission: "state.read"}},
		},
		"role missing audit.read": {
			header: bearer(viewerToken), path: "/v1/audit",
			wantStatus: 403, wantCode: api.CodeDenied, wantMiss: []api.Missing{{Permission: "audit.read"}},
		},
		"role holding the verb": {
			header: bearer(viewerToken), path: "/v1/status", wantStatus: 200,
		},
		"operator": {
			header: bearer(operatorToken), path: "/v1/audit", wantStatus: 200,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := h.do(http.MethodGet, tt.path, "", nil, tt.header)
			if status != tt.wantStatus {
				t.Fatalf("got: %d %s\nwant: %d", status, truncate(body, 300), tt.wantStatus)
			}
			if tt.wantStatus < 400 {
				return
			}
			e := apiError(t, body)
			if e.Code != tt.wantCode {
				t.Errorf("got: code %q\nwant: %q", e.Code, tt.wantCode)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(e.Message, s) {
					t.Errorf("got: message %q\nwant: it to name %s", e.Message, s)
				}
			}
			if tt.wantMiss != nil && !slices.Equal(e.Missing, tt.wantMiss) {
				t.Errorf("got: missing %+v\nwant: %+v", e.Missing, tt.wantMiss)
			}
		})
	}

	// Every refusal is audited, and no token (nor its hash) is written.
	recs := auditRecords(t, h)
	denied := 0
	for _, r := range recs {
		if r.Type == audit.TypeDenied {
			denied++
		}
	}
	if want := 9; denied != want {
		t.Errorf("got: %d denied records\nwant: %d", denied, want)
	}
	raw, err := os.ReadFile(h.cfg.Audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{operatorToken, noRoleToken, viewerToken, rbac.HashToken(operatorToken), "not-a-token-anyone-has"} {
		if strings.Contains(string(raw), tok) || strings.Contains(h.log.String(), tok) {
			t.Errorf("the token %q appears in the audit log or the daemon log", tok)
		}
	}
}

// TestAuth_revokedAfterReload: removing a principal from the config and
// reloading (SIGHUP) makes its token fail at once; a principal whose role
// loses a verb gets 403 for it.
func TestAuth_revokedAfterReload(t *testing.T) {
	h := startHarness(t, nil)
	if st, body := h.do(http.MethodGet, "/v1/state/history", "", nil, bearer(operatorToken)); st != 200 {
		t.Fatalf("before the reload got: %d %s", st, body)
	}
	cfg := *h.cfg
	cfg.Principals = slices.DeleteFunc(slices.Clone(cfg.Principals), func(p daemoncfg.Principal) bool { return p.Name == "ci@example.com" })
	cfg.Roles = slices.Clone(cfg.Roles)
	for i, r := range cfg.Roles {
		if r.Name == "viewer" {
			cfg.Roles[i].Permissions = []string{"plan"}
		}
	}
	if err := h.d.Reload(&cfg); err != nil {
		t.Fatal(err)
	}
	status, body := h.do(http.MethodGet, "/v1/state/history", "", nil, bearer(operatorToken))
	if e := apiError(t, body); status != 401 || e.Code != api.CodeUnauth {
		t.Errorf("revoked token got: %d %+v\nwant: 401 %s", status, e, api.CodeUnauth)
	}
	status, body = h.do(http.MethodGet, "/v1/status", "", nil, bearer(viewerToken))
	if e := apiError(t, body); status != 403 || !slices.Equal(e.Missing, []api.Missing{{Permission: "status.read"}}) {
		t.Errorf("viewer after losing status.read got: %d %+v\nwant: 403 missing status.read", status, e)
	}

	// A reload that fails keeps the policy in force.
	bad := cfg
	bad.Principals = append(slices.Clone(cfg.Principals), daemoncfg.Principal{Name: "x", Roles: []string{"no-such-role"}})
	if err := h.d.Reload(&bad); err == nil || !errors.Is(err, rbac.ErrInvalidPolicy) {
		t.Errorf("reload with an unknown role got: %v\nwant: an error wrapping rbac.ErrInvalidPolicy", err)
	}
	if st, _ := h.do(http.MethodGet, "/v1/status", "", nil, bearer(operatorToken)); st != 401 {
		t.Errorf("after a failed reload the revoked token got: %d, want: 401", st)
	}
}

// TestAuth_expiredPrincipal: a principal past its `expires` is refused
// like an unknown one, whatever proves it; one before it is served.
func TestAuth_expiredPrincipal(t *testing.T) {
	h := startHarness(t, func(c *daemoncfg.Config) {
		for i := range c.Principals {
			switch c.Principals[i].Name {
			case "ci@example.com":
				c.Principals[i].Expires = time.Now().Add(-time.Minute)
			case "viewer@example.com":
				c.Principals[i].Expires = time.Now().Add(time.Hour)
			}
		}
		// The daemon's own uid is admin and never expires.
		c.Principals = append(c.Principals, daemoncfg.Principal{Name: "unix:" + itoa(os.Getuid()), Roles: []string{"viewer"}, Expires: time.Now().Add(-time.Hour)})
	})
	status, body := h.do(http.MethodGet, "/v1/status", "", nil, bearer(operatorToken))
	e := apiError(t, body)
	if status != 401 || e.Code != api.CodeUnauth || !strings.Contains(e.Message, "expired") || !strings.Contains(e.Message, "ci@example.com") {
		t.Errorf("expired principal got: %d %+v\nwant: 401 naming the principal and its expiry", status, e)
	}
	if st, body := h.do(http.MethodGet, "/v1/status", "", nil, bearer(viewerToken)); st != 200 {
		t.Errorf("principal before its expiry got: %d %s", st, body)
	}
	if _, err := h.admin().State(context.Background(), "default"); !isStatus(err, 404) {
		t.Errorf("the daemon's own uid got: %v\nwant: served (404: no state yet)", err)
	}
}

// TestAuth_unixPeerCredentials runs curl as another uid against the socket:
// the principal is that uid, whatever token it sends; and a 0600 socket
// refuses it outright.
func TestAuth_unixPeerCredentials(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if os.Getuid() != 0 || err != nil {
		t.Skip("needs root (to run a client as another uid) and curl")
	}
	const nobody = 65534
	open := startHarness(t, func(c *daemoncfg.Config) {
		c.Listeners[0].Mode = 0o666
		c.Principals = append(c.Principals, daemoncfg.Principal{Name: "unix:65534", Roles: []string{"viewer"}})
	})
	reachable(t, open.sock)
	asNobody := func(h *harness, path string, header ...string) (int, string) {
		args := []string{"-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", h.sock}
		for _, hd := range header {
			args = append(args, "-H", hd)
		}
		cmd := exec.Command(curl, append(args, "http://nexus"+path)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return -ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		i := strings.LastIndexByte(s, '\n')
		return atoi(s[i+1:]), s[:i]
	}
	if st, body := asNobody(open, "/v1/status"); st != 200 {
		t.Errorf("unix:65534 (viewer) GET /v1/status got: %d %s", st, body)
	}
	st, body := asNobody(open, "/v1/state", "Authorization: Bearer "+operatorToken)
	if st != 403 || !strings.Contains(body, "unix:65534") || !strings.Contains(body, `state.read`) {
		t.Errorf("unix:65534 with the operator's token got: %d %s\nwant: 403 for unix:65534 (peer credentials win on the socket)", st, body)
	}

	closed := startHarness(t, nil) // mode 0600
	reachable(t, closed.sock)
	if st, body := asNobody(closed, "/v1/status"); st != -7 { // curl: failed to connect
		t.Errorf("another uid on a 0600 socket got: %d %s\nwant: the connection refused (curl exit 7)", st, body)
	}
}

// TestAuth_plainTCPOnlyOnLoopback: a token must not cross a network in
// clear, so a TCP listener without TLS is refused off loopback.
func TestAuth_plainTCPOnlyOnLoopback(t *testing.T) {
	cfg := baseConfig(t.TempDir(), shortTempDir(t), freePort(t))
	cfg.Listeners[1].Address = "0.0.0.0:" + itoa(freePort(t))
	d, err := daemon.New(context.Background(), cfg, builtin.Registry(), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Start(context.Background())
	if shut := d.Shutdown(context.Background()); shut != nil {
		t.Errorf("shutdown: %v", shut)
	}
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "tls") {
		t.Errorf("got: %v\nwant: plain HTTP refused off loopback, naming the tls block", err)
	}
}

// reachable makes dir's parents traversable by other uids, so that only
// the socket's own mode decides who connects.
func reachable(t *testing.T, sock string) {
	t.Helper()
	for dir := filepath.Dir(sock); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
}

func auditRecords(t *testing.T, h *harness) []audit.Record {
	t.Helper()
	resp, err := h.admin().Audit(context.Background(), "1h")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Records
}

func isStatus(err error, status int) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == status
}
