package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

type stepStatus int

const (
	pending stepStatus = iota
	running
	succeeded
	failed
	skipped
)

// walker is one apply's scheduling state. Only the Apply goroutine touches
// it; workers report back over done.
type walker struct {
	steps   []*planner.Step
	status  []stepStatus
	cause   []string // root-cause address of a failed or skipped step
	waiting []int    // unfinished predecessors per step
	next    [][]int  // successors per step
	rt      Runtime
	rec     Recorder
	obs     Observer
	now     func() time.Time
	hard    context.Context
	sum     Summary
	// parked marks the steps that waited for their dependencies' readiness
	// (see park); parkErr holds why a wait failed, for the step's start.
	parked  []bool
	parkErr []error
}

type outcome struct {
	step        int
	transitions int
	err         *StepError
	// unparked marks a parked step whose dependencies are ready (or will
	// not be: parkErr says why).
	unparked bool
	parkErr  error
	// wait, when set, is the step's last record, accepted but not durable
	// yet (see DeferredRecorder); durable marks the outcome once it is.
	wait    func() error
	durable bool
}

// Apply performs the plan's changes and returns what happened. The error is
// nil when every change succeeded; otherwise it wraps ErrFailed or
// ErrInterrupted and the Summary says which changes failed and which were
// skipped. rec and obs may be nil.
func Apply(ctx context.Context, p *planner.Plan, rt Runtime, rec Recorder, obs Observer, o Options) (*Summary, error) {
	steps, err := planner.Steps(p)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	w := newWalker(steps, rt, rec, obs, o)
	start := w.now()
	w.emit(Event{Type: EventApplyStart, Changes: len(p.Changes)})

	if o.Strategy == StrategyWaves {
		w.runWaves(ctx, o.parallelism())
	} else {
		w.runEager(ctx, o.parallelism())
	}

	w.sum.Duration = w.now().Sub(start)
	w.countChanges()
	sum := w.sum
	w.emit(Event{Type: EventApplyComplete, Duration: sum.Duration, Summary: &sum})
	switch {
	case sum.Failed > 0:
		return &sum, fmt.Errorf("%w: %d failed, %d skipped", ErrFailed, sum.Failed, sum.Skipped)
	case sum.NotStarted > 0:
		return &sum, fmt.Errorf("%w: %d changes not started", ErrInterrupted, sum.NotStarted)
	}
	return &sum, nil
}

