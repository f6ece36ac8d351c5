package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// supervision is the goroutine watching one started module: its exits, its
// health checks, and the restarts its policy calls for. It spans restarts
// and ends when the module is stopped, reconfigured with other checks,
// unloaded, shut down, or settles (failed, or stopped after a clean exit).
type supervision struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// supervise starts the supervision of u, which has just started. u.sem is
// held.
func (r *Runtime) supervise(u *unit) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervision{cancel: cancel, done: make(chan struct{})}
	u.mu.Lock()
	u.sup = s
	u.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(s.done)
		defer cancel()
		u.mu.Lock()
		c := u.pending
		u.pending = nil
		u.mu.Unlock()
		for ctx.Err() == nil {
			if c == nil {
				c = r.watch(ctx, u)
			}
			for c != nil {
				var more bool
				if c, more = r.handle(ctx, u, s, *c); !more {
					return
				}
			}
		}
	}()
}

// cancelSupervision signals u's supervision to end without waiting, so that
// a restart in progress gives way to a stop the executor asked for.
func (u *unit) cancelSupervision() {
	u.mu.Lock()
	s := u.sup
	u.mu.Unlock()
	if s != nil {
		s.cancel()
	}
}

// watch runs the health checks of u's current started period until the
// module exits, fails its liveness check, or ctx ends (nil).
func (r *Runtime) watch(ctx context.Context, u *unit) *cause {
	u.mu.Lock()
	inst, spec, started := u.inst, u.spec, u.startedAt
	u.mu.Unlock()
	t := newHealthTracker(&spec, started)
	hc, timeout := t.check, t.timeout()

	probeCtx, cancelProbes := context.WithCancel(ctx)
	var probing sync.WaitGroup
	defer func() {
		cancelProbes()
		probing.Wait()
	}()
	results := make(chan observation, 1) // one check in flight at a time
	timer := time.NewTimer(0)
	defer timer.Stop()
	var delay time.Duration
	for {
		select {
		case err := <-inst.Exits():
			if err != nil {
				err = fmt.Errorf("exited: %w", err)
			}
			return &cause{kind: causeExit, err: err}
		case <-timer.C:
			probing.Add(1)
			go func() {
				defer probing.Done()
				results <- r.check(probeCtx, hc, timeout, inst)
			}()
		case o := <-results:
			h, dead := t.observe(r.now(), o)
			r.setHealth(u, h)
			if dead != nil {
				return &cause{kind: causeLiveness, err: dead}
			}
			delay = t.nextDelay(delay)
			timer.Reset(delay)
		case <-ctx.Done():
			return nil
		}
	}
}

// check runs one check: the health block's probe, when there is one, and
// the module's own Health, each bounded by timeout.
func (r *Runtime) check(ctx context.Context, hc *modules.HealthCheck, timeout time.Duration, inst *modules.Instance) observation {
	var o observation
	if hc != nil {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		o.probeErr = r.probes.probe(pctx, hc, inst.Context().ID(), inst.Context().DataDir())
		cancel()
	}
	o.own, o.ownErr = ownHealth(ctx, inst, timeout)
	return o
}

// ownHealth asks the module for its health, giving up at timeout: a Health
// that hangs is abandoned (it cannot be killed) and counts as not live.
func ownHealth(ctx context.Context, inst *modules.Instance, timeout time.Duration) (modules.Health, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		h   modules.Health
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		h, err := inst.CheckHealth(ctx)
		ch <- answer{h, err}
	}()
	select {
	case a := <-ch:
		return a.h, a.err
	case <-ctx.Done():
		return modules.Health{Status: modules.StatusUnhealthy, Details: map[string]string{
			"error": fmt.Sprintf("Health did not answer within %s", timeout),
		}}, nil
	}
}

// setHealth records a check's merged health and reports a change.
func (r *Runtime) setHealth(u *unit, h modules.Health) {
	u.mu.Lock()
	old := u.health
	u.health = h
	if l := h.Details["limits"]; l != "" {
		u.limits = l
	}
	u.notifyLocked()
	u.mu.Unlock()
	if !sameHealth(old, h) {
		r.emit(u, Event{Kind: EventHealthChanged})
	}
}

