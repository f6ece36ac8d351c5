package modules_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// scripted is a test module whose lifecycle methods do what its fields say.
type scripted struct {
	mc       *modules.Context
	panicIn  modules.Transition
	failIn   modules.Transition
	hangIn   modules.Transition // ignores its context until release closes
	release  chan struct{}
	worker   func(ctx context.Context) error // run with mc.Go at start, when set
	health   func() modules.Health
	reconfig atomic.Int32
}

func (s *scripted) step(t modules.Transition) error {
	switch t {
	case s.panicIn:
		panic("scripted panic in " + string(t))
	case s.failIn:
		return errors.New("scripted failure in " + string(t))
	case s.hangIn:
		<-s.release
	}
	return nil
}

func (s *scripted) Init(_ context.Context, mc *modules.Context) error {
	s.mc = mc
	return s.step(modules.TransitionInit)
}
func (s *scripted) Load(context.Context) error { return s.step(modules.TransitionLoad) }
func (s *scripted) Start(context.Context) error {
	if err := s.step(modules.TransitionStart); err != nil {
		return err
	}
	if s.worker != nil {
		s.mc.Go("worker", s.worker)
	}
	return nil
}
func (s *scripted) Stop(context.Context) error   { return s.step(modules.TransitionStop) }
func (s *scripted) Unload(context.Context) error { return s.step(modules.TransitionUnload) }
func (s *scripted) Health(context.Context) modules.Health {
	if s.health != nil {
		return s.health()
	}
	return modules.Healthy("")
}
func (s *scripted) Reconfigure(context.Context, modules.Config) error {
	s.reconfig.Add(1)
	return s.step(modules.TransitionReconfigure)
}

var (
	_ modules.Module       = (*scripted)(nil)
	_ modules.Reconfigurer = (*scripted)(nil)
)

func newInstance(m modules.Module, dataDir string) *modules.Instance {
	return modules.NewInstance(m, modules.InstanceOptions{
		Spec:    modules.Spec{Address: "module.test.one", ID: "test/one", Kind: "scripted"},
		Config:  modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(1)})),
		DataDir: dataDir,
	})
}

func walk(t *testing.T, inst *modules.Instance, ts ...modules.Transition) {
	t.Helper()
	for _, tr := range ts {
		if err := inst.Do(context.Background(), tr); err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
	}
}

var (
	initLoadStart = []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
)

func TestInstance_lifecycle(t *testing.T) {
	inst := newInstance(&scripted{}, "")
	want := []modules.State{modules.StateInitialized, modules.StateLoaded, modules.StateStarted, modules.StateStopped, modules.StateStarted, modules.StateStopped, modules.StateUnloaded}
	ts := []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart, modules.TransitionStop, modules.TransitionStart, modules.TransitionStop, modules.TransitionUnload}
	for i, tr := range ts {
		if err := inst.Do(context.Background(), tr); err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
		if got := inst.State(); got != want[i] {
			t.Errorf("after %s got: %s, want: %s", tr, got, want[i])
		}
	}
	err := inst.Do(context.Background(), modules.TransitionLoad)
	if !errors.Is(err, modules.ErrInvalidTransition) || inst.State() != modules.StateUnloaded {
		t.Errorf("load after unload got: %v in %s, want: ErrInvalidTransition, state unchanged", err, inst.State())
	}
}

func TestInstance_failures(t *testing.T) {
	for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart, modules.TransitionStop, modules.TransitionUnload} {
		for _, mode := range []string{"panic", "error"} {
			t.Run(string(tr)+" "+mode, func(t *testing.T) {
				m := &scripted{}
				if mode == "panic" {
					m.panicIn = tr
				} else {
					m.failIn = tr
				}
				inst := newInstance(m, "")
				path := []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart, modules.TransitionStop, modules.TransitionUnload}
				var err error
				for _, step := range path {
					if err = inst.Do(context.Background(), step); step == tr {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", step, err)
					}
				}
				if err == nil || !strings.Contains(err.Error(), string(tr)+" test/one") {
					t.Fatalf("got: %v, want: an error naming the transition and module", err)
				}
				if mode == "panic" && !errors.Is(err, modules.ErrPanic) {
					t.Errorf("got: %v, want: ErrPanic", err)
				}
				if inst.State() != modules.StateFailed || inst.LastError() == nil {
					t.Errorf("got: %s, %v; want: failed with its error", inst.State(), inst.LastError())
				}
			})
		}
	}
}

