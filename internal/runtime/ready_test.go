package runtime

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// flakyServer answers 503 until up is set, counting requests.
func flakyServer(t *testing.T) (url string, up *atomic.Bool, hits *atomic.Int64) {
	up, hits = &atomic.Bool{}, &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, up, hits
}

func httpCheck(url string, interval, timeout time.Duration, threshold int) func(*modules.Spec) {
	return withHealth(modules.HealthCheck{HTTP: url, Interval: modules.Duration(interval), Timeout: modules.Duration(timeout), FailureThreshold: threshold})
}

func TestRuntime_waitReadyGatesOnTheHealthEndpoint(t *testing.T) {
	url, up, hits := flakyServer(t)
	e := newEnv(t)
	addr := "module.a.web"
	e.create(spec(addr, httpCheck(url, 50*time.Millisecond, time.Second, 3)))

	ready := make(chan error, 1)
	go func() { ready <- e.rt.WaitReady(context.Background(), addr) }()
	eventually(t, "several checks", func() bool { return hits.Load() >= 4 })
	select {
	case err := <-ready:
		t.Fatalf("WaitReady returned %v while the endpoint answers 503", err)
	default:
	}
	st := e.status(addr)
	if st.Health.Ready || !strings.Contains(st.Health.Details["check_error"], "503") {
		t.Errorf("health while 503 got: %+v, want: not ready with the 503", st.Health)
	}
	up.Store(true)
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WaitReady did not return once the endpoint answered 200")
	}
	if st := e.status(addr); st.Health.Status != modules.StatusHealthy || st.Health.Details["check"] != "http "+url {
		t.Errorf("health got: %+v, want: healthy, check named", st.Health)
	}
}

func TestRuntime_waitReadyFailsWhenTheModuleFails(t *testing.T) {
	url, _, _ := flakyServer(t) // never up
	e := newEnv(t)
	addr := "module.a.web"
	b := &behaviour{exits: make(chan error)}
	e.lab.set(addr, b)
	e.create(spec(addr, httpCheck(url, 20*time.Millisecond, time.Second, 3)))

	ready := make(chan error, 1)
	go func() { ready <- e.rt.WaitReady(context.Background(), addr) }()
	b.exits <- errBoom
	select {
	case err := <-ready:
		if !errors.Is(err, ErrModuleFailed) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "boom") {
			t.Errorf("got: %v, want: ErrModuleFailed naming the module and its error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WaitReady did not return when the module failed")
	}
}

func TestRuntime_hangingHealthEndpointIsCutByTheTimeout(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	e := newEnv(t)
	addr := "module.a.hang"
	e.create(spec(addr, httpCheck(srv.URL, 20*time.Millisecond, 50*time.Millisecond, 3)))

	eventually(t, "a check error", func() bool { return e.status(addr).Health.Details["check_error"] != "" })
	if got := e.status(addr).Health.Details["check_error"]; !strings.Contains(got, "no answer within 50ms") {
		t.Errorf("check error got: %q, want: no answer within 50ms", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := e.rt.WaitReady(ctx, addr)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("got: %v, want: the deadline with the last check error", err)
	}
}

func TestRuntime_waitReadyWithoutHealthBlockAsksTheModule(t *testing.T) {
	var ready atomic.Bool
	e := newEnv(t)
	addr := "module.a.self"
	e.lab.set(addr, &behaviour{health: func() modules.Health {
		return modules.Health{Status: modules.StatusHealthy, Live: true, Ready: ready.Load(), Details: map[string]string{"limits": "rlimit"}}
	}})
	e.create(spec(addr))
	done := make(chan error, 1)
	go func() { done <- e.rt.WaitReady(context.Background(), addr) }()
	eventually(t, "a first check", func() bool { return e.status(addr).Health.Details["check"] != "pending" })
	select {
	case err := <-done:
		t.Fatalf("WaitReady returned %v before the module was ready", err)
	default:
	}
	ready.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.status(addr).LimitsApplied; got != "rlimit" {
		t.Errorf("limits applied got: %q, want: rlimit", got)
	}
}

func TestRuntime_waitReadyUnknownAndStopped(t *testing.T) {
	e := newEnv(t)
	if err := e.rt.WaitReady(context.Background(), "module.a.none"); !errors.Is(err, ErrUnknownModule) {
		t.Errorf("unknown got: %v, want: ErrUnknownModule", err)
	}
	s := spec("module.a.stopped")
	e.create(s)
	if err := e.rt.Do(context.Background(), s, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.WaitReady(context.Background(), s.Address); !errors.Is(err, ErrNotStarted) || !strings.Contains(err.Error(), "(it is stopped)") {
		t.Errorf("stopped got: %v, want: ErrNotStarted", err)
	}
}

func TestRuntime_execHealthCheck(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.cmd"
	marker := t.TempDir() + "/up"
	e.create(spec(addr, withHealth(modules.HealthCheck{Exec: []string{"test", "-f", marker}, Interval: modules.Duration(20 * time.Millisecond), Timeout: modules.Duration(5 * time.Second)})))
	eventually(t, "a failing check", func() bool { return e.status(addr).Health.Details["check_error"] != "" })
	if err := writeFile(marker, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.WaitReady(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
}

func TestRuntime_readyAnswersAtOnce(t *testing.T) {
	e := newEnv(t)
	s := spec("module.a.one")
	if e.rt.Ready(s.Address) {
		t.Fatalf("got: ready before init\nwant: not ready")
	}
	e.create(s)
	if err := e.rt.WaitReady(context.Background(), s.Address); err != nil {
		t.Fatal(err)
	}
	if !e.rt.Ready(s.Address) {
		t.Fatalf("got: not ready once WaitReady returned\nwant: ready")
	}
	if err := e.rt.Do(context.Background(), s, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	if e.rt.Ready(s.Address) {
		t.Fatalf("got: ready once stopped\nwant: not ready")
	}
}