// handle applies the restart policy to one cause: it stops what is left of
// the module, then either settles it (stopped after a clean exit, or
// failed) and returns more = false, or waits the backoff and starts it
// again. While it waits the module is failed (stopped after a clean exit)
// with RestartAt set. A failed restart comes back as the next cause.
func (r *Runtime) handle(ctx context.Context, u *unit, s *supervision, c cause) (next *cause, more bool) {
	if err := u.lock(ctx); err != nil {
		// Cancelled: whoever cancelled takes over, and a supervision that
		// follows (the module still started) handles the cause.
		u.mu.Lock()
		u.pending = &c
		u.mu.Unlock()
		return nil, false
	}
	d := r.decide(ctx, u, s, c)
	u.unlock()

	if c.kind == causeExit {
		r.emit(u, Event{Kind: EventExited, Err: c.err})
	}
	if d.final {
		if d.reason != nil { // MarkFailed logged it
			r.emit(u, Event{Kind: EventFailed, Err: d.reason})
		}
		return nil, false
	}
	r.log.Warn("restarting module", "module_id", d.id, "attempt", d.attempt, "backoff", d.delay.String(), "cause", errText(c.err))
	if !sleep(ctx, d.delay) || u.lock(ctx) != nil {
		return nil, false
	}
	err := r.restartLocked(ctx, u)
	u.unlock()
	if err != nil {
		return &cause{kind: causeStart, err: fmt.Errorf("restart: %w", err)}, true
	}
	r.emit(u, Event{Kind: EventRestarted, Attempt: d.attempt, Backoff: d.delay})
	return nil, true
}

// decision is what the restart policy made of a cause.
type decision struct {
	id string
	// final: no restart follows; reason says why the module failed (nil
	// after a clean exit it is not restarted for).
	final  bool
	reason error
	// attempt and delay describe the restart that follows.
	attempt int
	delay   time.Duration
}

// decide applies the restart policy to c, stops what is left of the module
// and records the outcome. u.sem is held.
func (r *Runtime) decide(ctx context.Context, u *unit, s *supervision, c cause) decision {
	spec := u.specCopy()
	policy := restartPolicy(spec.Restart)
	d := decision{id: spec.ID, final: true}
	var gaveUp error
	if shouldRestart(policy, c) {
		u.mu.Lock()
		d.attempt, d.delay, gaveUp = u.history.next(policy, r.now())
		u.mu.Unlock()
		d.final = gaveUp != nil
	}
	if d.final {
		d.reason = failReason(policy, c, gaveUp)
	}
	inst, _ := u.instance()
	r.stopQuietly(ctx, u, &spec)
	// Failed for good, or failed and waiting for its restart (RestartAt
	// says when); a clean exit leaves it stopped.
	failed := d.reason
	if failed == nil {
		failed = c.err
	}
	if failed != nil {
		inst.MarkFailed(failed)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if failed != nil {
		u.lastErr = failed.Error()
	}
	if !d.final {
		u.restartAt = r.now().Add(d.delay)
	} else if u.sup == s {
		u.sup = nil
	}
	u.notifyLocked()
	return d
}

// failReason is why a module that will not run again failed, or nil when
// it simply exited cleanly and its policy does not restart it.
func failReason(p modules.RestartPolicy, c cause, gaveUp error) error {
	switch {
	case gaveUp != nil && c.err != nil:
		return fmt.Errorf("%w; last: %w", gaveUp, c.err)
	case gaveUp != nil:
		return fmt.Errorf("%w; last: exited cleanly", gaveUp)
	case c.err != nil:
		return fmt.Errorf("%w (restart policy %q)", c.err, p.Policy)
	}
	return nil
}

// stopQuietly stops what is left of a module that exited or failed (or
// failed to reconfigure), within its stop timeout even when ctx is
// cancelled meanwhile: a stop is better finished than cut. Errors are
// logged and recorded. u.sem is held.
func (r *Runtime) stopQuietly(ctx context.Context, u *unit, spec *modules.Spec) {
	inst, _ := u.instance()
	if inst == nil || inst.State() == modules.StateStopped {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout(spec))
	defer cancel()
	if err := r.transition(sctx, u, modules.TransitionStop); err != nil {
		r.log.Error("stop after a failure", "module_id", spec.ID, "error", err)
	}
}

// restartLocked starts u again with freshly resolved secrets, counting the
// restart. u.sem is held.
func (r *Runtime) restartLocked(ctx context.Context, u *unit) error {
	u.mu.Lock()
	u.restartAt = time.Time{}
	inst, spec := u.inst, u.spec
	u.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, startTimeout(&spec))
	defer cancel()
	if err := r.resolveInto(sctx, u, inst, &spec); err != nil {
		return err
	}
	if err := r.transition(sctx, u, modules.TransitionStart); err != nil {
		return err
	}
	u.mu.Lock()
	u.restarts++
	u.mu.Unlock()
	return nil
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func errText(err error) string {
	if err == nil {
		return "clean exit"
	}
	return err.Error()
}
