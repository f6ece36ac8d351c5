package planner

import (
	"fmt"
	"sort"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// cascade restarts the hard dependents of every module the plan stops and
// starts again (replace, restart), transitively, in dependency order: a
// dependent that keeps running against a replaced dependency would hold
// stale connections. A dependent with an in-place update is restarted with
// the update applied while it is stopped. Dependents that are created,
// replaced or destroyed anyway are left as they are.
func cascade(changes map[string]*Change, want map[string]*desired, st *state.State, g *graph) {
	addrs := make([]string, 0, len(want))
	for a := range want {
		addrs = append(addrs, a)
	}
	for _, a := range g.topoOrder(sortedStrings(addrs)) {
		c := changes[a]
		if c == nil || !(c.Action == Replace || c.Action == Restart) || !startsAgain(c) {
			continue
		}
		for _, dep := range g.rhard[a] {
			restartDependent(changes, dep, a, c.Action, want, st)
		}
	}
}

func startsAgain(c *Change) bool {
	return c.After != nil && c.After.DesiredState == modules.DesiredStarted
}

func restartDependent(changes map[string]*Change, dep, cause string, why Action, want map[string]*desired, st *state.State) {
	d, prior := want[dep], st.Modules[dep]
	if d == nil || prior == nil || prior.State != modules.StateStarted || d.spec.DesiredState != modules.DesiredStarted {
		return
	}
	verb := "replaced"
	if why == Restart {
		verb = "restarted"
	}
	reason := fmt.Sprintf("hard dependency %s is %s", cause, verb)
	c := changes[dep]
	switch {
	case c == nil:
		c = &Change{Address: dep, ID: d.spec.ID, Before: &prior.Spec, BeforeState: prior.State, After: d.spec}
		changes[dep] = c
		fallthrough
	case c.Action == NoOp:
		c.Action, c.Reason = Restart, reason
		c.Transitions = []modules.Transition{modules.TransitionStop, modules.TransitionStart}
	case c.Action == Update:
		c.Action, c.Reason = Restart, reason+"; its config changes while it is stopped"
		c.Transitions = []modules.Transition{modules.TransitionStop, modules.TransitionReconfigure, modules.TransitionStart}
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
