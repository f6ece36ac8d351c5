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

func TestRuntime_restartPolicies(t *testing.T) {
	tests := map[string]struct {
		policy     modules.RestartMode
		exit       error
		wantState  modules.State
		wantEvents []EventKind
		wantStarts int
	}{
		"never, clean exit":      {modules.RestartNever, nil, modules.StateStopped, []EventKind{EventExited}, 1},
		"never, error exit":      {modules.RestartNever, errBoom, modules.StateFailed, []EventKind{EventExited, EventFailed}, 1},
		"on-failure, clean exit": {modules.RestartOnFailure, nil, modules.StateStopped, []EventKind{EventExited}, 1},
		"on-failure, error exit": {modules.RestartOnFailure, errBoom, modules.StateStarted, []EventKind{EventExited, EventRestarted}, 2},
		"always, clean exit":     {modules.RestartAlways, nil, modules.StateStarted, []EventKind{EventExited, EventRestarted}, 2},
		"always, error exit":     {modules.RestartAlways, errBoom, modules.StateStarted, []EventKind{EventExited, EventRestarted}, 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			addr := "module.a.worker"
			// The first run exits as the case says; later runs keep running.
			e.lab.set(addr, &behaviour{exits: make(chan error), exitAtStart: func(n int) (bool, error) { return n == 1, tt.exit }})
			e.create(spec(addr, withRestart(tt.policy, 3, 10*time.Millisecond, 10*time.Millisecond)))

			got := e.waitEvents(addr, len(tt.wantEvents))
			if !equalKinds(got, tt.wantEvents) {
				t.Errorf("events got: %v, want: %v", got, tt.wantEvents)
			}
			e.waitState(addr, tt.wantState)
			st := e.status(addr)
			if n := len(e.lab.callsOf("start")); n != tt.wantStarts {
				t.Errorf("starts got: %d, want: %d", n, tt.wantStarts)
			}
			if wantRestarts := tt.wantStarts - 1; st.Restarts != wantRestarts {
				t.Errorf("restarts got: %d, want: %d", st.Restarts, wantRestarts)
			}
			if tt.exit != nil && !strings.Contains(st.LastError, "worker: boom") {
				t.Errorf("last error got: %q, want: the exit error", st.LastError)
			}
			ev := e.events.list()
			for _, x := range ev {
				if x.Kind == EventExited && !errors.Is(x.Err, tt.exit) && (tt.exit != nil || x.Err != nil) {
					t.Errorf("exited event error got: %v, want: %v", x.Err, tt.exit)
				}
			}
		})
	}
}