func newWalker(steps []*planner.Step, rt Runtime, rec Recorder, obs Observer, o Options) *walker {
	w := &walker{
		steps: steps, rt: rt, rec: rec, obs: obs,
		status:  make([]stepStatus, len(steps)),
		cause:   make([]string, len(steps)),
		parked:  make([]bool, len(steps)),
		parkErr: make([]error, len(steps)),
		waiting: make([]int, len(steps)),
		next:    make([][]int, len(steps)),
		now:     o.Now,
		hard:    o.Abort,
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.hard == nil {
		w.hard = context.Background()
	}
	for i, s := range steps {
		w.waiting[i] = len(s.Requires) + len(s.Follows)
		for _, j := range s.Requires {
			w.next[j] = append(w.next[j], i)
		}
		for _, j := range s.Follows {
			w.next[j] = append(w.next[j], i)
		}
	}
	return w
}

// runEager starts each step as soon as its predecessors are done, at most
// par at once, and stops starting new ones when ctx is cancelled.
func (w *walker) runEager(ctx context.Context, par int) {
	pool := w.newPool()
	defer pool.close()
	var ready []int
	for i := range w.steps {
		if w.waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	for {
		for len(ready) > 0 && pool.inflight < par && ctx.Err() == nil {
			i := ready[len(ready)-1]
			ready = ready[:len(ready)-1]
			if w.resolveWithoutRunning(i) {
				ready = append(ready, w.release(i)...)
				continue
			}
			if deps := w.parkFor(i); deps != nil {
				pool.park(ctx, i, deps)
				continue
			}
			w.status[i] = running
			pool.run(i)
		}
		if !pool.busy() {
			return
		}
		out, settled := pool.next()
		switch {
		case out.unparked:
			w.parkErr[out.step] = out.parkErr
			ready = append(ready, out.step)
		case settled:
			w.finish(out)
			ready = append(ready, w.release(out.step)...)
		}
	}
}

// runWaves runs all steps of a wave, waits for them, then the next wave.
func (w *walker) runWaves(ctx context.Context, par int) {
	byWave := map[int][]int{}
	maxWave := 0
	for i, s := range w.steps {
		byWave[s.Wave] = append(byWave[s.Wave], i)
		maxWave = max(maxWave, s.Wave)
	}
	pool := w.newPool()
	defer pool.close()
	for wave := 0; wave <= maxWave && ctx.Err() == nil; wave++ {
		queue := byWave[wave]
		for len(queue) > 0 || pool.busy() {
			for len(queue) > 0 && pool.inflight < par && ctx.Err() == nil {
				i := queue[0]
				queue = queue[1:]
				if w.resolveWithoutRunning(i) {
					w.release(i)
					continue
				}
				if deps := w.parkFor(i); deps != nil {
					pool.park(ctx, i, deps)
					continue
				}
				w.status[i] = running
				pool.run(i)
			}
			if !pool.busy() {
				break
			}
			out, settled := pool.next()
			switch {
			case out.unparked:
				w.parkErr[out.step] = out.parkErr
				queue = append(queue, out.step)
			case settled:
				w.finish(out)
				w.release(out.step)
			}
		}
	}
}

// resolveWithoutRunning settles a step that needs no work: the barrier, or
// a step one of whose requirements failed (it is skipped). It reports
// whether the step is settled.
func (w *walker) resolveWithoutRunning(i int) bool {
	s := w.steps[i]
	for _, j := range s.Requires {
		if st := w.status[j]; st == failed || st == skipped {
			w.status[i] = skipped
			w.cause[i] = w.cause[j]
			if s.Change != nil {
				w.emit(Event{Type: EventTransitionSkipped, Address: s.Change.Address, ID: s.Change.ID,
					Action: s.Change.Action, Wave: s.Wave, Transition: s.Transitions[0], Cause: w.cause[j]})
			}
			return true
		}
	}
	if s.Change == nil {
		w.status[i] = succeeded
		return true
	}
	return false
}

// release marks i's successors as having one fewer pending predecessor and
// returns those now ready.
func (w *walker) release(i int) []int {
	var ready []int
	for _, n := range w.next[i] {
		if w.waiting[n]--; w.waiting[n] == 0 {
			ready = append(ready, n)
		}
	}
	return ready
}

func (w *walker) finish(out outcome) {
	w.sum.Transitions += out.transitions
	if out.err != nil {
		w.status[out.step] = failed
		w.cause[out.step] = out.err.Address
		w.sum.Errors = append(w.sum.Errors, *out.err)
		return
	}
	w.status[out.step] = succeeded
}

// runStep performs a step's transitions in order, recording each; it runs
// in its own goroutine and touches no walker state but the read-only steps.
func (w *walker) runStep(i int) outcome {
	s := w.steps[i]
	c := s.Change
	out := outcome{step: i}
	deferred, _ := w.rec.(DeferredRecorder)
	for k, t := range s.Transitions {
		spec := c.After
		if s.Phase == planner.Down || spec == nil {
			spec = c.Before
		}
		w.emit(Event{Type: EventTransitionStart, Address: c.Address, ID: c.ID, Action: c.Action, Wave: s.Wave, Transition: t})
		started := w.now()
		err := w.perform(i, spec, t)
		finished := w.now()
		out.transitions++
		res := Result{Change: c, Transition: t, Spec: spec, Err: err, Started: started, Finished: finished}
		switch {
		case deferred != nil && err == nil && k == len(s.Transitions)-1:
			// The step's dependents wait for this record; the slot does not.
			out.wait = deferred.RecordDeferred(w.hard, res)
		case w.rec != nil:
			if rerr := w.rec.Record(w.hard, res); rerr != nil && err == nil {
				err = fmt.Errorf("the state could not be saved: %w", rerr)
			}
		}
		ev := Event{Address: c.Address, ID: c.ID, Action: c.Action, Wave: s.Wave, Transition: t, Duration: finished.Sub(started)}
		if err != nil {
			ev.Type, ev.Error = EventTransitionErrored, err.Error()
			w.emit(ev)
			out.err = &StepError{Address: c.Address, Transition: t, Err: err}
			return out
		}
		ev.Type = EventTransitionComplete
		w.emit(ev)
	}
	return out
}

// perform runs one transition of step i; a start first waits for the
// module's hard dependencies to be ready (unless a wait while parked
// already failed).
func (w *walker) perform(i int, spec *modules.Spec, t modules.Transition) error {
	if t == modules.TransitionStart && w.parkErr[i] != nil {
		return w.parkErr[i]
	}
	if t == modules.TransitionStart && len(spec.DependsOn) > 0 && !w.allReady(spec.DependsOn) {
		ctx, cancel := context.WithTimeout(w.hard, spec.Timeouts.Start.D())
		defer cancel()
		for _, dep := range spec.DependsOn {
			if err := w.rt.WaitReady(ctx, dep); err != nil {
				return fmt.Errorf("dependency %s is not ready: %w", dep, err)
			}
		}
	}
	return w.rt.Do(w.hard, spec, t)
}

func (w *walker) emit(e Event) {
	if w.obs == nil {
		return
	}
	e.Time = w.now()
	w.obs.Event(e)
}

// countChanges tallies outcomes per change: a change failed if any of its
// steps failed, was skipped if one was skipped, did not start if one never
// ran, and succeeded otherwise.
func (w *walker) countChanges() {
	worst := map[*planner.Change]stepStatus{}
	for i, s := range w.steps {
		if s.Change == nil {
			continue
		}
		st := w.status[i]
		if prev, ok := worst[s.Change]; !ok || rank(st) > rank(prev) {
			worst[s.Change] = st
		}
	}
	for _, st := range worst {
		switch st {
		case succeeded:
			w.sum.Succeeded++
		case failed:
			w.sum.Failed++
		case skipped:
			w.sum.Skipped++
		default:
			w.sum.NotStarted++
		}
	}
}

func rank(s stepStatus) int {
	switch s {
	case failed:
		return 4
	case skipped:
		return 3
	case pending, running:
		return 2
	}
	return 1
}
