package runtime

import (
	"fmt"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// causeKind is why a started module stopped running on its own.
type causeKind int

const (
	// causeExit: a Context.Go goroutine returned or panicked.
	causeExit causeKind = iota
	// causeLiveness: the liveness check failed failure_threshold times in
	// a row, or the module's Health panicked.
	causeLiveness
	// causeStart: a restart's start failed (or its secrets could not be
	// resolved).
	causeStart
)

// cause is one reason to apply the restart policy. err is nil only for a
// clean exit.
type cause struct {
	kind causeKind
	err  error
}

// failure reports whether the cause counts as a failure for on-failure.
func (c cause) failure() bool { return c.err != nil }

// restartPolicy returns p with zero fields replaced by the defaults of
// modules.DefaultRestartPolicy, so a partly written restart block (or none)
// still bounds restarts.
func restartPolicy(p modules.RestartPolicy) modules.RestartPolicy {
	d := modules.DefaultRestartPolicy
	if p.Policy == "" {
		p.Policy = d.Policy
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	if p.Backoff <= 0 {
		p.Backoff = d.Backoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
	return p
}

// shouldRestart applies the policy's mode to a cause.
func shouldRestart(p modules.RestartPolicy, c cause) bool {
	switch p.Policy {
	case modules.RestartAlways:
		return true
	case modules.RestartOnFailure:
		return c.failure()
	}
	return false
}

// backoff is the delay before restart attempt n (1-based): Backoff doubled
// n-1 times, capped at MaxBackoff.
func backoff(p modules.RestartPolicy, n int) time.Duration {
	d, limit := p.Backoff.D(), p.MaxBackoff.D()
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// restartHistory remembers the restarts made by policy within the window.
type restartHistory struct {
	times []time.Time
}

// next records a restart attempt at now and returns its number within the
// window and the delay to wait before it. When the policy's MaxAttempts
// restarts already happened within the window it records nothing and
// returns an error saying so.
func (h *restartHistory) next(p modules.RestartPolicy, now time.Time) (attempt int, delay time.Duration, err error) {
	cutoff := now.Add(-p.Window.D())
	kept := h.times[:0]
	for _, t := range h.times {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	h.times = kept
	if len(h.times) >= p.MaxAttempts {
		return len(h.times), 0, fmt.Errorf("gave up after %d restarts within %s (restart.max_attempts)", len(h.times), p.Window)
	}
	h.times = append(h.times, now)
	n := len(h.times)
	return n, backoff(p, n), nil
}

// reset forgets past restarts, when an operator starts the module.
func (h *restartHistory) reset() { h.times = h.times[:0] }
