package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// fakeRuntime records transitions, fails the ones it is told to, and can
// block a transition until released.
type fakeRuntime struct {
	mu       sync.Mutex
	log      []string
	fail     map[string]bool // "address transition"
	block    map[string]chan struct{}
	started  map[string]chan struct{}
	inflight atomic.Int32
	maxSeen  atomic.Int32
	delay    map[string]time.Duration
	ready    []string
}

func newFake() *fakeRuntime {
	return &fakeRuntime{fail: map[string]bool{}, block: map[string]chan struct{}{}, started: map[string]chan struct{}{}, delay: map[string]time.Duration{}}
}

func (f *fakeRuntime) Do(ctx context.Context, spec *modules.Spec, t modules.Transition) error {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	key := spec.Address + " " + string(t)
	f.mu.Lock()
	block, started := f.block[key], f.started[key]
	d := f.delay[spec.Address]
	f.mu.Unlock()
	if started != nil {
		close(started)
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if d > 0 {
		time.Sleep(d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, key)
	if f.fail[key] {
		return errors.New("boom")
	}
	return nil
}

func (f *fakeRuntime) WaitReady(ctx context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready = append(f.ready, addr)
	return nil
}

func (f *fakeRuntime) position(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Index(f.log, key)
}

// recorder keeps results in memory and checks that a step's dependencies
// were recorded before it ran.
type recorder struct {
	mu      sync.Mutex
	results []string
}

func (r *recorder) Record(_ context.Context, res Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := res.Change.Address + " " + string(res.Transition)
	if res.Err != nil {
		s += " error"
	}
	r.results = append(r.results, s)
	return nil
}

type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) Event(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) ofType(t EventType) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

func spec(addr string, deps ...string) *modules.Spec {
	return &modules.Spec{Address: addr, ID: strings.TrimPrefix(addr, "module."), Kind: "target",
		DependsOn: deps, DesiredState: modules.DesiredStarted, Timeouts: modules.DefaultTimeouts}
}

func create(addr string, deps ...string) *planner.Change {
	return &planner.Change{Address: addr, Action: planner.Create, After: spec(addr, deps...),
		Transitions: planner.Create.Transitions()}
}

func destroy(addr string, deps ...string) *planner.Change {
	return &planner.Change{Address: addr, Action: planner.Destroy, Before: spec(addr, deps...),
		BeforeState: modules.StateStarted, Transitions: planner.Destroy.Transitions()}
}

func planOf(cs ...*planner.Change) *planner.Plan {
	return &planner.Plan{FormatVersion: planner.FormatVersion, Changes: cs}
}

func TestApply_dependenciesFirst(t *testing.T) {
	rt := newFake()
	p := planOf(create("module.a.app", "module.a.db"), create("module.a.db"), create("module.a.web", "module.a.app"))
	sum, err := Apply(context.Background(), p, rt, nil, nil, Options{Parallelism: -1})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 3 || sum.Transitions != 9 {
		t.Errorf("got %+v, want 3 changes and 9 transitions", sum)
	}
	if !(rt.position("module.a.db start") < rt.position("module.a.app init") &&
		rt.position("module.a.app start") < rt.position("module.a.web init")) {
		t.Errorf("got order %v, want each dependency started before its dependent inits", rt.log)
	}
	if !slices.Contains(rt.ready, "module.a.db") || !slices.Contains(rt.ready, "module.a.app") {
		t.Errorf("got readiness checks %v, want both hard dependencies checked", rt.ready)
	}
}

func TestApply_destroysBeforeCreatesDependentsFirst(t *testing.T) {
	rt := newFake()
	p := planOf(create("module.n.new"), destroy("module.o.db"), destroy("module.o.app", "module.o.db"))
	if _, err := Apply(context.Background(), p, rt, nil, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	if !(rt.position("module.o.app unload") < rt.position("module.o.db stop")) {
		t.Errorf("got %v, want the dependent destroyed before its dependency", rt.log)
	}
	if !(rt.position("module.o.db unload") < rt.position("module.n.new init")) {
		t.Errorf("got %v, want every destroy before any create", rt.log)
	}
}

func TestApply_failureSkipsDependentsOnly(t *testing.T) {
	rt := newFake()
	rt.fail["module.a.db start"] = true
	ev := &events{}
	rec := &recorder{}
	p := planOf(create("module.a.db"), create("module.a.app", "module.a.db"), create("module.a.web", "module.a.app"), create("module.b.free"))
	sum, err := Apply(context.Background(), p, rt, rec, ev, Options{})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("got %v, want ErrFailed", err)
	}
	if sum.Failed != 1 || sum.Skipped != 2 || sum.Succeeded != 1 {
		t.Errorf("got %+v, want 1 failed, 2 skipped, 1 succeeded", sum)
	}
	skipped := ev.ofType(EventTransitionSkipped)
	var causes []string
	for _, e := range skipped {
		causes = append(causes, e.Address+"←"+e.Cause)
	}
	sort.Strings(causes)
	if want := []string{"module.a.app←module.a.db", "module.a.web←module.a.db"}; !slices.Equal(causes, want) {
		t.Errorf("got skipped %v, want %v (root cause named, not the intermediate)", causes, want)
	}
	if len(ev.ofType(EventTransitionErrored)) != 1 {
		t.Errorf("got %d errored events, want the root cause once", len(ev.ofType(EventTransitionErrored)))
	}
	if !slices.Contains(rec.results, "module.a.db start error") {
		t.Errorf("got records %v, want the failed start recorded", rec.results)
	}
	if rt.position("module.b.free start") < 0 {
		t.Errorf("independent branch did not run: %v", rt.log)
	}
}

func TestApply_parallelismBound(t *testing.T) {
	rt := newFake()
	var cs []*planner.Change
	for i := range 40 {
		a := fmt.Sprintf("module.p.m%02d", i)
		cs = append(cs, create(a))
		rt.delay[a] = 2 * time.Millisecond
	}
	if _, err := Apply(context.Background(), planOf(cs...), rt, nil, nil, Options{Parallelism: 3}); err != nil {
		t.Fatal(err)
	}
	if got := rt.maxSeen.Load(); got > 3 || got < 2 {
		t.Errorf("got at most %d transitions at once, want 3 (bounded, and parallel)", got)
	}
}

func TestApply_cancelLetsRunningFinish(t *testing.T) {
	rt := newFake()
	rt.block["module.a.slow start"] = make(chan struct{})
	rt.started["module.a.slow start"] = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	p := planOf(create("module.a.slow"), create("module.a.after", "module.a.slow"))
	done := make(chan error)
	var sum *Summary
	go func() {
		var err error
		sum, err = Apply(ctx, p, rt, nil, nil, Options{})
		done <- err
	}()
	<-rt.started["module.a.slow start"]
	cancel()
	close(rt.block["module.a.slow start"])
	err := <-done
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	if rt.position("module.a.slow start") < 0 {
		t.Errorf("the running transition did not finish: %v", rt.log)
	}
	if rt.position("module.a.after init") >= 0 {
		t.Errorf("a new transition started after cancel: %v", rt.log)
	}
	if sum.Succeeded != 1 || sum.NotStarted != 1 {
		t.Errorf("got %+v, want 1 succeeded, 1 not started", sum)
	}
}

func TestApply_abortCancelsRunning(t *testing.T) {
	rt := newFake()
	rt.block["module.a.slow start"] = make(chan struct{})
	rt.started["module.a.slow start"] = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	abort, hard := context.WithCancel(context.Background())
	go func() { <-rt.started["module.a.slow start"]; cancel(); hard() }()
	sum, err := Apply(ctx, planOf(create("module.a.slow")), rt, nil, nil, Options{Abort: abort})
	if !errors.Is(err, ErrFailed) || sum.Failed != 1 {
		t.Errorf("got %v %+v, want the aborted transition failed", err, sum)
	}
}

func TestApply_wavesStrategy(t *testing.T) {
	rt := newFake()
	// a.slow (wave 1) → a.dep (wave 2); b.fast (wave 1) → b.next (wave 2):
	// with waves, b.next waits for a.slow even though it does not depend on it.
	rt.delay["module.a.slow"] = 20 * time.Millisecond
	p := planOf(create("module.a.slow"), create("module.a.dep", "module.a.slow"), create("module.b.fast"), create("module.b.next", "module.b.fast"))
	steps, _ := planner.Steps(p)
	for _, s := range steps {
		if s.Change != nil {
			s.Change.Wave = s.Wave
		}
	}
	if _, err := Apply(context.Background(), p, rt, nil, nil, Options{Strategy: StrategyWaves}); err != nil {
		t.Fatal(err)
	}
	if !(rt.position("module.a.slow start") < rt.position("module.b.next init")) {
		t.Errorf("got %v, want wave 2 to wait for all of wave 1", rt.log)
	}
}

func TestApply_recordsBeforeDependentsStart(t *testing.T) {
	rt := newFake()
	var mu sync.Mutex
	recorded := map[string]bool{}
	rec := recordFunc(func(r Result) error {
		mu.Lock()
		defer mu.Unlock()
		recorded[r.Change.Address+" "+string(r.Transition)] = true
		return nil
	})
	check := &checkingRuntime{fakeRuntime: rt, before: func(spec *modules.Spec, t modules.Transition) {
		if t != modules.TransitionInit {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range spec.DependsOn {
			if !recorded[d+" start"] {
				panic(fmt.Sprintf("%s init before %s start was recorded", spec.Address, d))
			}
		}
	}}
	p := planOf(create("module.a.x"), create("module.a.y", "module.a.x"), create("module.a.z", "module.a.y"))
	if _, err := Apply(context.Background(), p, check, rec, nil, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestApply_recorderFailureFailsTheStep(t *testing.T) {
	rt := newFake()
	rec := recordFunc(func(r Result) error {
		if r.Change.Address == "module.a.x" {
			return errors.New("disk full")
		}
		return nil
	})
	sum, err := Apply(context.Background(), planOf(create("module.a.x"), create("module.a.y", "module.a.x")), rt, rec, nil, Options{})
	if !errors.Is(err, ErrFailed) || sum.Skipped != 1 || !strings.Contains(sum.Errors[0].Error(), "the state could not be saved: disk full") {
		t.Errorf("got %v %+v", err, sum)
	}
}

type recordFunc func(Result) error

func (f recordFunc) Record(_ context.Context, r Result) error { return f(r) }

type checkingRuntime struct {
	*fakeRuntime
	before func(*modules.Spec, modules.Transition)
}

func (c *checkingRuntime) Do(ctx context.Context, spec *modules.Spec, t modules.Transition) error {
	c.before(spec, t)
	return c.fakeRuntime.Do(ctx, spec, t)
}
