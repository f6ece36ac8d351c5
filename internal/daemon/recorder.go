package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
//
// A change may also be queued without waiting (enqueue): it is written with
// the next commit, which returns only once both are durable. An apply
// queues the first transitions of each step (init and load) and commits
// the last (start), so a step waits for one store write, not three, and a
// dependent still starts only after everything its dependency did is
// saved.
type recorder struct {
	store   state.Store
	project string
	now     func() time.Time
	// scrub, when set, removes secret values from the records' errors.
	scrub *scrubber

	mu       sync.Mutex
	doc      *state.State // last committed document; nil until one exists
	queue    []*write
	flushing bool
	// pending is the latest record of each address a write not yet applied
	// to doc sets (nil: deletes), queued or being flushed, with its write's
	// sequence number, so that module answers what the state will say.
	pending map[string]pendingRecord
	seq     uint64
}

type write struct {
	change state.Change
	reason string
	done   chan error // nil for a queued write nobody waits for
	seq    uint64
}

type pendingRecord struct {
	m   *state.Module
	seq uint64
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

// module returns a copy of one module's latest record (queued or
// committed), or nil.
func (r *recorder) module(addr string) *state.Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pending[addr]; ok {
		if p.m == nil {
			return nil
		}
		return p.m.Clone()
	}
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
	wait, err := r.submit(ctx, c, reason)
	if err != nil {
		return err
	}
	return wait()
}

// submit queues a change and returns the function that waits for it to be
// durable. The first waiter to find no flush running flushes the queue;
// the others wait for that flush (and the next) to take their changes.
func (r *recorder) submit(ctx context.Context, c state.Change, reason string) (wait func() error, err error) {
	if err := r.ensure(ctx); err != nil {
		return nil, err
	}
	r.scrubChange(c)
	w := &write{change: c, reason: reason, done: make(chan error, 1)}
	r.mu.Lock()
	r.queueLocked(w)
	r.mu.Unlock()
	return func() error { return r.await(ctx, w) }, nil
}

// await returns once w is durable, flushing the queue when no one does.
// A queue that is empty means w was taken by a flush that has answered.
func (r *recorder) await(ctx context.Context, w *write) error {
	select {
	case err := <-w.done: // written by an earlier flush: do not flush others'
		return err
	default:
	}
	r.mu.Lock()
	lead := !r.flushing && len(r.queue) > 0
	if lead {
		r.flushing = true
	}
	r.mu.Unlock()
	if lead {
		r.flush(ctx)
	}
	return <-w.done
}

// scrubChange removes secret values from the errors of c's records.
func (r *recorder) scrubChange(c state.Change) {
	if r.scrub == nil {
		return
	}
	for _, m := range c.Set {
		m.LastError = r.scrub.scrub(m.LastError)
	}
}

// enqueue queues a change for the next commit and returns at once. The
// caller must commit afterwards (its own next change), which writes both;
// should the queued change's batch fail, that commit's record, which
// supersedes it, still lands or fails on its own.
func (r *recorder) enqueue(c state.Change, reason string) {
	r.scrubChange(c)
	r.mu.Lock()
	r.queueLocked(&write{change: c, reason: reason})
	r.mu.Unlock()
}

// queueLocked appends w to the queue and indexes its records. r.mu is held.
func (r *recorder) queueLocked(w *write) {
	r.seq++
	w.seq = r.seq
	r.queue = append(r.queue, w)
	if r.pending == nil {
		r.pending = map[string]pendingRecord{}
	}
	for _, m := range w.change.Set {
		r.pending[m.Spec.Address] = pendingRecord{m: m, seq: w.seq}
	}
	for _, a := range w.change.Delete {
		r.pending[a] = pendingRecord{seq: w.seq}
	}
}

