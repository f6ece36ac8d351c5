package runtime

import (
	"context"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

func TestRuntime_shutdownStopsDependentsFirst(t *testing.T) {
	e := newEnv(t)
	dependsOn := func(deps ...string) func(*modules.Spec) { return func(s *modules.Spec) { s.DependsOn = deps } }
	after := func(deps ...string) func(*modules.Spec) { return func(s *modules.Spec) { s.After = deps } }
	// db ← api ← web, api ← worker, db ⇠ report (soft), and a loner.
	e.create(spec("module.a.db"))
	e.create(spec("module.a.api", dependsOn("module.a.db")))
	e.create(spec("module.a.web", dependsOn("module.a.api")))
	e.create(spec("module.a.worker", dependsOn("module.a.api", "module.a.gone")))
	e.create(spec("module.a.report", after("module.a.db")))
	e.create(spec("module.a.loner"))
	stopped := spec("module.a.idle")
	e.create(stopped)
	if err := e.rt.Do(context.Background(), stopped, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	e.lab.mu.Lock()
	e.lab.calls = nil
	e.lab.mu.Unlock()

	if err := e.rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	order := e.lab.callsOf("stop")
	if len(order) != 6 {
		t.Fatalf("stops got: %v, want: the six started modules", order)
	}
	pos := func(a string) int { return slices.Index(order, "module.a."+a) }
	for _, before := range [][2]string{{"web", "api"}, {"worker", "api"}, {"api", "db"}, {"report", "db"}} {
		if pos(before[0]) < 0 || pos(before[0]) > pos(before[1]) {
			t.Errorf("stop order got: %v, want: %s before %s", order, before[0], before[1])
		}
	}
	for _, s := range e.rt.Snapshot() {
		if s.State != modules.StateStopped {
			t.Errorf("%s got: %s, want: stopped", s.Spec.Address, s.State)
		}
	}
	if got := e.lab.callsOf("unload"); len(got) != 0 {
		t.Errorf("unloads got: %v, want: none", got)
	}
}

func TestRuntime_shutdownEndsPendingRestarts(t *testing.T) {
	e := newEnv(t)
	addr := "module.a.crashy"
	e.lab.set(addr, &behaviour{exitAtStart: func(int) (bool, error) { return true, errBoom }})
	e.create(spec(addr, withRestart(modules.RestartAlways, 5, time.Hour, time.Hour)))
	eventually(t, "a pending restart", func() bool { return !e.status(addr).RestartAt.IsZero() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.status(addr); st.State != modules.StateFailed || !st.RestartAt.IsZero() || !strings.Contains(st.LastError, "boom") {
		t.Errorf("got: %s (%s), restart at %s; want: failed with its exit error, none pending", st.State, st.LastError, st.RestartAt)
	}
	if n := len(e.lab.callsOf("start")); n != 1 {
		t.Errorf("starts got: %d, want: 1", n)
	}
}

func TestStopInOrder(t *testing.T) {
	tests := map[string]struct {
		deps   map[string][]string
		before [][2]string // pairs that must stop in this order
	}{
		"chain":              {map[string][]string{"a": nil, "b": {"a"}, "c": {"b"}}, [][2]string{{"c", "b"}, {"b", "a"}}},
		"diamond":            {map[string][]string{"a": nil, "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}, [][2]string{{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}}},
		"duplicate edges":    {map[string][]string{"a": nil, "b": {"a", "a"}}, [][2]string{{"b", "a"}}},
		"cycle still stops":  {map[string][]string{"a": {"b"}, "b": {"a"}, "c": {"a"}}, [][2]string{{"c", "a"}}},
		"unknown dependency": {map[string][]string{"a": {"zzz"}}, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var units []*unit
			for addr := range tt.deps {
				units = append(units, newUnit(addr))
			}
			var mu sync.Mutex
			var order []string
			err := stopInOrder(units, func(u *unit) []string { return tt.deps[u.addr] }, func(u *unit) error {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, u.addr)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(order) != len(tt.deps) {
				t.Fatalf("stopped got: %v, want: all of %d", order, len(tt.deps))
			}
			for _, p := range tt.before {
				if slices.Index(order, p[0]) > slices.Index(order, p[1]) {
					t.Errorf("order got: %v, want: %s before %s", order, p[0], p[1])
				}
			}
		})
	}
}

func TestRuntime_shutdownLeavesNoGoroutines(t *testing.T) {
	url, up, _ := flakyServer(t)
	up.Store(true)
	before := goruntime.NumGoroutine()
	e := newEnv(t)
	e.create(spec("module.a.http", httpCheck(url, 5*time.Millisecond, time.Second, 3)))
	e.create(spec("module.a.exec", withHealth(modules.HealthCheck{Exec: []string{"true"}, Interval: modules.Duration(5 * time.Millisecond)})))
	e.lab.set("module.a.crashy", &behaviour{exitAtStart: func(int) (bool, error) { return true, errBoom }})
	e.create(spec("module.a.crashy", withRestart(modules.RestartAlways, 100, time.Millisecond, time.Millisecond)))
	e.create(spec("module.a.plain"))
	for _, a := range []string{"module.a.http", "module.a.exec", "module.a.plain"} {
		if err := e.rt.WaitReady(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the runtime's goroutines to end", func() bool { return goruntime.NumGoroutine() <= before })
}
