package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/state"
	filestate "github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// countingStore counts the writes that reach the store, and can fail them.
type countingStore struct {
	state.Store
	mu      sync.Mutex
	applies int
	fail    error
}

func (s *countingStore) Apply(ctx context.Context, project string, prev uint64, c state.Change) error {
	s.mu.Lock()
	s.applies++
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Store.Apply(ctx, project, prev, c)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applies
}

func newTestRecorder(t *testing.T) (*recorder, *countingStore) {
	t.Helper()
	fs, err := filestate.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	cs := &countingStore{Store: fs}
	return newRecorder(cs, "p", nil, time.Now), cs
}

func record(addr string, st modules.State) *state.Module {
	return &state.Module{Spec: modules.Spec{Address: addr, ID: addr}, State: st}
}

func TestRecorder_queuedChangesLandWithTheNextCommit(t *testing.T) {
	rec, store := newTestRecorder(t)
	ctx := context.Background()
	rec.enqueue(state.Change{Set: []*state.Module{record("module.a.b", modules.StateInitialized)}}, "apply")
	rec.enqueue(state.Change{Set: []*state.Module{record("module.a.b", modules.StateLoaded)}}, "apply")
	if m := rec.module("module.a.b"); m == nil || m.State != modules.StateLoaded {
		t.Fatalf("module() of a queued record:\ngot:  %+v\nwant: the latest queued, loaded", m)
	}
	if err := rec.commit(ctx, state.Change{Set: []*state.Module{record("module.a.c", modules.StateStarted)}}, "apply"); err != nil {
		t.Fatal(err)
	}
	if got := store.count(); got != 1 {
		t.Errorf("got: %d store writes\nwant: 1 (the queued changes with the commit)", got)
	}
	doc, err := store.Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if m := doc.Modules["module.a.b"]; m == nil || m.State != modules.StateLoaded || doc.Modules["module.a.c"] == nil {
		t.Fatalf("stored document:\ngot:  %v\nwant: module.a.b loaded and module.a.c", doc.Modules)
	}
}

func TestRecorder_waitingForAWrittenChangeWritesNothingMore(t *testing.T) {
	rec, store := newTestRecorder(t)
	ctx := context.Background()
	wait1, err := rec.submit(ctx, state.Change{Set: []*state.Module{record("module.a.b", modules.StateStarted)}}, "apply")
	if err != nil {
		t.Fatal(err)
	}
	wait2, err := rec.submit(ctx, state.Change{Set: []*state.Module{record("module.a.c", modules.StateStarted)}}, "apply")
	if err != nil {
		t.Fatal(err)
	}
	if err := wait1(); err != nil {
		t.Fatal(err)
	}
	rec.enqueue(state.Change{Set: []*state.Module{record("module.a.d", modules.StateInitialized)}}, "apply")
	if err := wait2(); err != nil { // written with wait1's flush
		t.Fatal(err)
	}
	if got := store.count(); got != 1 {
		t.Errorf("got: %d store writes\nwant: 1: the queued module.a.d waits for a commit of its own", got)
	}
}

func TestRecorder_failedWriteFailsItsWaiters(t *testing.T) {
	rec, store := newTestRecorder(t)
	ctx := context.Background()
	if err := rec.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	store.fail = errors.New("disk full")
	wait, err := rec.submit(ctx, state.Change{Set: []*state.Module{record("module.a.b", modules.StateStarted)}}, "apply")
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err == nil || !errors.Is(err, store.fail) {
		t.Fatalf("got: %v\nwant: an error wrapping %q", err, store.fail)
	}
}

func TestEndsStep(t *testing.T) {
	tests := map[string]struct {
		action planner.Action
		t      modules.Transition
		want   bool
	}{
		"create init":    {planner.Create, modules.TransitionInit, false},
		"create start":   {planner.Create, modules.TransitionStart, true},
		"replace stop":   {planner.Replace, modules.TransitionStop, false},
		"replace unload": {planner.Replace, modules.TransitionUnload, true},
		"replace load":   {planner.Replace, modules.TransitionLoad, false},
		"replace start":  {planner.Replace, modules.TransitionStart, true},
		"destroy unload": {planner.Destroy, modules.TransitionUnload, true},
		"update":         {planner.Update, modules.TransitionReconfigure, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := &planner.Change{Action: tt.action, Transitions: tt.action.Transitions()}
			if got := endsStep(c, tt.t); got != tt.want {
				t.Errorf("got: %v\nwant: %v", got, tt.want)
			}
		})
	}
}

func TestRecorder_moduleAnswersWhatTheStateWillSay(t *testing.T) {
	rec, _ := newTestRecorder(t)
	ctx := context.Background()
	if err := rec.commit(ctx, state.Change{Set: []*state.Module{record("module.a.b", modules.StateStarted)}}, "apply"); err != nil {
		t.Fatal(err)
	}
	rec.enqueue(state.Change{Delete: []string{"module.a.b"}}, "apply")
	if m := rec.module("module.a.b"); m != nil {
		t.Fatalf("after a queued delete:\ngot:  %+v\nwant: nil", m)
	}
	rec.enqueue(state.Change{Set: []*state.Module{record("module.a.b", modules.StateInitialized)}}, "apply")
	if m := rec.module("module.a.b"); m == nil || m.State != modules.StateInitialized {
		t.Fatalf("after a queued set:\ngot:  %+v\nwant: initialized", m)
	}
	if err := rec.commit(ctx, state.Change{Set: []*state.Module{record("module.a.c", modules.StateStarted)}}, "apply"); err != nil {
		t.Fatal(err)
	}
	if m := rec.module("module.a.b"); m == nil || m.State != modules.StateInitialized {
		t.Fatalf("once written:\ngot:  %+v\nwant: initialized, from the document", m)
	}
	if len(rec.pending) != 0 {
		t.Fatalf("pending after the flush: %v", rec.pending)
	}
}
