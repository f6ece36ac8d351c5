package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// recorder keeps a project's state document in memory and persists changes
// to the store with group commit: concurrent writes are merged into one
// Store.Apply, and each caller returns once its change is durable. So a
// 10,000-module apply does not mean 30,000 store round trips, yet no
// transition's dependents start before it is saved.
type recorder struct {
	store   state.Store
	project string
	now     func() time.Time

	mu       sync.Mutex
	doc      *state.State // last committed document; nil until one exists
	queue    []*write
	flushing bool
}

type write struct {
	change state.Change
	reason string
	done   chan error
}

func newRecorder(store state.Store, project string, doc *state.State, now func() time.Time) *recorder {
	return &recorder{store: store, project: project, doc: doc, now: now}
}

// snapshot returns a deep copy of the committed document (an empty one
// with no lineage when none exists yet).
func (r *recorder) snapshot() *state.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil {
		s := state.New(r.project)
		s.Lineage = ""
		return s
	}
	return r.doc.Clone()
}

// module returns a copy of one module's record, or nil.
func (r *recorder) module(addr string) *state.Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil || r.doc.Modules[addr] == nil {
		return nil
	}
	return r.doc.Modules[addr].Clone()
}

// check runs fn on the committed document (nil when none exists) under the
// recorder's lock; fn must not keep or change it.
func (r *recorder) check(fn func(*state.State) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fn(r.doc)
}

// serial returns the committed document's lineage and serial.
func (r *recorder) serial() (string, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil {
		return "", 0
	}
	return r.doc.Lineage, r.doc.Serial
}

// reload re-reads the document from the store (under the project lock,
// before an apply) so that writes by another daemon sharing the store are
// seen. A project with no document yet stays empty.
func (r *recorder) reload(ctx context.Context) error {
	doc, err := r.store.Get(ctx, r.project)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.doc = doc
	r.mu.Unlock()
	return nil
}

// ensure creates the project's document if it has none.
func (r *recorder) ensure(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc != nil {
		return nil
	}
	doc := state.New(r.project)
	doc.Serial = 1
	if err := r.store.Put(ctx, doc, 0, "create"); err != nil {
		return fmt.Errorf("create the state of project %q: %w", r.project, err)
	}
	r.doc = doc
	return nil
}

// commit persists a change and returns once it is durable.
func (r *recorder) commit(ctx context.Context, c state.Change, reason string) error {
	if err := r.ensure(ctx); err != nil {
		return err
	}
	w := &write{change: c, reason: reason, done: make(chan error, 1)}
	r.mu.Lock()
	r.queue = append(r.queue, w)
	lead := !r.flushing
	if lead {
		r.flushing = true
	}
	r.mu.Unlock()
	if lead {
		r.flush(ctx)
	}
	return <-w.done
}

// flush writes queued changes, batch after batch, until the queue is empty.
// Only one goroutine flushes at a time: the one that found none flushing.
func (r *recorder) flush(ctx context.Context) {
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		if len(batch) == 0 {
			r.flushing = false
			r.mu.Unlock()
			return
		}
		prev := r.doc.Serial
		r.mu.Unlock()

		merged := merge(batch)
		err := r.store.Apply(ctx, r.project, prev, merged)
		if err == nil {
			r.mu.Lock()
			r.doc.Apply(merged)
			r.doc.Serial = prev + 1
			r.mu.Unlock()
		} else {
			err = fmt.Errorf("save state of project %q: %w", r.project, err)
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

// merge folds writes into one change, later writes winning per address.
func merge(batch []*write) state.Change {
	if len(batch) == 1 {
		return batch[0].change
	}
	set := map[string]*state.Module{}
	del := map[string]bool{}
	var order []string
	for _, w := range batch {
		for _, m := range w.change.Set {
			a := m.Spec.Address
			if _, seen := set[a]; !seen && !del[a] {
				order = append(order, a)
			}
			set[a], del[a] = m, false
		}
		for _, a := range w.change.Delete {
			if _, seen := set[a]; !seen && !del[a] {
				order = append(order, a)
			}
			delete(set, a)
			del[a] = true
		}
	}
	var out state.Change
	for _, a := range order {
		if m, ok := set[a]; ok {
			out.Set = append(out.Set, m)
		} else {
			out.Delete = append(out.Delete, a)
		}
	}
	return out
}

// applyRecorder adapts the recorder to the executor: each transition's
// outcome becomes the module's new record.
type applyRecorder struct {
	rec     *recorder
	rt      *runtime.Runtime
	project *project
	// finalOnly records only the last transition of each change and any
	// failure: used when bringing modules back after a restart, so a crash
	// during recovery does not leave "initialized" where "started" stood.
	finalOnly bool
}

var _ executor.Recorder = (*applyRecorder)(nil)

func (a *applyRecorder) Record(ctx context.Context, res executor.Result) error {
	c := res.Change
	if a.finalOnly && res.Err == nil && res.Transition != c.Transitions[len(c.Transitions)-1] {
		return nil
	}
	if res.Err == nil && res.Transition == modules.TransitionUnload && c.Action == planner.Destroy {
		return a.rec.commit(ctx, state.Change{Delete: []string{c.Address}}, "apply")
	}
	m := a.record(res)
	return a.rec.commit(ctx, state.Change{Set: []*state.Module{m}}, "apply")
}

// record builds the module's record after a transition from what the
// runtime now knows, keeping the history (restarts, uptime) of the old one.
func (a *applyRecorder) record(res executor.Result) *state.Module {
	addr := res.Change.Address
	m := a.rec.module(addr)
	if m == nil {
		m = &state.Module{}
	}
	// Stop and unload run on what the module was started with: its record
	// keeps that spec (a plan's Before may be redacted).
	if up := res.Transition != modules.TransitionStop && res.Transition != modules.TransitionUnload; up || m.Spec.Address == "" {
		m.Spec = *res.Spec
		m.ConfigDigest, m.AttrDigests = res.Spec.Config.Digests()
	}
	m.UpdatedAt = res.Finished.UTC()
	st, ok := a.rt.Status(addr)
	switch {
	case ok:
		a.project.fill(m, st)
	case res.Transition == modules.TransitionUnload:
		m.State = modules.StateUnloaded
	}
	if res.Err != nil {
		m.LastError = res.Err.Error()
		if !ok || res.Transition == modules.TransitionInit || res.Transition == modules.TransitionLoad {
			// A module that never loaded is absent: the next plan creates
			// it again rather than starting a half-made instance.
			m.State = modules.StateAbsent
		}
	}
	return m
}

// fillFromStatus copies the runtime's view of a module into its record.
func fillFromStatus(m *state.Module, st runtime.ModuleStatus) {
	m.State = st.State
	m.StartedAt = timePtr(st.StartedAt)
	m.StoppedAt = timePtr(st.StoppedAt)
	m.UptimeSeconds = st.Uptime.Seconds()
	m.Restarts = st.Restarts
	m.LastError = st.LastError
	m.Usage = st.Usage
	m.SecretFingerprints = st.SecretFingerprints
	if st.Blob != nil {
		m.Blob = st.Blob
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