func equalKinds(a, b []EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRuntime_backoffDoublesUpToTheCapThenGivesUp(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.crashy"
	e.lab.set(addr, &behaviour{exitAtStart: func(int) (bool, error) { return true, errBoom }})
	e.create(spec(addr, withRestart(modules.RestartAlways, 5, 10*time.Millisecond, 40*time.Millisecond)))
	e.waitFailedEvent(addr)

	var backoffs []time.Duration
	var attempts []int
	for _, ev := range e.events.list() {
		if ev.Kind == EventRestarted {
			backoffs, attempts = append(backoffs, ev.Backoff), append(attempts, ev.Attempt)
		}
	}
	ms := time.Millisecond
	wantBackoffs := []time.Duration{10 * ms, 20 * ms, 40 * ms, 40 * ms, 40 * ms}
	if len(backoffs) != len(wantBackoffs) {
		t.Fatalf("backoffs got: %v, want: %v", backoffs, wantBackoffs)
	}
	for i := range wantBackoffs {
		if backoffs[i] != wantBackoffs[i] || attempts[i] != i+1 {
			t.Errorf("restart %d got: attempt %d after %s, want: attempt %d after %s", i, attempts[i], backoffs[i], i+1, wantBackoffs[i])
		}
	}
	st := e.status(addr)
	if st.Restarts != 5 {
		t.Errorf("restarts got: %d, want: 5", st.Restarts)
	}
	if !strings.Contains(st.LastError, "gave up after 5 restarts within 1h0m0s") || !strings.Contains(st.LastError, "boom") {
		t.Errorf("last error got: %q, want: gave up … boom", st.LastError)
	}
	if n := len(e.lab.callsOf("start")); n != 6 {
		t.Errorf("starts got: %d, want: 6", n)
	}
	if err := e.rt.WaitReady(context.Background(), addr); !errors.Is(err, ErrModuleFailed) {
		t.Errorf("WaitReady got: %v, want: ErrModuleFailed", err)
	}
}

func TestRuntime_livenessFailureRestarts(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	e := newEnv(t)
	addr := "module.a.web"
	s := spec(addr,
		withRestart(modules.RestartOnFailure, 5, 10*time.Millisecond, 10*time.Millisecond),
		withHealth(modules.HealthCheck{HTTP: srv.URL, Interval: modules.Duration(20 * time.Millisecond), Timeout: modules.Duration(time.Second), FailureThreshold: 2}))
	e.create(s)
	if err := e.rt.WaitReady(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	healthy.Store(false)
	e.waitEvents(addr, 1)
	healthy.Store(true)
	if got := e.events.kinds(addr); got[0] != EventRestarted {
		t.Fatalf("events got: %v, want: restarted first", got)
	}
	st := e.status(addr)
	if st.Restarts != 1 || !strings.Contains(st.LastError, "liveness check failed 2 times in a row") || !strings.Contains(st.LastError, "503") {
		t.Errorf("got: %d restarts, last error %q; want: 1, liveness failed twice with 503", st.Restarts, st.LastError)
	}
	var sawUnhealthy bool
	for _, ev := range e.events.list() {
		if ev.Kind == EventHealthChanged && !ev.Status.Health.Live {
			sawUnhealthy = true
		}
	}
	if !sawUnhealthy {
		t.Error("no health_changed event reported the module not live")
	}
	if err := e.rt.WaitReady(context.Background(), addr); err != nil {
		t.Errorf("ready again: %v", err)
	}
}

func TestRuntime_panicInGoroutineRestarts(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.panicky"
	b := &behaviour{goPanic: true}
	e.lab.set(addr, b)
	e.create(spec(addr, withRestart(modules.RestartOnFailure, 1, 10*time.Millisecond, 10*time.Millisecond)))
	e.waitFailedEvent(addr)
	var exits []error
	for _, ev := range e.events.list() {
		if ev.Kind == EventExited {
			exits = append(exits, ev.Err)
		}
	}
	if len(exits) != 2 || !errors.Is(exits[0], modules.ErrPanic) || !strings.Contains(exits[0].Error(), "worker exploded") {
		t.Errorf("exits got: %v, want: two panics of the worker", exits)
	}
	if got := e.status(addr).Restarts; got != 1 {
		t.Errorf("restarts got: %d, want: 1", got)
	}
	e.create(spec("module.a.calm"))
	if err := e.rt.WaitReady(context.Background(), "module.a.calm"); err != nil {
		t.Errorf("another module after the panic: %v", err)
	}
}

func TestRuntime_panicInHealthFailsTheModule(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.sick"
	e.lab.set(addr, &behaviour{healthPanic: true})
	e.create(spec(addr)) // restart never
	e.waitFailedEvent(addr)
	st := e.status(addr)
	if !strings.Contains(st.LastError, "health exploded") {
		t.Errorf("last error got: %q, want: the panic", st.LastError)
	}
	if got := e.waitEvents(addr, 1); got[0] != EventFailed {
		t.Errorf("events got: %v, want: failed", got)
	}
	if got := e.lab.callsOf("stop"); len(got) != 1 {
		t.Errorf("stops got: %v, want: one (failed means not running)", got)
	}
}

func TestRuntime_stopDuringBackoffCancelsTheRestart(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.slow"
	e.lab.set(addr, &behaviour{exitAtStart: func(int) (bool, error) { return true, errBoom }})
	s := spec(addr, withRestart(modules.RestartAlways, 5, time.Hour, time.Hour))
	e.create(s)
	eventually(t, "a pending restart", func() bool { return !e.status(addr).RestartAt.IsZero() })
	if st := e.status(addr); st.State != modules.StateFailed {
		t.Errorf("state while a restart is pending got: %s, want: failed", st.State)
	}
	// Waiting for readiness goes on through a pending restart.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.rt.WaitReady(ctx, addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReady during backoff got: %v, want: the deadline", err)
	}
	if err := e.rt.Do(context.Background(), s, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	st := e.status(addr)
	if st.State != modules.StateStopped || !st.RestartAt.IsZero() {
		t.Errorf("got: %s, restart at %s; want: stopped, no restart pending", st.State, st.RestartAt)
	}
	if n := len(e.lab.callsOf("start")); n != 1 {
		t.Errorf("starts got: %d, want: 1", n)
	}
}

func TestRuntime_hungRestartGivesWayToStop(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.hang"
	release := make(chan struct{})
	defer close(release)
	// The first run exits at once; the restart's Start hangs, ignoring its context.
	e.lab.set(addr, &behaviour{startBlock: release, blockFrom: 2, exitAtStart: func(int) (bool, error) { return true, errBoom }})
	s := spec(addr, withRestart(modules.RestartAlways, 5, time.Millisecond, time.Millisecond), func(s *modules.Spec) {
		s.Timeouts.Start = modules.Duration(time.Hour)
	})
	e.create(s)
	eventually(t, "the restart to hang", func() bool { return len(e.lab.callsOf("start")) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.Do(ctx, s, modules.TransitionStop); err != nil {
		t.Fatalf("stop during a hung restart: %v", err)
	}
	if st := e.status(addr).State; st != modules.StateStopped {
		t.Errorf("state got: %s, want: stopped", st)
	}
	if got := e.events.kinds(addr); !equalKinds(got, []EventKind{EventExited}) {
		t.Errorf("events got: %v, want: [exited] (the restart never completed)", got)
	}
}
