package executor

import (
	"context"
	"fmt"
	"sync"
)

// pool runs steps on worker goroutines it starts as needed, at most one per
// step in flight, and reuses: a 10,000-module apply takes a few dozen
// goroutines, not one (and a fresh stack to grow) per step.
//
// A step whose last record was deferred (see DeferredRecorder) leaves its
// worker at once; one waiter goroutine awaits those records in order (the
// first wait of a batch writes all that is queued, in a store that commits
// in groups) and hands the outcomes back.
//
// Only the walker's goroutine calls pool's methods; close awaits every
// goroutine.
type pool struct {
	w        *walker
	work     chan int
	done     chan outcome // from workers and the waiter
	deferred chan outcome // to the waiter; room for every step, so never full
	workers  int
	inflight int // steps running on a worker
	awaiting int // steps whose last record is not durable yet
	parked   int // steps waiting for their dependencies' readiness
	waiting  bool
	wg       sync.WaitGroup
}

func (w *walker) newPool() *pool {
	return &pool{w: w, work: make(chan int), done: make(chan outcome), deferred: make(chan outcome, len(w.steps))}
}

// busy reports whether a step is running, awaiting its record or parked.
func (p *pool) busy() bool { return p.inflight > 0 || p.awaiting > 0 || p.parked > 0 }

// park waits, on a goroutine of its own and holding no slot, for the
// dependencies of step i to be ready (bounded by the module's start
// timeout and ctx), then hands the step back, unparked, with the error of
// a wait that failed.
func (p *pool) park(ctx context.Context, i int, deps []string) {
	p.parked++
	spec := p.w.steps[i].Change.After
	p.wg.Go(func() {
		wctx, cancel := context.WithTimeout(ctx, spec.Timeouts.Start.D())
		defer cancel()
		out := outcome{step: i, unparked: true}
		for _, dep := range deps {
			if err := p.w.rt.WaitReady(wctx, dep); err != nil {
				out.parkErr = fmt.Errorf("dependency %s is not ready: %w", dep, err)
				break
			}
		}
		p.done <- out
	})
}

// run hands step i to an idle worker, starting one when none is idle.
// Workers not running a step, nor holding an outcome next has not taken,
// wait on work, so the send does not block for long.
func (p *pool) run(i int) {
	if p.workers == p.inflight {
		p.workers++
		p.wg.Go(func() {
			for i := range p.work {
				p.done <- p.w.runStep(i)
			}
		})
	}
	p.inflight++
	p.work <- i
}

// next waits for news of a step: settled is true with the outcome of a
// step that is done (its record durable), false when a step only left its
// worker, its record deferred (a slot is free).
func (p *pool) next() (out outcome, settled bool) {
	out = <-p.done
	switch {
	case out.unparked:
		p.parked--
		return out, false
	case out.durable:
		p.awaiting--
		return out, true
	case out.wait != nil:
		p.inflight--
		p.awaiting++
		if !p.waiting {
			p.waiting = true
			p.wg.Go(p.await)
		}
		p.deferred <- out
		return out, false
	}
	p.inflight--
	return out, true
}

// await is the waiter: it waits for each deferred record in turn.
func (p *pool) await() {
	w := p.w
	for out := range p.deferred {
		if err := out.wait(); err != nil {
			s := w.steps[out.step]
			c, t := s.Change, s.Transitions[len(s.Transitions)-1]
			err = fmt.Errorf("the state could not be saved: %w", err)
			w.emit(Event{Type: EventTransitionErrored, Address: c.Address, ID: c.ID, Action: c.Action, Wave: s.Wave, Transition: t, Error: err.Error()})
			out.err = &StepError{Address: c.Address, Transition: t, Err: err}
		}
		out.wait, out.durable = nil, true
		p.done <- out
	}
}

// close stops the workers and the waiter, which are all idle, and waits
// for them.
func (p *pool) close() {
	close(p.work)
	close(p.deferred)
	p.wg.Wait()
}
