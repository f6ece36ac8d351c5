package runtime

import (
	"context"
	"fmt"

	"github.com/nexus-run/nexus/modules"
)

// WaitReady blocks until the module at address is ready: its `health`
// block check passing when it has one, else its own Health().Ready. The
// module's supervision checks fast at first (from 10ms, doubling up to the
// check interval) until the module is first ready, and wakes WaitReady on
// every result, so a quick starter is seen within tens of milliseconds.
//
// A module between the stop and the start of a restart is waited for. The
// error names the module and wraps ErrModuleFailed when it fails for good
// while waiting (or already has), ErrNotStarted when it is not started (or
// exits cleanly and stays stopped), ErrUnknownModule when the runtime does
// not know it, and ctx's error (with the module's last health) when ctx
// ends first.
func (r *Runtime) WaitReady(ctx context.Context, address string) error {
	for {
		u := r.lookup(address)
		if u == nil {
			return fmt.Errorf("wait for %s to be ready: %w", address, ErrUnknownModule)
		}
		ready, changed, err := u.readiness()
		switch {
		case ready:
			return nil
		case err != nil:
			return fmt.Errorf("wait for %s to be ready: %w", address, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s is not ready: %w%s", address, ctx.Err(), r.lastHealth(u))
		}
	}
}

// Ready reports whether the module at address is ready now, without
// waiting: what WaitReady would return at once without error.
func (r *Runtime) Ready(address string) bool {
	u := r.lookup(address)
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inst != nil && !u.gone && u.inst.State() == modules.StateStarted && u.health.Ready
}

// lastHealth describes u's last health for a readiness timeout.
func (r *Runtime) lastHealth(u *unit) string {
	s, ok := u.status(r.now(), false)
	if !ok {
		return ""
	}
	msg := fmt.Sprintf(" (health: %s", s.Health.Status)
	for _, k := range []string{"check_error", "error"} {
		if e := s.Health.Details[k]; e != "" {
			msg += ", " + e
			break
		}
	}
	return msg + ")"
}
