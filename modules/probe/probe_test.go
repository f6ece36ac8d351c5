package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/modules"
)

// endpoint is an HTTP server on loopback answering with status, or never
// while hang is set.
type endpoint struct {
	*httptest.Server
	status atomic.Int64
	hang   atomic.Bool
	hits   atomic.Int64
}

func newEndpoint(t *testing.T, status int) *endpoint {
	e := &endpoint{}
	e.status.Store(int64(status))
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if e.hang.Load() {
			<-r.Context().Done()
			return
		}
		if s := int(e.status.Load()); s >= 300 && s < 400 {
			http.Redirect(w, r, "/elsewhere", s)
			return
		}
		w.WriteHeader(int(e.status.Load()))
	}))
	t.Cleanup(e.Close)
	return e
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newProbe(t *testing.T, attrs map[string]cty.Value) *modules.Instance {
	return kindtest.Instance(t, New(), modules.InstanceOptions{
		Spec: modules.Spec{Kind: "probe"}, Config: kindtest.Config(t, Manifest(), attrs),
	})
}

func TestProbe_firstCheckInStart(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	tests := map[string]struct {
		attrs     func(t *testing.T) map[string]cty.Value
		wantReady bool
		wantErr   string
	}{
		"http up": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal(newEndpoint(t, 200).URL + "/healthz")}
		}, true, ""},
		"http error status": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal(newEndpoint(t, 503).URL)}
		}, false, "503"},
		"http redirect is not followed": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal(newEndpoint(t, 302).URL)}
		}, false, "302"},
		"http expected redirect": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal(newEndpoint(t, 302).URL), "expect_status": cty.NumberIntVal(302)}
		}, true, ""},
		"http unexpected 2xx": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal(newEndpoint(t, 200).URL), "expect_status": cty.NumberIntVal(204)}
		}, false, "want 204"},
		"http nothing listening": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"http": cty.StringVal("http://" + closedPort(t))}
		}, false, "refused"},
		"http hanging": {func(t *testing.T) map[string]cty.Value {
			e := newEndpoint(t, 200)
			e.hang.Store(true)
			return map[string]cty.Value{"http": cty.StringVal(e.URL), "timeout": cty.StringVal("100ms")}
		}, false, "deadline exceeded"},
		"tcp up": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"tcp": cty.StringVal(listener.Addr().String())}
		}, true, ""},
		"tcp down": {func(t *testing.T) map[string]cty.Value {
			return map[string]cty.Value{"tcp": cty.StringVal(closedPort(t))}
		}, false, "refused"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			attrs := tt.attrs(t)
			attrs["interval"] = cty.StringVal("1h") // only the check in Start
			inst := newProbe(t, attrs)
			kindtest.Up(t, inst) // a down endpoint does not fail Start
			h := kindtest.Health(inst)
			if h.Ready != tt.wantReady || !h.Live || h.Details["last_check"] == "" || h.Details["latency"] == "" {
				t.Errorf("got: %+v, want: ready %v, live, with last check and latency", h, tt.wantReady)
			}
			wantStatus := modules.StatusHealthy
			if !tt.wantReady {
				wantStatus = modules.StatusUnhealthy
			}
			if h.Status != wantStatus || !strings.Contains(h.Details["last_error"], tt.wantErr) {
				t.Errorf("got: %s, last error %q, want: %s, an error containing %q", h.Status, h.Details["last_error"], wantStatus, tt.wantErr)
			}
		})
	}
}

func TestProbe_recovers(t *testing.T) {
	e := newEndpoint(t, 500)
	inst := newProbe(t, map[string]cty.Value{"http": cty.StringVal(e.URL), "interval": cty.StringVal("20ms")})
	kindtest.Up(t, inst)
	if kindtest.Health(inst).Ready {
		t.Fatal("got: ready while the endpoint fails, want: not ready")
	}
	e.status.Store(200)
	kindtest.Eventually(t, func() bool { return kindtest.Health(inst).Ready }, "never ready after the endpoint recovered")
	e.status.Store(500)
	kindtest.Eventually(t, func() bool { return !kindtest.Health(inst).Ready }, "still ready after the endpoint failed again")
	if _, errs := inst.Context().Counts(); errs < 2 {
		t.Errorf("got: %d failed checks tracked, want: at least 2", errs)
	}
}

func TestProbe_reconfigureChecksAtOnce(t *testing.T) {
	down, up := newEndpoint(t, 500), newEndpoint(t, 200)
	inst := newProbe(t, map[string]cty.Value{"http": cty.StringVal(down.URL), "interval": cty.StringVal("1h")})
	kindtest.Up(t, inst)
	cfg := kindtest.Config(t, Manifest(), map[string]cty.Value{"http": cty.StringVal(up.URL), "interval": cty.StringVal("1h")})
	if err := inst.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	kindtest.Eventually(t, func() bool { return kindtest.Health(inst).Ready }, "not ready after pointing the probe at a live endpoint")
	if n := down.hits.Load(); n != 1 {
		t.Errorf("got: %d checks of the old endpoint, want: 1", n)
	}
}

func TestProbe_stopWhileACheckHangs(t *testing.T) {
	e := newEndpoint(t, 200)
	inst := newProbe(t, map[string]cty.Value{"http": cty.StringVal(e.URL), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("1h")})
	kindtest.Up(t, inst)
	e.hang.Store(true)
	hits := e.hits.Load()
	kindtest.Eventually(t, func() bool { return e.hits.Load() > hits }, "no check after the endpoint started hanging")
	kindtest.Do(t, inst, modules.TransitionStop) // would take an hour if the check were not cancelled
}

func TestProbe_slowEndpointDoesNotFailStart(t *testing.T) {
	e := newEndpoint(t, 200)
	e.hang.Store(true)
	inst := newProbe(t, map[string]cty.Value{"http": cty.StringVal(e.URL), "timeout": cty.StringVal("1h")})
	kindtest.Do(t, inst, modules.TransitionInit, modules.TransitionLoad)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := inst.Do(ctx, modules.TransitionStart); err != nil {
		t.Fatalf("got: %v, want: Start to succeed with the endpoint down", err)
	}
	if h := kindtest.Health(inst); h.Ready || !strings.Contains(h.Details["last_error"], "deadline") {
		t.Errorf("got: %+v, want: not ready, timed out", h)
	}
}

func TestDecode_rejectsBadConfig(t *testing.T) {
	tests := map[string]struct {
		attrs map[string]cty.Value
		want  string
	}{
		"neither":        {map[string]cty.Value{}, "exactly one of http and tcp"},
		"both":           {map[string]cty.Value{"http": cty.StringVal("http://x"), "tcp": cty.StringVal("x:1")}, "exactly one"},
		"bad URL":        {map[string]cty.Value{"http": cty.StringVal("x:80")}, "http:// or https://"},
		"tcp no port":    {map[string]cty.Value{"tcp": cty.StringVal("localhost")}, "host:port"},
		"bad interval":   {map[string]cty.Value{"tcp": cty.StringVal("x:1"), "interval": cty.StringVal("soon")}, "interval"},
		"status too big": {map[string]cty.Value{"http": cty.StringVal("http://x"), "expect_status": cty.NumberIntVal(700)}, "expect_status"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := validate(kindtest.Config(t, Manifest(), tt.attrs))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v, want: an error containing %q", err, tt.want)
			}
		})
	}
}
