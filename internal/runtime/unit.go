package runtime

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// unit is the runtime's record of one module address: its instance and what
// the runtime tracks around it.
type unit struct {
	addr string
	// sem is the module's operation lock, held for a whole transition,
	// restart or rotation. A channel, so waiting for it honours a context.
	sem chan struct{}

	mu   sync.Mutex // guards the fields below; never held while calling module code
	spec modules.Spec
	inst *modules.Instance // nil until init created it
	// loaded: the instance got through load, so a failed one is restarted,
	// not re-created.
	loaded bool
	// gone: unloaded (or never created); a new unit stands for the address.
	gone bool
	// fresh: the config set by init or reconfigure has not been started
	// with yet, so start need not read the secrets again.
	fresh bool
	// running: a started period is open (for uptime).
	running              bool
	startedAt, stoppedAt time.Time
	uptime               time.Duration
	restarts             int
	lastErr              string
	fingerprints         map[string]string
	health               modules.Health // merged health of the current started period
	limits               string
	restartAt            time.Time
	history              restartHistory
	sup                  *supervision // nil when not supervised
	// pending is a cause a cancelled supervision could not handle, for the
	// next one (after a reconfigure that changed the checks); a stop
	// drops it.
	pending *cause
	// changed is closed at the unit's next change, for readiness waiters;
	// nil while nobody waits (most changes have no waiter).
	changed chan struct{}
}

func newUnit(addr string) *unit {
	return &unit{addr: addr, sem: make(chan struct{}, 1)}
}

// lock takes the module's operation lock, or gives up when ctx ends.
func (u *unit) lock(ctx context.Context) error {
	select {
	case u.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case u.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w: %w", u.addr, ErrBusy, ctx.Err())
	}
}

func (u *unit) unlock() { <-u.sem }

// notifyLocked wakes everyone waiting for a change of the unit. u.mu is held.
func (u *unit) notifyLocked() {
	if u.changed != nil {
		close(u.changed)
		u.changed = nil
	}
}

// changedLocked returns the channel closed at the unit's next change. u.mu
// is held.
func (u *unit) changedLocked() <-chan struct{} {
	if u.changed == nil {
		u.changed = make(chan struct{})
	}
	return u.changed
}

// instance returns the unit's instance and whether it is still the
// runtime's record of its address.
func (u *unit) instance() (*modules.Instance, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inst, !u.gone
}

// specCopy returns the current spec.
func (u *unit) specCopy() modules.Spec {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.spec
}

// endRunningLocked closes the current started period, adding it to uptime.
func (u *unit) endRunningLocked(now time.Time) {
	if u.running {
		u.uptime += now.Sub(u.startedAt)
		u.running = false
	}
}

// endSupervision cancels the module's supervision and waits for its
// goroutine, bounded by ctx. The caller holds the operation lock, so the
// supervisor is not inside an operation: it is watching, waiting for the
// lock or sleeping a backoff, all of which end at once on cancel.
func (u *unit) endSupervision(ctx context.Context) error {
	u.mu.Lock()
	s := u.sup
	u.sup, u.restartAt = nil, time.Time{}
	u.mu.Unlock()
	if s == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: supervision did not end: %w", u.addr, ctx.Err())
	}
}

// status builds the unit's status, with the module's usage when usage is
// set; ok is false when the unit has no instance (init never got that far)
// or was unloaded.
func (u *unit) status(now time.Time, usage bool) (ModuleStatus, bool) {
	u.mu.Lock()
	inst := u.inst
	if inst == nil || u.gone {
		u.mu.Unlock()
		return ModuleStatus{}, false
	}
	st := inst.State()
	s := ModuleStatus{
		Spec:               u.spec,
		State:              st,
		StartedAt:          u.startedAt,
		StoppedAt:          u.stoppedAt,
		Uptime:             u.uptime,
		Restarts:           u.restarts,
		LastError:          u.lastErr,
		SecretFingerprints: cloneFingerprints(u.fingerprints),
		LimitsApplied:      u.limits,
		RestartAt:          u.restartAt,
	}
	if u.running {
		s.Uptime += now.Sub(u.startedAt)
	}
	if st == modules.StateStarted {
		s.Health = u.health
		s.Health.Details = maps.Clone(u.health.Details)
	} else {
		s.Health = stoppedHealth(st, u.lastErr)
	}
	u.mu.Unlock()
	// Module code runs outside the lock: a slow UsageReporter delays this
	// status, nothing else.
	if usage {
		s.Usage = inst.Usage()
	}
	if b := inst.Context().Blob(); b != nil {
		s.Blob = append([]byte(nil), b...)
	}
	return s, true
}

// readiness says whether the module is ready, or why waiting for it is
// pointless, and returns the channel closed at its next change.
func (u *unit) readiness() (ready bool, changed <-chan struct{}, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inst == nil || u.gone {
		return false, nil, ErrUnknownModule
	}
	st := u.inst.State()
	switch {
	case st == modules.StateStarted && u.health.Ready:
		return true, nil, nil
	case st == modules.StateStarted || u.sup != nil:
		// Started and not ready yet, or between the stop and the start of
		// a restart.
		return false, u.changedLocked(), nil
	case st == modules.StateFailed:
		return false, nil, fmt.Errorf("%w%s", ErrModuleFailed, suffix(u.lastErr))
	}
	return false, nil, fmt.Errorf("%w (it is %s)%s", ErrNotStarted, st, suffix(u.lastErr))
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
