package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nexus-run/nexus/modules"
)

func TestRuntime_lifecycle(t *testing.T) {
	var dataDir string
	e := newEnv(t, func(o *Options) {
		dataDir = o.DataDir
		o.Blob = func(addr string) []byte {
			if addr == "module.app.one" {
				return []byte("saved")
			}
			return nil
		}
	})
	s := spec("module.app.one")
	e.create(s)

	st := e.status("module.app.one")
	if st.State != modules.StateStarted {
		t.Errorf("state got: %s, want: started", st.State)
	}
	if string(st.Blob) != "saved" {
		t.Errorf("blob got: %q, want: %q", st.Blob, "saved")
	}
	if err := e.rt.WaitReady(context.Background(), s.Address); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if st := e.status(s.Address); !st.Health.Ready || st.Health.Status != modules.StatusHealthy {
		t.Errorf("health got: %+v, want: healthy and ready", st.Health)
	}
	inst, _ := e.rt.lookup(s.Address).instance()
	if got, want := inst.Context().DataDir(), filepath.Join(dataDir, "modules", "app.one"); got != want {
		t.Errorf("data dir got: %s, want: %s", got, want)
	}
	info, err := os.Stat(filepath.Join(dataDir, "modules", "app.one"))
	if err != nil {
		t.Fatalf("data dir: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("data dir mode got: %o, want: 700", got)
	}

	for _, tr := range []modules.Transition{modules.TransitionStop, modules.TransitionUnload} {
		if err := e.rt.Do(context.Background(), s, tr); err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
	}
	if _, ok := e.rt.Status(s.Address); ok {
		t.Error("Status after unload: found, want: not found")
	}
	transitions := slices.DeleteFunc(slices.Clone(e.lab.calls), func(c string) bool { return strings.HasPrefix(c, "usage ") })
	if got, want := strings.Join(transitions, ","), "init module.app.one,load module.app.one,start module.app.one,stop module.app.one,unload module.app.one"; got != want {
		t.Errorf("calls got: %s\nwant: %s", got, want)
	}
	if len(e.events.kinds(s.Address)) != 0 {
		t.Errorf("events got: %v, want: none but health changes", e.events.kinds(s.Address))
	}
}

func TestRuntime_snapshotSorted(t *testing.T) {
	e := newEnv(t)
	for _, a := range []string{"module.b.x", "module.a.y", "module.c.z", "module.a.a"} {
		e.create(spec(a))
	}
	var got []string
	for _, s := range e.rt.Snapshot() {
		got = append(got, s.Spec.Address)
	}
	if want := "module.a.a,module.a.y,module.b.x,module.c.z"; strings.Join(got, ",") != want {
		t.Errorf("got: %v, want: %s", got, want)
	}
}

func TestRuntime_transitionErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	err := e.rt.Do(ctx, spec("module.a.never"), modules.TransitionStart)
	if !errors.Is(err, ErrUnknownModule) {
		t.Errorf("start before init got: %v, want: ErrUnknownModule", err)
	}
	if err := e.rt.Do(ctx, spec("module.a.never"), modules.TransitionStop); err != nil {
		t.Errorf("stop of an unknown module got: %v, want: nil", err)
	}

	unknown := spec("module.a.kind", func(s *modules.Spec) { s.Kind = "nope" })
	if err := e.rt.Do(ctx, unknown, modules.TransitionInit); !errors.Is(err, modules.ErrUnknownKind) {
		t.Errorf("unknown kind got: %v, want: ErrUnknownKind", err)
	}
	if _, ok := e.rt.Status(unknown.Address); ok {
		t.Error("a module whose kind is unknown is in the status")
	}

	s := spec("module.a.twice")
	if err := e.rt.Do(ctx, s, modules.TransitionInit); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Do(ctx, s, modules.TransitionInit); !errors.Is(err, modules.ErrInvalidTransition) {
		t.Errorf("init twice got: %v, want: ErrInvalidTransition", err)
	}
	if err := e.rt.Do(ctx, s, modules.TransitionStart); !errors.Is(err, modules.ErrInvalidTransition) {
		t.Errorf("start before load got: %v, want: ErrInvalidTransition", err)
	}
	if st := e.status(s.Address).State; st != modules.StateInitialized {
		t.Errorf("state after an invalid transition got: %s, want: initialized", st)
	}
	other := spec("module.a.twice", func(s *modules.Spec) { s.Kind = "target" })
	if err := e.rt.Do(ctx, s, modules.TransitionLoad); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Do(ctx, other, modules.TransitionStart); err == nil || !strings.Contains(err.Error(), "kind changed") {
		t.Errorf("start with another kind got: %v, want: a kind changed error", err)
	}
}

