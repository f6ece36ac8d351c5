package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemon"
)

// postRoutes are the API's routes that take a JSON body.
var postRoutes = []struct{ method, path string }{
	{"POST", "/v1/plan"},
	{"POST", "/v1/apply"},
	{"POST", "/v1/apply/cancel"},
	{"POST", "/v1/state/rm"},
	{"POST", "/v1/state/push"},
	{"POST", "/v1/force-unlock"},
	{"POST", "/v1/secrets"},
	{"DELETE", "/v1/secrets"},
}

// TestAPI_malformedRequests sends every body route bad bodies: each gets a
// 4xx with a JSON error, and the daemon goes on serving.
func TestAPI_malformedRequests(t *testing.T) {
	h := startHarness(t, nil)
	bodies := map[string]struct {
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		"no content type":       {"", `{}`, 415, api.CodeUnsupported},
		"wrong content type":    {"text/plain", `{}`, 415, api.CodeUnsupported},
		"form content type":     {"application/x-www-form-urlencoded", `a=b`, 415, api.CodeUnsupported},
		"broken content type":   {"application/json; charset", `{}`, 415, api.CodeUnsupported},
		"empty body":            {"application/json", ``, 400, api.CodeBadRequest},
		"truncated JSON":        {"application/json", `{"plan": {"format_version": "1.`, 400, api.CodeBadRequest},
		"not JSON":              {"application/json", `<xml/>`, 400, api.CodeBadRequest},
		"unknown field":         {"application/json", `{"surprise": true}`, 400, api.CodeBadRequest},
		"two values":            {"application/json", `{} {}`, 400, api.CodeBadRequest},
		"an array":              {"application/json", `[1, 2]`, 400, api.CodeBadRequest},
		"a string":              {"application/json", `"hello"`, 400, api.CodeBadRequest},
		"invalid UTF-8 JSON":    {"application/json", "{\"project\": \"\xff\xfe\"}", 400, ""},
		"deeply nested":         {"application/json", strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000), 400, api.CodeBadRequest},
		"charset parameter, {}": {"application/json; charset=utf-8", `{}`, 400, ""},
		"wrong type of a field": {"application/json", `{"project": 7, "files": 7, "plan": 7, "state": 7, "id": 7, "provider": 7}`, 400, api.CodeBadRequest},
		"null":                  {"application/json", `null`, 400, ""},
	}
	for _, route := range postRoutes {
		for name, tt := range bodies {
			t.Run(route.method+" "+route.path+"/"+name, func(t *testing.T) {
				status, body := h.do(route.method, route.path, tt.contentType, strings.NewReader(tt.body), bearer(operatorToken))
				if status < 400 || status >= 500 {
					t.Fatalf("got: %d %s\nwant: a 4xx", status, truncate(body, 300))
				}
				if tt.wantStatus != 0 && tt.wantCode != "" && status != tt.wantStatus {
					t.Errorf("got: %d\nwant: %d", status, tt.wantStatus)
				}
				if status == http.StatusUnprocessableEntity && route.path == "/v1/plan" {
					// A request that decodes but holds no usable
					// configuration is answered with diagnostics.
					var pr api.PlanResponse
					if err := json.Unmarshal(body, &pr); err != nil || len(pr.Diagnostics) == 0 {
						t.Errorf("got: 422 %s\nwant: diagnostics", truncate(body, 300))
					}
					return
				}
				e := apiError(t, body)
				if tt.wantCode != "" && e.Code != tt.wantCode {
					t.Errorf("got: code %q (%s)\nwant: %q", e.Code, e.Message, tt.wantCode)
				}
			})
		}
	}
	if st, body := h.do("GET", "/healthz", "", nil, nil); st != 200 {
		t.Errorf("after the bad requests /healthz got: %d %s", st, body)
	}
	if st, _ := h.do("GET", "/v1/state?project=default", "", nil, bearer(operatorToken)); st != 404 {
		t.Errorf("after the bad requests the state got: %d, want: 404 (none of them wrote one)", st)
	}
}