func TestInstance_timeoutAbandonsTheCall(t *testing.T) {
	release := make(chan struct{})
	var ran atomic.Bool
	m := &scripted{hangIn: modules.TransitionStart, release: release, worker: func(ctx context.Context) error {
		ran.Store(true)
		<-ctx.Done()
		return nil
	}}
	inst := newInstance(m, "")
	walk(t, inst, modules.TransitionInit, modules.TransitionLoad)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := inst.Do(ctx, modules.TransitionStart)
	if !errors.Is(err, modules.ErrTimeout) || inst.State() != modules.StateFailed {
		t.Fatalf("got: %v in %s, want: ErrTimeout, failed", err, inst.State())
	}
	// The late Start's goroutine must not run on: its period is ended.
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for !ran.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-inst.Exits():
		t.Errorf("a late Start's goroutine reported an exit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	walk(t, inst, modules.TransitionStop, modules.TransitionUnload)
}

func TestInstance_startAgainAfterAFailureEndsTheOldPeriod(t *testing.T) {
	var ended atomic.Int32
	m := &scripted{worker: func(ctx context.Context) error {
		defer ended.Add(1)
		<-ctx.Done()
		return nil
	}}
	inst := newInstance(m, "")
	walk(t, inst, initLoadStart...)
	m.failIn = modules.TransitionReconfigure
	if err := inst.Reconfigure(context.Background(), modules.NewConfig(cty.EmptyObjectVal)); err == nil {
		t.Fatal("reconfigure: want an error")
	}
	m.failIn = ""
	walk(t, inst, modules.TransitionStart)
	if got := ended.Load(); got != 1 {
		t.Errorf("workers ended by the new start got: %d, want: 1 (the failed period's)", got)
	}
	walk(t, inst, modules.TransitionStop)
	if got := ended.Load(); got != 2 {
		t.Errorf("workers ended after stop got: %d, want: 2", got)
	}
}

func TestInstance_reconfigureAndSetConfig(t *testing.T) {
	m := &scripted{}
	inst := newInstance(m, "")
	walk(t, inst, modules.TransitionInit, modules.TransitionLoad)
	two := modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2)}))
	if err := inst.SetConfig(two); err != nil {
		t.Fatal(err)
	}
	walk(t, inst, modules.TransitionStart)
	if got := inst.Context().Config().Get("n"); !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("config got: %#v, want: n = 2", got)
	}
	if err := inst.SetConfig(two); !errors.Is(err, modules.ErrInvalidTransition) {
		t.Errorf("SetConfig while started got: %v, want: ErrInvalidTransition", err)
	}
	three := modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(3)}))
	if err := inst.Reconfigure(context.Background(), three); err != nil {
		t.Fatal(err)
	}
	if m.reconfig.Load() != 1 || !inst.Context().Config().Get("n").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("got: %d Reconfigure calls, config %#v; want: 1, n = 3", m.reconfig.Load(), inst.Context().Config().Get("n"))
	}
	if inst.State() != modules.StateStarted {
		t.Errorf("state got: %s, want: started", inst.State())
	}
}

func TestInstance_health(t *testing.T) {
	m := &scripted{}
	inst := newInstance(m, "")
	if h := inst.Health(context.Background()); h.Ready || h.Status != modules.StatusUnhealthy || h.Details["state"] != "absent" {
		t.Errorf("before start got: %+v, want: unhealthy, not ready, state absent", h)
	}
	walk(t, inst, initLoadStart...)
	if h, err := inst.CheckHealth(context.Background()); err != nil || !h.Ready {
		t.Errorf("started got: %+v %v, want: ready", h, err)
	}
	m.health = func() modules.Health { panic("health exploded") }
	h, err := inst.CheckHealth(context.Background())
	if !errors.Is(err, modules.ErrPanic) || h.Status != modules.StatusUnhealthy || h.Live {
		t.Errorf("panicking Health got: %+v %v, want: unhealthy, not live, ErrPanic", h, err)
	}
	if h := inst.Health(context.Background()); h.Status != modules.StatusUnhealthy {
		t.Errorf("Health got: %+v, want: unhealthy", h)
	}
}

func TestContext_dataDirIsCreatedOnFirstUse(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "modules", "test.one")
	inst := newInstance(&scripted{}, dir)
	walk(t, inst, initLoadStart...)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("before DataDir got: %v, want: no directory", err)
	}
	if got := inst.Context().DataDir(); got != dir {
		t.Errorf("got: %s, want: %s", got, dir)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("got: %v %v, want: a 0700 directory", info, err)
	}

	loose := filepath.Join(root, "loose")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	inst = newInstance(&scripted{}, loose)
	inst.Context().DataDir()
	if info, _ := os.Stat(loose); info.Mode().Perm() != 0o700 {
		t.Errorf("an existing directory got: %o, want: tightened to 700", info.Mode().Perm())
	}
}
