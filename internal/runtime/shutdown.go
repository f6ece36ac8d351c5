package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/nexus-run/nexus/modules"
)

// Shutdown stops every running module: dependents before what they depend
// on (spec.DependsOn and spec.After), independent ones in parallel, each
// within its stop timeout and ctx. It unloads nothing and leaves failed
// modules as they are: the state still says which modules should run when
// the daemon comes back. Shutdown refuses new transitions (ErrShutdown,
// except stop and unload), ends every supervision goroutine and returns
// once all are stopped and awaited; the error joins the stops that failed.
// Calling it again stops what was started since, which is nothing.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	units := r.allUnits()
	err := stopInOrder(units, func(u *unit) []string {
		spec := u.specCopy()
		return append(append([]string(nil), spec.DependsOn...), spec.After...)
	}, func(u *unit) error { return r.shutdownUnit(ctx, u) })

	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("shutdown: supervision goroutines still running: %w", ctx.Err()))
	}
	return err
}

// shutdownUnit ends u's supervision and stops it if it is started or
// waiting to be restarted.
func (r *Runtime) shutdownUnit(ctx context.Context, u *unit) error {
	spec := u.specCopy()
	ctx, cancel := context.WithTimeout(ctx, stopTimeout(&spec))
	defer cancel()
	u.cancelSupervision()
	if err := u.lock(ctx); err != nil {
		return fmt.Errorf("stop %s: %w", u.addr, err)
	}
	defer u.unlock()
	if err := u.endSupervision(ctx); err != nil {
		return err
	}
	inst, live := u.instance()
	if !live || inst == nil || inst.State() != modules.StateStarted {
		return nil
	}
	return r.transition(ctx, u, modules.TransitionStop)
}

// stopInOrder calls stop for every unit, each in its own goroutine, once
// every unit that depends on it has been stopped. deps returns the
// addresses a unit depends on; those outside units are ignored. Should the
// units hold a cycle (the planner refuses them), its members are stopped
// together once nothing else can go.
func stopInOrder(units []*unit, deps func(*unit) []string, stop func(*unit) error) error {
	n := len(units)
	index := make(map[string]int, n)
	for i, u := range units {
		index[u.addr] = i
	}
	waiting := make([]int, n) // dependents not stopped yet
	uses := make([][]int, n)  // what each unit depends on
	for i, u := range units {
		for _, d := range deps(u) {
			if j, ok := index[d]; ok && j != i {
				waiting[j]++
				uses[i] = append(uses[i], j)
			}
		}
	}
	errs := make([]error, n)
	launched := make([]bool, n)
	done := make(chan int)
	running, left := 0, n
	launch := func(i int) {
		launched[i] = true
		running++
		go func() {
			errs[i] = stop(units[i])
			done <- i
		}()
	}
	for i := range units {
		if waiting[i] == 0 {
			launch(i)
		}
	}
	for left > 0 {
		if running == 0 { // a cycle: nothing is free, stop what is left
			for i := range units {
				if !launched[i] {
					launch(i)
				}
			}
		}
		i := <-done
		running--
		left--
		for _, j := range uses[i] {
			if waiting[j]--; waiting[j] == 0 && !launched[j] {
				launch(j)
			}
		}
	}
	return errors.Join(errs...)
}
