package executor

import (
	"slices"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// parkFor returns the hard dependencies step i should wait for, without a
// slot, before it runs: a step that starts a module whose dependencies are
// not ready yet, once, and only when the runtime can say at once which are
// (see readyReporter). A start that waits for a slow dependency (one whose
// health check passes late) would otherwise hold a slot of the parallelism
// all that time, and a few such could hold them all. nil: run it now.
func (w *walker) parkFor(i int) []string {
	s := w.steps[i]
	if w.parked[i] || s.Phase != planner.Up || s.Change.After == nil || !slices.Contains(s.Transitions, modules.TransitionStart) {
		return nil
	}
	deps := s.Change.After.DependsOn
	if len(deps) == 0 || w.allReady(deps) {
		return nil
	}
	if _, ok := w.rt.(readyReporter); !ok {
		return nil
	}
	w.parked[i] = true
	return deps
}

// readyReporter is a Runtime that can say at once whether a module is ready.
type readyReporter interface {
	Ready(address string) bool
}

// allReady reports whether every dependency is ready now, so that a start
// need not set up a deadline to wait for them. Most are, since a dependent
// starts only once its dependencies' steps finished.
func (w *walker) allReady(deps []string) bool {
	rr, ok := w.rt.(readyReporter)
	if !ok {
		return false
	}
	for _, dep := range deps {
		if !rr.Ready(dep) {
			return false
		}
	}
	return true
}
