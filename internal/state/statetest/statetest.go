package statetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// Open returns a new Store on the backend under test; see the package doc.
type Open func(t *testing.T) state.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open, project string)
	}{
		{"getEmpty", testGetEmpty},
		{"putGetRoundTrip", testPutGetRoundTrip},
		{"putCAS", testPutCAS},
		{"putLineageMismatch", testPutLineageMismatch},
		{"putInvalid", testPutInvalid},
		{"apply", testApply},
		{"applyCreates", testApplyCreates},
		{"applyMany", testApplyMany},
		{"applyCopiesRecords", testApplyCopiesRecords},
		{"applyConcurrent", testApplyConcurrent},
		{"history", testHistory},
		{"lock", testLock},
		{"waitLock", testWaitLock},
		{"closeReleasesLocks", testCloseReleasesLocks},
		{"projectsIsolated", testProjectsIsolated},
	}
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open, fmt.Sprintf("%s-%s", strings.ToLower(tt.name), suffix))
		})
	}
}

// store opens a Store that is closed when the test ends.
func store(t *testing.T, open Open) state.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s:\ngot:  %v\nwant: an error wrapping %q", what, err, want)
	}
}

func mustGet(t *testing.T, s state.Store, project string) *state.State {
	t.Helper()
	got, err := s.Get(ctx(t), project)
	if err != nil {
		t.Fatalf("Get(%s): %v", project, err)
	}
	return got
}