// TestAPI_routesAnswerJSON: a wrong method is 405 with Allow, an unknown
// path 404, both JSON; bad query values are 400 and bad project names
// never reach a store.
func TestAPI_routesAnswerJSON(t *testing.T) {
	h := startHarness(t, nil)
	tests := map[string]struct {
		method, path string
		body         string
		wantStatus   int
		wantCode     string
		wantAllow    string
	}{
		"GET on a POST route":     {method: "GET", path: "/v1/plan", wantStatus: 405, wantCode: api.CodeMethodNotAllowed, wantAllow: "POST"},
		"PUT on a GET route":      {method: "PUT", path: "/v1/status", wantStatus: 405, wantCode: api.CodeMethodNotAllowed, wantAllow: "GET"},
		"PATCH on secrets":        {method: "PATCH", path: "/v1/secrets", wantStatus: 405, wantCode: api.CodeMethodNotAllowed, wantAllow: "GET, POST, DELETE"},
		"POST on metrics":         {method: "POST", path: "/metrics", wantStatus: 405, wantCode: api.CodeMethodNotAllowed, wantAllow: "GET"},
		"unknown path":            {method: "GET", path: "/v2/status", wantStatus: 404, wantCode: api.CodeNotFound},
		"unknown module":          {method: "GET", path: "/v1/modules/nope/nope", wantStatus: 404, wantCode: api.CodeNotFound},
		"traversing path":         {method: "GET", path: "/v1/../../etc/passwd", wantStatus: 404, wantCode: api.CodeNotFound},
		"bad since":               {method: "GET", path: "/v1/audit?since=yesterday", wantStatus: 400, wantCode: api.CodeBadRequest},
		"project ../ in state":    {method: "GET", path: "/v1/state?project=../../etc", wantStatus: 400, wantCode: api.CodeBadRequest},
		"project / in history":    {method: "GET", path: "/v1/state/history?project=a/b", wantStatus: 400, wantCode: api.CodeBadRequest},
		"project ../ in state rm": {method: "POST", path: "/v1/state/rm", body: `{"project": "../x", "addresses": ["module.a.b"]}`, wantStatus: 400, wantCode: api.CodeBadRequest},
		"project ../ in unlock":   {method: "POST", path: "/v1/force-unlock", body: `{"project": "../x", "id": "1"}`, wantStatus: 400, wantCode: api.CodeBadRequest},
		"project ../ in apply": {method: "POST", path: "/v1/apply", wantStatus: 400, wantCode: api.CodeBadRequest,
			body: `{"plan": {"format_version": "1.0", "project": "../../x", "changes": []}}`},
		"project ../ in push": {method: "POST", path: "/v1/state/push", wantStatus: 400, wantCode: api.CodeBadRequest,
			body: `{"state": {"version": 1, "project": "../../x", "lineage": "5c2b3a8e-7a9f-4c59-9a53-3b8f1d7a0e11", "serial": 2, "modules": {}}}`},
		"state rm of nothing":  {method: "POST", path: "/v1/state/rm", body: `{"addresses": []}`, wantStatus: 400, wantCode: api.CodeBadRequest},
		"unlock without an id": {method: "POST", path: "/v1/force-unlock", body: `{}`, wantStatus: 400, wantCode: api.CodeBadRequest},
		"history limit huge":   {method: "GET", path: "/v1/state/history?limit=999999999", wantStatus: 200},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ct := ""
			if tt.body != "" {
				ct = "application/json"
			}
			req, err := http.NewRequest(tt.method, h.tcp+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tt.path[:strings.IndexAny(tt.path+"?", "?")] // keep "/../" as sent
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			req.Header.Set("Authorization", "Bearer "+operatorToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got: %d %s\nwant: %d", resp.StatusCode, truncate(body, 300), tt.wantStatus)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("got: Allow %q\nwant: %q", got, tt.wantAllow)
			}
			if tt.wantStatus >= 400 {
				if e := apiError(t, body); e.Code != tt.wantCode {
					t.Errorf("got: code %q (%s)\nwant: %q", e.Code, e.Message, tt.wantCode)
				}
			} else if !json.Valid(body) || strings.Contains(string(body), "null") {
				t.Errorf("got: %s\nwant: JSON with lists, not nulls", body)
			}
		})
	}
}