// settleLocked drops from pending what batch wrote (or failed to write),
// unless a later write has set it again. r.mu is held.
func (r *recorder) settleLocked(batch []*write) {
	last := batch[len(batch)-1].seq
	for _, w := range batch {
		for _, m := range w.change.Set {
			if p := r.pending[m.Spec.Address]; p.seq <= last {
				delete(r.pending, m.Spec.Address)
			}
		}
		for _, a := range w.change.Delete {
			if p := r.pending[a]; p.seq <= last {
				delete(r.pending, a)
			}
		}
	}
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
		r.mu.Lock()
		if err == nil {
			r.doc.Apply(merged)
			r.doc.Serial = prev + 1
		} else {
			err = fmt.Errorf("save state of project %q: %w", r.project, err)
		}
		r.settleLocked(batch)
		r.mu.Unlock()
		for _, w := range batch {
			if w.done != nil {
				w.done <- err
			}
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

var _ executor.DeferredRecorder = (*applyRecorder)(nil)

func (a *applyRecorder) Record(ctx context.Context, res executor.Result) error {
	c := res.Change
	if a.finalOnly && res.Err == nil && res.Transition != c.Transitions[len(c.Transitions)-1] {
		return nil
	}
	change := a.change(res)
	if res.Err == nil && !endsStep(c, res.Transition) {
		a.rec.enqueue(change, "apply") // committed with the step's last transition
		return nil
	}
	return a.rec.commit(ctx, change, "apply")
}

// RecordDeferred queues the record of a step's last transition and returns
// the wait for it to be durable, which the executor awaits before it starts
// the step's dependents (see executor.DeferredRecorder).
func (a *applyRecorder) RecordDeferred(ctx context.Context, res executor.Result) func() error {
	wait, err := a.rec.submit(ctx, a.change(res), "apply")
	if err != nil {
		return func() error { return err }
	}
	return wait
}

// change is the state change a transition's outcome makes: the module's
// new record, or its removal once a destroy has unloaded it.
func (a *applyRecorder) change(res executor.Result) state.Change {
	if res.Err == nil && res.Transition == modules.TransitionUnload && res.Change.Action == planner.Destroy {
		return state.Change{Delete: []string{res.Change.Address}}
	}
	return state.Change{Set: []*state.Module{a.record(res)}}
}

// endsStep reports whether t is the last transition of its step: the
// executor runs a change's stops and unloads as one step, the rest as
// another, and starts a step's dependents only after its last transition.
func endsStep(c *planner.Change, t modules.Transition) bool {
	down := func(t modules.Transition) bool { return t == modules.TransitionStop || t == modules.TransitionUnload }
	i := slices.Index(c.Transitions, t)
	if i < 0 {
		return true
	}
	for _, later := range c.Transitions[i+1:] {
		if down(later) == down(t) {
			return false
		}
	}
	return true
}

// record builds the module's record after a transition from what the
// runtime now knows, keeping the history (restarts, uptime) of the old one.
func (a *applyRecorder) record(res executor.Result) *state.Module {
	addr := res.Change.Address
	m := a.rec.module(addr)
	if m == nil {
		m = &state.Module{}
	}
	down := res.Transition == modules.TransitionStop || res.Transition == modules.TransitionUnload
	// Stop and unload run on what the module was started with: its record
	// keeps that spec (a plan's Before may be redacted).
	if !down || m.Spec.Address == "" {
		m.Spec = *res.Spec
		m.ConfigDigest, m.AttrDigests = res.Spec.Config.Digests()
	}
	m.UpdatedAt = res.Finished.UTC()
	// Going up, the module has only just started (or been reconfigured):
	// its record keeps the last usage measured rather than wait for a
	// measurement of a process a few milliseconds old. Going down, the
	// usage is the run's total, and cheap to read.
	var st runtime.ModuleStatus
	var ok bool
	if down {
		st, ok = a.rt.Status(addr)
	} else {
		st, ok = a.rt.StatusWithoutUsage(addr)
		st.Usage = m.Usage
	}
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