func TestRuntime_startBlocksPastTimeout(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	defer close(release)
	e.lab.set("module.a.stuck", &behaviour{startBlock: release})
	stuck := spec("module.a.stuck", func(s *modules.Spec) { s.Timeouts.Start = modules.Duration(100 * time.Millisecond) })
	ctx := context.Background()
	for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad} {
		if err := e.rt.Do(ctx, stuck, tr); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	var stuckErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		stuckErr = e.rt.Do(ctx, stuck, modules.TransitionStart)
	}()
	eventually(t, "Start to be called", func() bool { return len(e.lab.callsOf("start")) == 1 })
	// Status answers while a transition hangs.
	if st := e.status(stuck.Address); st.State != modules.StateLoaded {
		t.Errorf("state during the hung start got: %s, want: loaded", st.State)
	}
	fine := spec("module.a.fine")
	e.create(fine)
	if err := e.rt.WaitReady(ctx, fine.Address); err != nil {
		t.Errorf("the other module: %v", err)
	}
	wg.Wait()
	if !errors.Is(stuckErr, modules.ErrTimeout) {
		t.Fatalf("got: %v, want: ErrTimeout", stuckErr)
	}
	st := e.status(stuck.Address)
	if st.State != modules.StateFailed || !strings.Contains(st.LastError, "timed out") {
		t.Errorf("got: state %s, last error %q; want: failed, timed out", st.State, st.LastError)
	}
	if err := e.rt.WaitReady(ctx, stuck.Address); !errors.Is(err, ErrModuleFailed) {
		t.Errorf("WaitReady on the stuck module got: %v, want: ErrModuleFailed", err)
	}
	if st := e.status(fine.Address); st.State != modules.StateStarted {
		t.Errorf("the other module got: %s, want: started", st.State)
	}
}

func TestRuntime_panicInStart(t *testing.T) {
	e := newEnv(t)
	e.lab.set("module.a.boom", &behaviour{startPanic: true})
	s := spec("module.a.boom")
	ctx := context.Background()
	for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad} {
		if err := e.rt.Do(ctx, s, tr); err != nil {
			t.Fatal(err)
		}
	}
	err := e.rt.Do(ctx, s, modules.TransitionStart)
	if !errors.Is(err, modules.ErrPanic) || !strings.Contains(err.Error(), "start exploded") {
		t.Fatalf("got: %v, want: ErrPanic with the panic value", err)
	}
	if st := e.status(s.Address).State; st != modules.StateFailed {
		t.Errorf("state got: %s, want: failed", st)
	}
	// The runtime goes on.
	e.create(spec("module.a.after"))
	if err := e.rt.WaitReady(ctx, "module.a.after"); err != nil {
		t.Error(err)
	}
}

func TestRuntime_initFailureIsRetriedByStart(t *testing.T) {
	e := newEnv(t)
	b := &behaviour{initErr: errBoom}
	e.lab.set("module.a.flaky", b)
	s := spec("module.a.flaky")
	ctx := context.Background()
	if err := e.rt.Do(ctx, s, modules.TransitionInit); !errors.Is(err, errBoom) {
		t.Fatalf("init got: %v, want: boom", err)
	}
	if st := e.status(s.Address); st.State != modules.StateFailed || !strings.Contains(st.LastError, "boom") {
		t.Fatalf("got: %s %q, want: failed with boom", st.State, st.LastError)
	}
	e.lab.set("module.a.flaky", &behaviour{})
	if err := e.rt.Do(ctx, s, modules.TransitionStart); err != nil {
		t.Fatalf("start after a failed init: %v", err)
	}
	if got := e.lab.callsOf("init"); len(got) != 2 {
		t.Errorf("init calls got: %d, want: 2 (a fresh instance)", len(got))
	}
	if st := e.status(s.Address); st.State != modules.StateStarted || st.LastError != "" {
		t.Errorf("got: %s %q, want: started, no error", st.State, st.LastError)
	}
}