// TestAPI_hugeBodyRefusedUnread: a 100 MB body is refused with 413 without
// the daemon reading it: announced by Content-Length, it is refused before
// a byte is read; sent chunked, reading stops at api.MaxRequestBytes.
func TestAPI_hugeBodyRefusedUnread(t *testing.T) {
	h := startHarness(t, nil)
	const huge = 100 << 20
	tests := map[string]struct {
		chunked    bool
		token      string
		wantStatus int
		maxRead    int64 // what the daemon may have taken, socket buffers included
	}{
		"content-length":          {wantStatus: 413, maxRead: 16 << 20},
		"chunked":                 {chunked: true, wantStatus: 413, maxRead: api.MaxRequestBytes + 16<<20},
		"content-length, no auth": {token: "-", wantStatus: 401, maxRead: 16 << 20},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(h.tcp, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			head := "POST /v1/plan HTTP/1.1\r\nHost: nexus\r\nContent-Type: application/json\r\n"
			if tt.token == "" {
				head += "Authorization: Bearer " + operatorToken + "\r\n"
			}
			if tt.chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", huge)
			}
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			// The body is a valid JSON prefix, so only its size can stop it.
			var sent atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				chunk := []byte(strings.Repeat("A", 1<<20))
				first := []byte(`{"files": {"main.nexus.hcl": "`)
				for sent.Load() < huge {
					data := chunk
					if sent.Load() == 0 {
						data = append(first, chunk[len(first):]...)
					}
					if tt.chunked {
						data = append(fmt.Appendf(nil, "%x\r\n", len(data)), append(data, "\r\n"...)...)
					}
					_ = conn.SetWriteDeadline(time.Now().Add(time.Minute))
					n, err := conn.Write(data)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a 100 MB body: %v (sent %d bytes)", err, sent.Load())
			}
			body, _ := io.ReadAll(resp.Body)
			conn.Close() // stops the writer
			wg.Wait()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got: %d %s\nwant: %d", resp.StatusCode, truncate(body, 300), tt.wantStatus)
			}
			if e := apiError(t, body); tt.wantStatus == 413 && e.Code != api.CodeTooLarge {
				t.Errorf("got: code %q, want: %q", e.Code, api.CodeTooLarge)
			}
			if got := sent.Load(); got > tt.maxRead {
				t.Errorf("the client sent %d MiB before the daemon answered and hung up; want at most %d MiB", got>>20, tt.maxRead>>20)
			}
		})
	}
	if st, body := h.do("GET", "/v1/status", "", nil, bearer(operatorToken)); st != 200 {
		t.Errorf("after the huge bodies got: %d %s", st, body)
	}
}

