package executor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// deferringRecorder defers the last record of each step until release is
// called for its address; the other records it takes at once.
type deferringRecorder struct {
	mu      sync.Mutex
	gates   map[string]chan error
	records []string
}

func newDeferring() *deferringRecorder { return &deferringRecorder{gates: map[string]chan error{}} }

func (d *deferringRecorder) gate(addr string) chan error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gates[addr] == nil {
		d.gates[addr] = make(chan error, 1)
	}
	return d.gates[addr]
}

func (d *deferringRecorder) Record(_ context.Context, r Result) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records = append(d.records, r.Change.Address+" "+string(r.Transition))
	return nil
}

func (d *deferringRecorder) RecordDeferred(ctx context.Context, r Result) func() error {
	_ = d.Record(ctx, r)
	g := d.gate(r.Change.Address)
	return func() error { return <-g }
}

// release makes the deferred record of addr durable (err nil) or failed.
func (d *deferringRecorder) release(addr string, err error) { d.gate(addr) <- err }

var _ DeferredRecorder = (*deferringRecorder)(nil)

// waitFor polls cond until it holds, failing t after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestApply_deferredRecordHoldsDependentsNotSlots(t *testing.T) {
	rt, rec := newFake(), newDeferring()
	// With one slot: db's record is pending, yet the independent cache
	// runs; app, which depends on db, waits for db's record.
	p := planOf(create("module.a.db"), create("module.a.cache"), create("module.a.app", "module.a.db"))
	done := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), p, rt, rec, nil, Options{Parallelism: 1})
		done <- err
	}()
	waitFor(t, "both independent modules to start", func() bool {
		return rt.position("module.a.db start") >= 0 && rt.position("module.a.cache start") >= 0
	})
	if got := rt.position("module.a.app init"); got >= 0 {
		t.Fatalf("got: app initialised before db's record was durable\nlog: %v", rt.log)
	}
	rec.release("module.a.db", nil)
	rec.release("module.a.cache", nil)
	waitFor(t, "app to start", func() bool { return rt.position("module.a.app start") >= 0 })
	rec.release("module.a.app", nil)
	if err := <-done; err != nil {
		t.Fatalf("got: %v\nwant: no error", err)
	}
}

func TestApply_deferredRecordFailureFailsTheStep(t *testing.T) {
	rt, rec := newFake(), newDeferring()
	ev := &events{}
	p := planOf(create("module.a.db"), create("module.a.app", "module.a.db"))
	rec.release("module.a.db", errors.New("disk full"))
	sum, err := Apply(context.Background(), p, rt, rec, ev, Options{Parallelism: 4})
	if !errors.Is(err, ErrFailed) || sum.Failed != 1 || sum.Skipped != 1 {
		t.Fatalf("got: %+v, %v\nwant: db failed, app skipped", sum, err)
	}
	errored := ev.ofType(EventTransitionErrored)
	if len(errored) != 1 || errored[0].Address != "module.a.db" || errored[0].Transition != modules.TransitionStart ||
		!strings.Contains(errored[0].Error, "the state could not be saved: disk full") {
		t.Fatalf("errored events:\ngot:  %+v\nwant: db's start, saying the state could not be saved", errored)
	}
	if rt.position("module.a.app init") >= 0 {
		t.Fatalf("got: app ran after its dependency's record failed\nlog: %v", rt.log)
	}
}

func TestApply_deferredRecordsInWaves(t *testing.T) {
	rt, rec := newFake(), newDeferring()
	p := planOf(create("module.a.db"), create("module.a.app", "module.a.db"))
	for _, c := range p.Changes {
		rec.release(c.Address, nil)
	}
	sum, err := Apply(context.Background(), p, rt, rec, nil, Options{Parallelism: 1, Strategy: StrategyWaves})
	if err != nil || sum.Succeeded != 2 {
		t.Fatalf("got: %+v, %v\nwant: both succeeded", sum, err)
	}
	if !(rt.position("module.a.db start") < rt.position("module.a.app init")) {
		t.Fatalf("got order %v, want db started before app inits", rt.log)
	}
}

// readyRuntime is fakeRuntime whose modules are ready once started, except
// those held, which become ready when released.
type readyRuntime struct {
	*fakeRuntime
	mu      sync.Mutex
	held    map[string]chan struct{}
	started map[string]bool
}

func newReadyRuntime(held ...string) *readyRuntime {
	r := &readyRuntime{fakeRuntime: newFake(), held: map[string]chan struct{}{}, started: map[string]bool{}}
	for _, a := range held {
		r.held[a] = make(chan struct{})
	}
	return r
}

func (r *readyRuntime) Do(ctx context.Context, spec *modules.Spec, t modules.Transition) error {
	err := r.fakeRuntime.Do(ctx, spec, t)
	if err == nil && t == modules.TransitionStart {
		r.mu.Lock()
		r.started[spec.Address] = true
		r.mu.Unlock()
	}
	return err
}

func (r *readyRuntime) Ready(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.held[addr]; h != nil {
		select {
		case <-h:
		default:
			return false
		}
	}
	return r.started[addr]
}

func (r *readyRuntime) WaitReady(ctx context.Context, addr string) error {
	for !r.Ready(addr) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func TestApply_startsWaitingForReadinessHoldNoSlot(t *testing.T) {
	rt := newReadyRuntime("module.a.gate")
	// One slot: app waits for the gate to be ready without holding it, so
	// the independent cache runs meanwhile.
	p := planOf(create("module.a.gate"), create("module.a.app", "module.a.gate"), create("module.a.cache", "module.a.base"), create("module.a.base"))
	for _, c := range p.Changes {
		c.After.Timeouts.Start = modules.Duration(time.Minute)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), p, rt, nil, nil, Options{Parallelism: 1})
		done <- err
	}()
	waitFor(t, "the independent modules to start", func() bool {
		return rt.position("module.a.cache start") >= 0 && rt.position("module.a.gate start") >= 0
	})
	if rt.position("module.a.app init") >= 0 {
		t.Fatalf("got: app initialised before its dependency was ready\nlog: %v", rt.log)
	}
	close(rt.held["module.a.gate"])
	if err := <-done; err != nil {
		t.Fatalf("got: %v\nwant: no error", err)
	}
	if rt.position("module.a.app start") < 0 {
		t.Fatalf("got: app never started\nlog: %v", rt.log)
	}
}

func TestApply_parkedStartFailsWhenItsDependencyNeverGetsReady(t *testing.T) {
	rt := newReadyRuntime("module.a.gate")
	p := planOf(create("module.a.gate"), create("module.a.app", "module.a.gate"))
	for _, c := range p.Changes {
		c.After.Timeouts.Start = modules.Duration(50 * time.Millisecond)
	}
	sum, err := Apply(context.Background(), p, rt, nil, nil, Options{Parallelism: 1})
	if !errors.Is(err, ErrFailed) || sum.Failed != 1 || len(sum.Errors) != 1 ||
		sum.Errors[0].Address != "module.a.app" || !strings.Contains(sum.Errors[0].Err.Error(), "dependency module.a.gate is not ready") {
		t.Fatalf("got: %+v, %v\nwant: app failed, its dependency not ready", sum, err)
	}
	if got := rt.position("module.a.app init"); got < 0 {
		t.Fatalf("got: app not initialised\nwant: init and load run, then the start fails (as without parking)\nlog: %v", rt.log)
	}
}
