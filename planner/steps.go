package planner

import (
	"fmt"
	"sort"

	"github.com/nexus-run/nexus/modules"
)

// Phase is the half of a change a step performs.
type Phase int

// The phases: Down stops and unloads (dependents before their
// dependencies), Up inits, loads, reconfigures and starts (dependencies
// before dependents). Every Down step finishes before any Up step starts;
// the Barrier step marks that point.
const (
	Down Phase = iota
	Barrier
	Up
)

// Step is one phase of one change: the unit the executor schedules.
type Step struct {
	// Change is nil for the barrier.
	Change      *Change
	Phase       Phase
	Transitions []modules.Transition
	// Requires are the steps that must succeed before this one starts; if
	// one fails or is skipped, this step is skipped.
	Requires []int
	// Follows are the steps that must finish, successfully or not, first.
	Follows []int
	// Wave is the step's depth: 1 + the deepest step it waits for.
	Wave int
}

// Name renders the step for messages: "module.a.b (up)".
func (s *Step) Name() string {
	if s.Change == nil {
		return "barrier"
	}
	if s.Phase == Down {
		return s.Change.Address + " (down)"
	}
	return s.Change.Address + " (up)"
}

// Steps splits a plan's changes into the executor's step graph, with
// dependency edges between steps and waves assigned. Steps are returned in
// an order where each step comes after everything it waits for.
func Steps(p *Plan) ([]*Step, error) {
	var steps []*Step
	down := make(map[string]int, len(p.Changes))
	up := make(map[string]int, len(p.Changes))
	for _, c := range p.Changes {
		var d, u []modules.Transition
		for _, t := range c.Transitions {
			if t == modules.TransitionStop || t == modules.TransitionUnload {
				d = append(d, t)
			} else {
				u = append(u, t)
			}
		}
		if len(d) > 0 {
			down[c.Address] = len(steps)
			steps = append(steps, &Step{Change: c, Phase: Down, Transitions: d})
		}
		if len(u) > 0 {
			up[c.Address] = len(steps)
			steps = append(steps, &Step{Change: c, Phase: Up, Transitions: u})
		}
	}
	barrier := len(steps)
	steps = append(steps, &Step{Phase: Barrier})

	for _, c := range p.Changes {
		if i, ok := down[c.Address]; ok {
			steps[barrier].Follows = append(steps[barrier].Follows, i)
			// What runs now is what Before describes: its dependencies stop
			// after it, so they wait for this step.
			if c.Before != nil {
				for _, dep := range c.Before.DependsOn {
					if j, ok := down[dep]; ok {
						steps[j].Requires = append(steps[j].Requires, i)
					}
				}
				for _, dep := range c.Before.After {
					if j, ok := down[dep]; ok {
						steps[j].Follows = append(steps[j].Follows, i)
					}
				}
			}
		}
		if i, ok := up[c.Address]; ok {
			s := steps[i]
			s.Follows = append(s.Follows, barrier)
			if j, ok := down[c.Address]; ok {
				s.Requires = append(s.Requires, j)
			}
			if c.After != nil {
				for _, dep := range c.After.DependsOn {
					if j, ok := up[dep]; ok {
						s.Requires = append(s.Requires, j)
					}
				}
				for _, dep := range c.After.After {
					if j, ok := up[dep]; ok {
						s.Follows = append(s.Follows, j)
					}
				}
			}
		}
	}
	order, err := topoSteps(steps)
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		s := steps[i]
		s.Wave = 1
		for _, j := range append(append([]int(nil), s.Requires...), s.Follows...) {
			w := steps[j].Wave
			if steps[j].Phase != Barrier {
				w++
			}
			s.Wave = max(s.Wave, w)
		}
	}
	return reorder(steps, order), nil
}

// topoSteps orders step indices so each comes after what it waits for; a
// cycle (possible only in a state stitched together by hand) is an error.
func topoSteps(steps []*Step) ([]int, error) {
	indeg := make([]int, len(steps))
	next := make([][]int, len(steps))
	for i, s := range steps {
		for _, j := range s.Requires {
			next[j] = append(next[j], i)
		}
		for _, j := range s.Follows {
			next[j] = append(next[j], i)
		}
		indeg[i] = len(s.Requires) + len(s.Follows)
	}
	var queue, order []int
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, i)
		for _, n := range next[i] {
			if indeg[n]--; indeg[n] == 0 {
				queue = append(queue, n)
			}
		}
	}
	if len(order) != len(steps) {
		var stuck []string
		for i, d := range indeg {
			if d > 0 {
				stuck = append(stuck, steps[i].Name())
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("the plan's steps form a cycle among %v; the state's dependencies contradict each other", stuck)
	}
	return order, nil
}

// reorder returns the steps in the given order, with edge indices renumbered.
func reorder(steps []*Step, order []int) []*Step {
	pos := make([]int, len(steps))
	for newIdx, old := range order {
		pos[old] = newIdx
	}
	out := make([]*Step, len(steps))
	for newIdx, old := range order {
		s := steps[old]
		for k, j := range s.Requires {
			s.Requires[k] = pos[j]
		}
		for k, j := range s.Follows {
			s.Follows[k] = pos[j]
		}
		out[newIdx] = s
	}
	return out
}

// assignWaves sets each change's wave from the step graph: its up step's
// wave when it has one, else its down step's, numbered densely from 1 so a
// reviewer reads "wave 1, wave 2" whatever the stops before them.
func assignWaves(p *Plan) {
	steps, err := Steps(p)
	if err != nil {
		return // waves stay 0; applying the plan reports the cycle
	}
	for _, s := range steps {
		if s.Change != nil && (s.Phase == Up || s.Change.Wave == 0) {
			s.Change.Wave = s.Wave
		}
	}
	used := map[int]bool{}
	for _, c := range p.Changes {
		used[c.Wave] = true
	}
	waves := make([]int, 0, len(used))
	for w := range used {
		waves = append(waves, w)
	}
	sort.Ints(waves)
	rank := make(map[int]int, len(waves))
	for i, w := range waves {
		rank[w] = i + 1
	}
	for _, c := range p.Changes {
		c.Wave = rank[c.Wave]
	}
}

// sortChanges returns the changes sorted by address; assignWaves and then
// sortByWave put them in their final order.
func sortChanges(m map[string]*Change) []*Change {
	out := make([]*Change, 0, len(m))
	for _, a := range sortedKeys(m) {
		out = append(out, m[a])
	}
	return out
}

// SortByWave orders changes by wave, then address.
func SortByWave(cs []*Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Wave != cs[j].Wave {
			return cs[i].Wave < cs[j].Wave
		}
		return cs[i].Address < cs[j].Address
	})
}