func wantDoc(t *testing.T, what string, got, want *state.State) {
	t.Helper()
	if d := Diff(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// put writes a document of n modules at serial 1 and returns it.
func put(t *testing.T, s state.Store, project string, n int) *state.State {
	t.Helper()
	doc := Document(project, uuid.NewString(), n, 1)
	if err := s.Put(ctx(t), doc, 0, "push"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return doc
}

func testGetEmpty(t *testing.T, open Open, project string) {
	s := store(t, open)
	_, err := s.Get(ctx(t), project)
	wantErr(t, "Get of a project with no state", err, state.ErrNotFound)
	h, err := s.History(ctx(t), project, 10)
	if err != nil || len(h) != 0 {
		t.Fatalf("History of a project with no state:\ngot:  %v, %v\nwant: no entries, no error", h, err)
	}
	_, err = s.LockHolder(ctx(t), project)
	wantErr(t, "LockHolder of a project never locked", err, state.ErrNotLocked)
	_, err = s.Get(ctx(t), "../"+project)
	wantErr(t, "Get of a project named ../x", err, state.ErrInvalidProject)
}

func testPutGetRoundTrip(t *testing.T, open Open, project string) {
	s := store(t, open)
	doc := put(t, s, project, 1000)
	wantDoc(t, "Get after Put", mustGet(t, s, project), doc)
	wantDoc(t, "Get from another store", mustGet(t, store(t, open), project), doc)
}

func testPutCAS(t *testing.T, open Open, project string) {
	s := store(t, open)
	doc := put(t, s, project, 5)
	next := Document(project, doc.Lineage, 6, 2)
	wantErr(t, "Put with a wrong prev", s.Put(ctx(t), next, 5, "push"), state.ErrSerialConflict)
	wantErr(t, "Put with prev 0 over a document", s.Put(ctx(t), Document(project, doc.Lineage, 6, 1), 0, "push"), state.ErrSerialConflict)
	wantErr(t, "Put with serial != prev+1", s.Put(ctx(t), Document(project, doc.Lineage, 6, 3), 1, "push"), state.ErrSerialConflict)
	wantDoc(t, "Get after refused Puts", mustGet(t, s, project), doc)
	if err := s.Put(ctx(t), next, 1, "push"); err != nil {
		t.Fatalf("Put with the right prev: %v", err)
	}
	wantDoc(t, "Get after Put", mustGet(t, s, project), next)
}

func testPutLineageMismatch(t *testing.T, open Open, project string) {
	s := store(t, open)
	doc := put(t, s, project, 5)
	other := Document(project, uuid.NewString(), 5, 2)
	wantErr(t, "Put of another lineage", s.Put(ctx(t), other, 1, "push"), state.ErrLineageMismatch)
	wantDoc(t, "Get after refused Put", mustGet(t, s, project), doc)
}

func testPutInvalid(t *testing.T, open Open, project string) {
	s := store(t, open)
	bad := Document(project, uuid.NewString(), 3, 1)
	bad.Version = 99
	wantErr(t, "Put of version 99", s.Put(ctx(t), bad, 0, "push"), state.ErrUnsupportedVersion)
	bad = Document(project, uuid.NewString(), 3, 1)
	bad.Modules["module.x.y"] = bad.Modules[Address(0)]
	wantErr(t, "Put of a module under the wrong key", s.Put(ctx(t), bad, 0, "push"), state.ErrCorrupt)
	bad = Document("no/slash", uuid.NewString(), 3, 1)
	wantErr(t, "Put to project no/slash", s.Put(ctx(t), bad, 0, "push"), state.ErrInvalidProject)
	_, err := s.Get(ctx(t), project)
	wantErr(t, "Get after refused Puts", err, state.ErrNotFound)
	if err := s.Apply(ctx(t), project, 0, state.Change{Set: []*state.Module{nil}}); err == nil {
		t.Fatalf("Apply of a nil record: got no error")
	}
	m := Module(1, 1)
	m.State = "sleeping"
	if err := s.Apply(ctx(t), project, 0, state.Change{Set: []*state.Module{m}}); err == nil {
		t.Fatalf("Apply of a record in state %q: got no error", m.State)
	}
	_, err = s.Get(ctx(t), project)
	wantErr(t, "Get after refused Applies", err, state.ErrNotFound)
}

func testApply(t *testing.T, open Open, project string) {
	s := store(t, open)
	want := put(t, s, project, 10)
	c := state.Change{Set: []*state.Module{Module(10, 7), Module(3, 7)}, Delete: []string{Address(5), "module.never.existed"}}
	if err := s.Apply(ctx(t), project, 1, c); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want.Apply(c)
	want.Serial = 2
	wantDoc(t, "Get after Apply", mustGet(t, s, project), want)
	stale := state.Change{Set: []*state.Module{Module(4, 9)}}
	wantErr(t, "Apply with a stale prev", s.Apply(ctx(t), project, 1, stale), state.ErrSerialConflict)
	wantErr(t, "Apply with a future prev", s.Apply(ctx(t), project, 3, stale), state.ErrSerialConflict)
	wantDoc(t, "Get after refused Applies", mustGet(t, s, project), want)
	if err := s.Apply(ctx(t), project, 2, state.Change{}); err != nil {
		t.Fatalf("empty Apply: %v", err)
	}
	want.Serial = 3
	wantDoc(t, "Get after an empty Apply", mustGet(t, s, project), want)
}

func testApplyCreates(t *testing.T, open Open, project string) {
	s := store(t, open)
	wantErr(t, "Apply with prev 2 to no state", s.Apply(ctx(t), project, 2, state.Change{Set: []*state.Module{Module(0, 1)}}), state.ErrSerialConflict)
	if err := s.Apply(ctx(t), project, 0, state.Change{Set: []*state.Module{Module(0, 1)}}); err != nil {
		t.Fatalf("Apply with prev 0 to no state: %v", err)
	}
	got := mustGet(t, s, project)
	if got.Lineage == "" || got.Serial != 1 || got.Version != state.FormatVersion || got.Project != project {
		t.Fatalf("created document:\ngot:  version %d lineage %q serial %d project %q\nwant: version %d, a lineage, serial 1, project %q",
			got.Version, got.Lineage, got.Serial, got.Project, state.FormatVersion, project)
	}
	want := &state.State{Version: state.FormatVersion, Lineage: got.Lineage, Serial: 1, Project: project, Modules: map[string]*state.Module{Address(0): Module(0, 1)}}
	wantDoc(t, "created document", got, want)
	wantErr(t, "second Apply with prev 0", s.Apply(ctx(t), project, 0, state.Change{}), state.ErrSerialConflict)
}

// testApplyMany runs a few hundred random Applies, mirrored in memory, and
// compares now and then, and from a fresh Store at the end.
func testApplyMany(t *testing.T, open Open, project string) {
	s := store(t, open)
	want := put(t, s, project, 40)
	rng := rand.New(rand.NewPCG(1, 2))
	for serial := uint64(1); serial < 400; serial++ {
		var c state.Change
		for range 1 + rng.IntN(3) {
			i := rng.IntN(60)
			if rng.IntN(4) == 0 {
				c.Delete = append(c.Delete, Address(i))
			} else {
				c.Set = append(c.Set, Module(i, serial))
			}
		}
		if err := s.Apply(ctx(t), project, serial, c); err != nil {
			t.Fatalf("Apply %d: %v", serial, err)
		}
		want.Apply(c)
		want.Serial = serial + 1
		if serial%97 == 0 {
			wantDoc(t, fmt.Sprintf("Get after Apply %d", serial), mustGet(t, s, project), want)
		}
	}
	wantDoc(t, "Get after all Applies", mustGet(t, s, project), want)
	wantDoc(t, "Get from another store", mustGet(t, store(t, open), project), want)
}

func testApplyCopiesRecords(t *testing.T, open Open, project string) {
	s := store(t, open)
	put(t, s, project, 2)
	m := Module(7, 1)
	if err := s.Apply(ctx(t), project, 1, state.Change{Set: []*state.Module{m}}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	m.Restarts, m.State = 999, modules.StateFailed
	got := mustGet(t, s, project).Modules[Address(7)]
	if got.Restarts == 999 || got.State == modules.StateFailed {
		t.Fatalf("the store kept the caller's record: a change after Apply shows in Get")
	}
	got.Restarts = 555
	if again := mustGet(t, s, project).Modules[Address(7)]; again.Restarts == 555 {
		t.Fatalf("Get returned the store's own record: a change to it shows in the next Get")
	}
}

func testApplyConcurrent(t *testing.T, open Open, project string) {
	stores := []state.Store{store(t, open), store(t, open)}
	put(t, stores[0], project, 5)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := state.Change{Set: []*state.Module{Module(100+i, 2)}}
			errs[i] = stores[i%2].Apply(ctx(t), project, 1, c)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Applies %d and %d with the same prev both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, state.ErrSerialConflict):
			t.Fatalf("losing Apply %d:\ngot:  %v\nwant: an error wrapping %q", i, err, state.ErrSerialConflict)
		}
	}
	if winner < 0 {
		t.Fatalf("no Apply of %d with the same prev succeeded", n)
	}
	got := mustGet(t, stores[1], project)
	if got.Serial != 2 || got.Modules[Address(100+winner)] == nil || len(got.Modules) != 6 {
		t.Fatalf("after the race:\ngot:  serial %d, %d modules\nwant: serial 2, 6 modules including the winner's %s", got.Serial, len(got.Modules), Address(100+winner))
	}
}

func testHistory(t *testing.T, open Open, project string) {
	s := store(t, open)
	doc := put(t, s, project, 3)
	for prev := uint64(1); prev <= 2; prev++ {
		if err := s.Apply(ctx(t), project, prev, state.Change{Set: []*state.Module{Module(10+int(prev), prev)}}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	next := Document(project, doc.Lineage, 2, 4)
	if err := s.Put(ctx(t), next, 3, "state rm"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	h, err := s.History(ctx(t), project, 10)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	want := []state.HistoryEntry{
		{Serial: 4, Modules: 2, Reason: "state rm"},
		{Serial: 3, Modules: 5, Reason: "apply"},
		{Serial: 2, Modules: 4, Reason: "apply"},
		{Serial: 1, Modules: 3, Reason: "push"},
	}
	if len(h) != len(want) {
		t.Fatalf("History:\ngot:  %+v\nwant: %+v", h, want)
	}
	for i, w := range want {
		g := h[i]
		if g.Serial != w.Serial || g.Modules != w.Modules || g.Reason != w.Reason || g.Lineage != doc.Lineage || g.Time.IsZero() {
			t.Fatalf("History[%d]:\ngot:  %+v\nwant: %+v with lineage %s and a time", i, g, w, doc.Lineage)
		}
		if i > 0 && g.Time.After(h[i-1].Time) {
			t.Fatalf("History[%d] is newer than History[%d]: %s > %s", i, i-1, g.Time, h[i-1].Time)
		}
	}
	if h, err := s.History(ctx(t), project, 2); err != nil || len(h) != 2 || h[0].Serial != 4 {
		t.Fatalf("History(2):\ngot:  %+v, %v\nwant: serials 4 and 3", h, err)
	}
}

func lockInfo(id, op string) state.LockInfo {
	return state.LockInfo{ID: id, Operation: op, Who: "tester@" + id, Node: "node-1", Created: time.Now().UTC().Truncate(time.Second)}
}

func wantHolder(t *testing.T, what string, got, want state.LockInfo) {
	t.Helper()
	if got.ID != want.ID || got.Operation != want.Operation || got.Who != want.Who || got.Node != want.Node || !got.Created.Equal(want.Created) {
		t.Fatalf("%s:\ngot:  %+v\nwant: %+v", what, got, want)
	}
}

func wantLocked(t *testing.T, what string, err error, project string, holder state.LockInfo) {
	t.Helper()
	var le *state.LockedError
	if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("%s:\ngot:  %v\nwant: a *state.LockedError", what, err)
	}
	if le.Project != project {
		t.Fatalf("%s: LockedError.Project:\ngot:  %q\nwant: %q", what, le.Project, project)
	}
	wantHolder(t, what+": holder", le.Holder, holder)
	if msg := err.Error(); !strings.Contains(msg, holder.Who) || !strings.Contains(msg, holder.Operation) {
		t.Fatalf("%s: message does not name the holder and operation:\ngot:  %s\nwant: %q and %q in it", what, msg, holder.Who, holder.Operation)
	}
}

func testLock(t *testing.T, open Open, project string) {
	a, b := store(t, open), store(t, open)
	info := lockInfo("id-a", "apply")
	if err := a.Lock(ctx(t), project, info); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	for _, s := range []state.Store{a, b} {
		got, err := s.LockHolder(ctx(t), project)
		if err != nil {
			t.Fatalf("LockHolder: %v", err)
		}
		wantHolder(t, "LockHolder", got, info)
	}
	wantLocked(t, "Lock again from the holding store", a.Lock(ctx(t), project, lockInfo("id-a2", "plan")), project, info)
	wantLocked(t, "Lock from another store", b.Lock(ctx(t), project, lockInfo("id-b", "plan")), project, info)
	wantErr(t, "Unlock with a wrong id", a.Unlock(ctx(t), project, "id-wrong"), state.ErrNotLocked)
	if err := a.Unlock(ctx(t), project, info.ID); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	_, err := b.LockHolder(ctx(t), project)
	wantErr(t, "LockHolder after Unlock", err, state.ErrNotLocked)
	wantErr(t, "second Unlock", a.Unlock(ctx(t), project, info.ID), state.ErrNotLocked)
	infoB := lockInfo("id-b", "destroy")
	if err := b.Lock(ctx(t), project, infoB); err != nil {
		t.Fatalf("Lock from another store after Unlock: %v", err)
	}
	wantLocked(t, "Lock from the first store", a.Lock(ctx(t), project, info), project, infoB)
	if err := b.Unlock(ctx(t), project, infoB.ID); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func testWaitLock(t *testing.T, open Open, project string) {
	a, b := store(t, open), store(t, open)
	info := lockInfo("id-a", "apply")
	if err := a.Lock(ctx(t), project, info); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	wantLocked(t, "WaitLock that times out", state.WaitLock(ctx(t), b, project, lockInfo("id-b0", "plan"), 100*time.Millisecond), project, info)
	done := make(chan error, 1)
	go func() { done <- state.WaitLock(ctx(t), b, project, lockInfo("id-b", "plan"), time.Minute) }()
	select {
	case err := <-done:
		t.Fatalf("WaitLock returned while the lock was held: %v", err)
	case <-time.After(150 * time.Millisecond):
	}
	if err := a.Unlock(ctx(t), project, info.ID); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitLock after Unlock: %v", err)
	}
	got, err := a.LockHolder(ctx(t), project)
	if err != nil || got.ID != "id-b" {
		t.Fatalf("LockHolder after WaitLock:\ngot:  %+v, %v\nwant: id-b", got, err)
	}
	if err := b.Unlock(ctx(t), project, "id-b"); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func testCloseReleasesLocks(t *testing.T, open Open, project string) {
	a, b := open(t), store(t, open)
	put(t, a, project, 1)
	if err := a.Lock(ctx(t), project, lockInfo("id-a", "apply")); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := a.Get(ctx(t), project)
	wantErr(t, "Get after Close", err, state.ErrClosed)
	wantErr(t, "Lock after Close", a.Lock(ctx(t), project, lockInfo("id-a", "apply")), state.ErrClosed)
	// A session-based lock may take a moment to vanish server-side.
	if err := state.WaitLock(ctx(t), b, project, lockInfo("id-b", "apply"), 30*time.Second); err != nil {
		t.Fatalf("Lock after the holder's Close: %v", err)
	}
	if err := b.Unlock(ctx(t), project, "id-b"); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func testProjectsIsolated(t *testing.T, open Open, project string) {
	s := store(t, open)
	p1, p2 := project+"-one", project+"-two"
	d1, d2 := put(t, s, p1, 3), put(t, s, p2, 4)
	if err := s.Apply(ctx(t), p1, 1, state.Change{Delete: []string{Address(0)}}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantDoc(t, "the other project after an Apply", mustGet(t, s, p2), d2)
	d1.Apply(state.Change{Delete: []string{Address(0)}})
	d1.Serial = 2
	wantDoc(t, "the project after an Apply", mustGet(t, s, p1), d1)
	if err := s.Lock(ctx(t), p1, lockInfo("id-1", "apply")); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := s.Lock(ctx(t), p2, lockInfo("id-2", "apply")); err != nil {
		t.Fatalf("Lock of another project while one is locked: %v", err)
	}
	for _, p := range []struct{ project, id string }{{p1, "id-1"}, {p2, "id-2"}} {
		if err := s.Unlock(ctx(t), p.project, p.id); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
	}
	if h, _ := s.History(ctx(t), p2, 0); len(h) != 1 {
		t.Fatalf("History of the other project:\ngot:  %d entries\nwant: 1", len(h))
	}
}