func TestRuntime_uptime(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, func(o *Options) {
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	s := spec("module.a.up")
	ctx := context.Background()
	e.create(s)
	advance(5 * time.Second)
	if got := e.status(s.Address).Uptime; got != 5*time.Second {
		t.Errorf("while started got: %s, want: 5s", got)
	}
	if err := e.rt.Do(ctx, s, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if got := e.status(s.Address).Uptime; got != 5*time.Second {
		t.Errorf("while stopped got: %s, want: 5s", got)
	}
	if err := e.rt.Do(ctx, s, modules.TransitionStart); err != nil {
		t.Fatal(err)
	}
	advance(3 * time.Second)
	st := e.status(s.Address)
	if st.Uptime != 8*time.Second {
		t.Errorf("after a restart got: %s, want: 8s", st.Uptime)
	}
	if want := now.Add(-3 * time.Second); !st.StartedAt.Equal(want) {
		t.Errorf("started at got: %s, want: %s", st.StartedAt, want)
	}
}

func TestRuntime_reconfigure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := spec("module.a.conf", withToken("one"))
	e.create(s)
	next := spec("module.a.conf", withToken("two"))
	if err := e.rt.Do(ctx, next, modules.TransitionReconfigure); err != nil {
		t.Fatal(err)
	}
	if got := e.lab.seen(s.Address); strings.Join(got, ",") != "one,two" {
		t.Errorf("tokens seen got: %v, want: [one two]", got)
	}
	st := e.status(s.Address)
	if st.State != modules.StateStarted || st.Spec.Config.Get("token").AsString() != "two" {
		t.Errorf("got: %s with token %s, want: started with two", st.State, st.Spec.Config.Get("token").AsString())
	}
	if err := e.rt.WaitReady(ctx, s.Address); err != nil {
		t.Error(err)
	}
}

func TestRuntime_reconfigureFailureStopsTheModule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.lab.set("module.a.conf", &behaviour{reconfErr: errBoom})
	e.create(spec("module.a.conf", withToken("one")))
	err := e.rt.Do(ctx, spec("module.a.conf", withToken("two")), modules.TransitionReconfigure)
	if !errors.Is(err, errBoom) {
		t.Fatalf("got: %v, want: boom", err)
	}
	st := e.status("module.a.conf")
	if st.State != modules.StateFailed || !strings.Contains(st.LastError, "boom") {
		t.Errorf("got: %s %q, want: failed with boom", st.State, st.LastError)
	}
	if got := e.lab.callsOf("stop"); len(got) != 1 {
		t.Errorf("stop calls got: %v, want: one (failed means not running)", got)
	}
}

func TestRuntime_shutdownRefusesTransitions(t *testing.T) {
	e := newEnv(t)
	e.create(spec("module.a.one"))
	if err := e.rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := e.rt.Do(context.Background(), spec("module.a.two"), modules.TransitionInit)
	if !errors.Is(err, ErrShutdown) {
		t.Errorf("got: %v, want: ErrShutdown", err)
	}
	if err := e.rt.Do(context.Background(), spec("module.a.one"), modules.TransitionUnload); err != nil {
		t.Errorf("unload after shutdown got: %v, want: nil", err)
	}
}