// TestAPI_slowClientsDoNotBlockOthers holds connections that trickle their
// headers byte by byte, that stay silent, and that trickle a body, on the
// TCP listener and the socket, while other clients are served; the daemon
// then drops the header tricklers and the silent ones by itself.
func TestAPI_slowClientsDoNotBlockOthers(t *testing.T) {
	h := startHarness(t, nil)
	tcpAddr := strings.TrimPrefix(h.tcp, "http://")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	type slow struct {
		name string
		conn net.Conn
		drop bool // the daemon must hang up on it by itself
	}
	var slows []slow
	dial := func(network, addr string) net.Conn {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	trickle := func(c net.Conn, data string, every time.Duration) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < len(data); i++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(every):
				}
				if _, err := c.Write([]byte{data[i]}); err != nil {
					return
				}
			}
		}()
	}
	request := "POST /v1/plan HTTP/1.1\r\nHost: nexus\r\nAuthorization: Bearer " + operatorToken + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	for i := range 20 {
		for _, net := range [][2]string{{"tcp", tcpAddr}, {"unix", h.sock}} {
			c := dial(net[0], net[1])
			trickle(c, request, 300*time.Millisecond)
			slows = append(slows, slow{fmt.Sprintf("%s header trickler %d", net[0], i), c, true})
			slows = append(slows, slow{fmt.Sprintf("%s silent %d", net[0], i), dial(net[0], net[1]), true})
		}
	}
	for i := range 5 {
		c := dial("tcp", tcpAddr)
		head := "POST /v1/plan HTTP/1.1\r\nHost: nexus\r\nAuthorization: Bearer " + operatorToken + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		trickle(c, `{"files": {}}`, time.Second)
		slows = append(slows, slow{fmt.Sprintf("body trickler %d", i), c, false})
	}

	// Others are served meanwhile, over both listeners.
	admin, op := h.admin(), h.tokenClient(operatorToken)
	for i := range 20 {
		for _, c := range []interface {
			Healthz(context.Context) error
		}{admin, op} {
			rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := c.Healthz(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("request %d while %d slow clients hold connections: %v", i, len(slows), err)
			}
		}
		if _, err := op.Status(context.Background(), ""); err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
	}

	// The daemon hangs up on the clients that never finish their headers
	// (its header timeout is 10s) without anyone's help.
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range slows {
		if !s.drop {
			continue
		}
		_ = s.conn.SetReadDeadline(deadline)
		buf, err := io.ReadAll(s.conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the daemon still holds the connection after a minute", s.name)
			continue
		}
		if strings.Contains(string(buf), "200 OK") {
			t.Errorf("%s: got an answer: %q", s.name, truncate(buf, 100))
		}
	}
}

// TestAPI_stalledApplyStreamReleasesTheLock: a client that starts an apply
// and then stops reading its stream (a suspended CI runner) must not hold
// the project's lock forever: once a write to it has waited the stream
// timeout, the client counts as gone, the apply is interrupted like on a
// hang-up, and the next apply goes through.
func TestAPI_stalledApplyStreamReleasesTheLock(t *testing.T) {
	h := startHarnessOpts(t, nil, daemon.Options{StreamTimeout: 2 * time.Second})
	admin := h.admin()
	var src strings.Builder
	const n = 400 // enough events to fill the socket's buffer
	for i := range n {
		fmt.Fprintf(&src, "module \"t\" \"m%03d\" {\n  kind = \"target\"\n}\n", i)
	}
	p := plan(t, admin, src.String())
	body, err := json.Marshal(api.ApplyRequest{Plan: p.Plan})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.(*net.UnixConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST /v1/apply HTTP/1.1\r\nHost: nexus\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing. Another apply waits for the lock.
	sum, err := admin.Apply(context.Background(), "", &api.ApplyRequest{Plan: plan(t, admin, src.String()).Plan, LockTimeout: "2m"}, nil)
	if ce := (*client.Error)(nil); errors.As(err, &ce) && ce.Body.Code == api.CodeStalePlan {
		// The stalled apply got some modules done: plan again.
		sum, err = admin.Apply(context.Background(), "", &api.ApplyRequest{Plan: plan(t, admin, src.String()).Plan, LockTimeout: "2m"}, nil)
	}
	if err != nil {
		t.Fatalf("the apply after a stalled one got: %v", err)
	}
	st, err := admin.State(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Modules) != n {
		t.Errorf("got: %d modules in the state after both applies (%+v)\nwant: %d", len(st.Modules), sum, n)
	}
	if !strings.Contains(h.log.String(), "stopped reading the apply stream") {
		t.Errorf("the daemon log does not say why the first apply was interrupted")
	}
}
