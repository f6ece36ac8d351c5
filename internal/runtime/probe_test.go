package runtime

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

func TestProber_http(t *testing.T) {
	hang := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/nowhere", http.StatusFound) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	mux.HandleFunc("/hang", func(http.ResponseWriter, *http.Request) { <-hang })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(hang) // before Close, which waits for the hanging handler
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := map[string]struct {
		url     string
		wantErr string
	}{
		"2xx is up":               {srv.URL + "/ok", ""},
		"3xx is up, not followed": {srv.URL + "/moved", ""},
		"5xx is down":             {srv.URL + "/down", "answered 500 Internal Server Error"},
		"a hang is cut":           {srv.URL + "/hang", "no answer within 100ms"},
		"connection refused":      {closed.URL, "connection refused"},
		"bad url":                 {"http://[::1", "http check"},
	}
	p := newProber()
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			hc := &modules.HealthCheck{HTTP: tt.url, Timeout: modules.Duration(100 * time.Millisecond)}
			ctx, cancel := context.WithTimeout(context.Background(), hc.Timeout.D())
			defer cancel()
			checkErr(t, p.probe(ctx, hc, "a/b", t.TempDir()), tt.wantErr)
		})
	}
}

func TestProber_tcp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close()

	p := newProber()
	for name, tt := range map[string]struct{ addr, wantErr string }{
		"listening": {ln.Addr().String(), ""},
		"closed":    {goneAddr, "connection refused"},
	} {
		t.Run(name, func(t *testing.T) {
			hc := &modules.HealthCheck{TCP: tt.addr, Timeout: modules.Duration(time.Second)}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			checkErr(t, p.probe(ctx, hc, "a/b", ""), tt.wantErr)
		})
	}
}

func TestProber_exec(t *testing.T) {
	t.Setenv("NEXUS_TEST_DAEMON_SECRET", "hunter2")
	tests := map[string]struct {
		argv    []string
		wantErr string
	}{
		"exit 0":                 {[]string{"true"}, ""},
		"exit 3 with output":     {[]string{"sh", "-c", "echo broken >&2; exit 3"}, "exit status 3: broken"},
		"runs in the module dir": {[]string{"sh", "-c", "test -f marker"}, ""},
		"sees only a clean env":  {[]string{"sh", "-c", `test -z "$NEXUS_TEST_DAEMON_SECRET" && test "$NEXUS_MODULE_ID" = a/b`}, ""},
		"a hang is cut":          {[]string{"sh", "-c", "sleep 30 & sleep 30"}, "no answer within 200ms"},
		"no such program":        {[]string{"/nonexistent/check"}, "no such file"},
	}
	p := newProber()
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeFile(dir+"/marker", ""); err != nil {
				t.Fatal(err)
			}
			hc := &modules.HealthCheck{Exec: tt.argv, Timeout: modules.Duration(200 * time.Millisecond)}
			ctx, cancel := context.WithTimeout(context.Background(), hc.Timeout.D())
			defer cancel()
			checkErr(t, p.probe(ctx, hc, "a/b", dir), tt.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("got: %v, want: no error", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("got: %v, want: an error containing %q", err, want)
	}
}

func TestProber_execKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	hc := &modules.HealthCheck{Exec: []string{"sh", "-c", "sleep 30 & echo $! > child.pid; wait"}, Timeout: modules.Duration(300 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), hc.Timeout.D())
	defer cancel()
	checkErr(t, newProber().probe(ctx, hc, "a/b", dir), "no answer within")
	buf, err := os.ReadFile(filepath.Join(dir, "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(buf))
	eventually(t, "the check's child "+pid+" to die", func() bool {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		// Gone, or a zombie waiting for a reaper.
		return err != nil || strings.Contains(string(stat), ") Z ")
	})
}