func TestRuntime_statusReportsUsage(t *testing.T) {
	e := newEnv(t)
	s := spec("module.a.busy")
	e.create(s)
	inst, _ := e.rt.lookup(s.Address).instance()
	for i := range 3 {
		_ = inst.Context().Track(context.Background(), "op", func(context.Context) error {
			if i == 0 {
				return errBoom
			}
			return nil
		})
	}
	inst.Context().SaveBlob([]byte("seq=3"))
	st := e.status(s.Address)
	if st.Usage.RequestsTotal != 3 || st.Usage.ErrorsTotal != 1 || string(st.Blob) != "seq=3" {
		t.Errorf("got: %+v, blob %q; want: 3 requests, 1 error, blob seq=3", st.Usage, st.Blob)
	}
}

// Usage is measured for those who show it (Status, Snapshot, the events
// that end a run), not for StatusWithoutUsage or health changes: an exec
// module measures by reading /proc, and health changes at every start.
func TestRuntime_usageMeasuredOnlyWhenShown(t *testing.T) {
	e := newEnv(t)
	s := spec("module.a.measured")
	e.create(s)
	eventually(t, "a health_changed event", func() bool {
		for _, ev := range e.events.list() {
			if ev.Kind == EventHealthChanged {
				return true
			}
		}
		return false
	})
	if st, ok := e.rt.StatusWithoutUsage(s.Address); !ok || st.Usage.MemoryMB != 0 || st.State != modules.StateStarted {
		t.Errorf("StatusWithoutUsage got: %+v, %v; want: started, zero usage", st, ok)
	}
	if got := e.lab.callsOf("usage"); len(got) != 0 {
		t.Errorf("got: %d usage measurements after a start, its health_changed events and StatusWithoutUsage, want: none", len(got))
	}
	if st := e.status(s.Address); st.Usage.MemoryMB != 1 {
		t.Errorf("Status got usage %+v, want: the module's measurement", st.Usage)
	}
	if got := e.lab.callsOf("usage"); len(got) != 1 {
		t.Errorf("got: %d usage measurements after Status, want: 1", len(got))
	}
}

func TestRuntime_eventHandlerPanicIsContained(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, func(o *Options) {
		o.OnEvent = func(Event) { calls.Add(1); panic("handler exploded") }
	})
	addr := "module.a.worker"
	b := &behaviour{exits: make(chan error)}
	e.lab.set(addr, b)
	e.create(spec(addr, withRestart(modules.RestartAlways, 5, time.Millisecond, time.Millisecond)))
	b.exits <- errBoom
	eventually(t, "the restart", func() bool { return e.status(addr).Restarts == 1 })
	if calls.Load() == 0 {
		t.Error("the handler was never called")
	}
	if !strings.Contains(e.log.String(), "event handler panicked") {
		t.Error("the handler's panic was not logged")
	}
}

func TestRuntime_reconfigureWithNewChecksRestartsThem(t *testing.T) {
	url, up, _ := flakyServer(t)
	e := newEnv(t)
	addr := "module.a.web"
	e.create(spec(addr))
	if err := e.rt.WaitReady(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	next := spec(addr, httpCheck(url, 20*time.Millisecond, time.Second, 3))
	if err := e.rt.Do(context.Background(), next, modules.TransitionReconfigure); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new check to run", func() bool {
		return strings.Contains(e.status(addr).Health.Details["check_error"], "503")
	})
	up.Store(true)
	if err := e.rt.WaitReady(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	if got := e.status(addr).Health.Details["check"]; got != "http "+url {
		t.Errorf("check got: %q, want: the new http check", got)
	}
}

func TestRuntime_unloadForgetsMetricSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, func(o *Options) { o.Metrics = modules.NewMetricsFactory(reg) })
	s := spec("module.a.counted")
	e.create(s)
	inst, _ := e.rt.lookup(s.Address).instance()
	inst.Context().Metrics().Counter("things_total", "Things.").Add(2)
	if n := testutil.CollectAndCount(reg, "nexus_fake_things_total"); n != 1 {
		t.Fatalf("series before unload got: %d, want: 1", n)
	}
	for _, tr := range []modules.Transition{modules.TransitionStop, modules.TransitionUnload} {
		if err := e.rt.Do(context.Background(), s, tr); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.CollectAndCount(reg, "nexus_fake_things_total"); n != 0 {
		t.Errorf("series after unload got: %d, want: 0", n)
	}
}
