package runtime

import (
	"context"
	"fmt"

	"github.com/nexus-run/nexus/modules"
)

// initLocked creates u's instance and calls Init. An instance whose init
// or load failed is replaced; any other existing instance makes init
// invalid. u.sem is held.
func (r *Runtime) initLocked(ctx context.Context, u *unit, spec *modules.Spec) error {
	u.mu.Lock()
	old, loaded := u.inst, u.loaded
	u.mu.Unlock()
	if old != nil {
		if st := old.State(); st != modules.StateFailed || loaded {
			return fmt.Errorf("init %s: %w: init from %s", u.addr, modules.ErrInvalidTransition, st)
		}
	}
	inst, fps, err := r.newInstance(ctx, spec)
	if err != nil {
		if old == nil {
			r.forget(u)
		}
		return fmt.Errorf("init %s: %w", u.addr, err)
	}
	u.mu.Lock()
	u.inst, u.spec, u.fingerprints, u.fresh, u.loaded = inst, *spec, fps, true, false
	u.mu.Unlock()
	return r.transition(ctx, u, modules.TransitionInit)
}

// newInstance builds a module instance from spec: the kind's factory, the
// module's data directory, its resolved config and saved blob.
func (r *Runtime) newInstance(ctx context.Context, spec *modules.Spec) (*modules.Instance, map[string]string, error) {
	_, factory, err := r.o.Registry.Lookup(spec.Kind)
	if err != nil {
		return nil, nil, err
	}
	id := spec.ID
	if id == "" {
		id = spec.Address
	}
	dir := moduleDir(r.o.DataDir, id)
	res, err := r.resolveNow(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	m, err := callFactory(spec.Kind, factory)
	if err != nil {
		return nil, nil, err
	}
	var blob []byte
	if r.o.Blob != nil {
		blob = r.o.Blob(spec.Address)
	}
	inst := modules.NewInstance(m, modules.InstanceOptions{
		Spec: *spec, Config: res.config, Node: r.o.Node, DataDir: dir,
		Logger: r.log, Metrics: r.o.Metrics, Blob: blob, Now: r.now,
	})
	return inst, res.fingerprints, nil
}

// callFactory runs a kind's factory, turning a panic into an error.
func callFactory(kind string, f modules.Factory) (m modules.Module, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the factory of kind %q: %w: %v", kind, modules.ErrPanic, p)
		}
	}()
	if m = f(); m == nil {
		return nil, fmt.Errorf("the factory of kind %q returned no module", kind)
	}
	return m, nil
}

// checkKind refuses a spec whose kind differs from the instance's: that
// takes a replace (unload, init), not a start or a reconfigure.
func checkKind(cur, spec *modules.Spec, t modules.Transition) error {
	if spec.Kind != cur.Kind {
		return fmt.Errorf("%s %s: the kind changed from %q to %q: replace the module instead", t, cur.Address, cur.Kind, spec.Kind)
	}
	return nil
}

// startLocked starts u with spec and begins its supervision. A module whose
// init or load failed is created anew first; a failed module is stopped
// first, so that nothing of its last run is left. u.sem is held.
func (r *Runtime) startLocked(ctx context.Context, u *unit, spec *modules.Spec) error {
	const t = modules.TransitionStart
	if err := u.endSupervision(ctx); err != nil {
		return fmt.Errorf("start %s: %w", u.addr, err)
	}
	u.mu.Lock()
	inst, loaded, cur, fresh := u.inst, u.loaded, u.spec, u.fresh
	u.mu.Unlock()
	if inst == nil {
		return fmt.Errorf("start %s: %w: the module was not initialised", u.addr, modules.ErrInvalidTransition)
	}
	if err := checkKind(&cur, spec, t); err != nil {
		return err
	}
	if inst.State() == modules.StateFailed {
		if !loaded {
			return r.recreateAndStart(ctx, u, spec)
		}
		if err := r.transition(ctx, u, modules.TransitionStop); err != nil {
			return err
		}
	}
	if inst.State() == modules.StateStarted {
		// Already running (a restart got there first): keep it so, under
		// supervision; it is what was asked unless the config differs.
		r.supervise(u)
		if spec.Config.Equal(cur.Config) {
			return nil
		}
		return fmt.Errorf("start %s: %w: start from started with another config (reconfigure it)", u.addr, modules.ErrInvalidTransition)
	}
	if _, err := inst.State().Next(t); err != nil {
		return fmt.Errorf("start %s: %w", u.addr, err)
	}
	if !fresh || !spec.Config.Equal(cur.Config) {
		if err := r.resolveInto(ctx, u, inst, spec); err != nil {
			return fmt.Errorf("start %s: %w", u.addr, err)
		}
	}
	u.mu.Lock()
	u.spec = *spec
	u.mu.Unlock()
	if err := r.transition(ctx, u, t); err != nil {
		return err
	}
	u.mu.Lock()
	u.history.reset()
	u.lastErr = ""
	u.mu.Unlock()
	r.supervise(u)
	return nil
}

// recreateAndStart runs init, load and start on a fresh instance, for a
// module whose init or load failed.
func (r *Runtime) recreateAndStart(ctx context.Context, u *unit, spec *modules.Spec) error {
	if err := r.initLocked(ctx, u, spec); err != nil {
		return err
	}
	if err := r.transition(ctx, u, modules.TransitionLoad); err != nil {
		return err
	}
	return r.startLocked(ctx, u, spec)
}

// resolveInto resolves spec's secrets and hands the config to a module that
// is not started. u.sem is held.
func (r *Runtime) resolveInto(ctx context.Context, u *unit, inst *modules.Instance, spec *modules.Spec) error {
	res, err := r.resolveNow(ctx, spec)
	if err == nil {
		err = inst.SetConfig(res.config)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.lastErr = err.Error()
		u.notifyLocked()
		return err
	}
	u.fingerprints = res.fingerprints
	return nil
}

// reconfigureLocked applies spec's config in place. A started module that
// fails to reconfigure is stopped and marked failed, so that failed always
// means not running. u.sem is held.
func (r *Runtime) reconfigureLocked(ctx context.Context, u *unit, spec *modules.Spec) error {
	const t = modules.TransitionReconfigure
	u.mu.Lock()
	inst, cur := u.inst, u.spec
	u.mu.Unlock()
	if inst == nil {
		return fmt.Errorf("reconfigure %s: %w: the module was not initialised", u.addr, modules.ErrInvalidTransition)
	}
	if err := checkKind(&cur, spec, t); err != nil {
		return err
	}
	if _, err := inst.State().Next(t); err != nil {
		return fmt.Errorf("reconfigure %s: %w", u.addr, err)
	}
	res, err := r.resolveNow(ctx, spec)
	if err != nil {
		return fmt.Errorf("reconfigure %s: %w", u.addr, err)
	}
	wasStarted := inst.State() == modules.StateStarted
	if err := inst.Reconfigure(ctx, res.config); err != nil {
		r.failAfterReconfigure(ctx, u, inst, wasStarted, err)
		return err
	}
	u.mu.Lock()
	u.spec, u.fingerprints = *spec, res.fingerprints
	u.fresh = !wasStarted
	checksChanged := !sameCheck(cur.Health, spec.Health)
	u.notifyLocked()
	u.mu.Unlock()
	if wasStarted && checksChanged {
		if err := u.endSupervision(ctx); err != nil {
			return fmt.Errorf("reconfigure %s: %w", u.addr, err)
		}
		r.supervise(u)
	}
	return nil
}

// failAfterReconfigure stops a module whose reconfigure failed and marks it
// failed with that error.
func (r *Runtime) failAfterReconfigure(ctx context.Context, u *unit, inst *modules.Instance, wasStarted bool, err error) {
	u.mu.Lock()
	u.lastErr = err.Error()
	u.notifyLocked()
	u.mu.Unlock()
	if !wasStarted {
		return
	}
	if serr := u.endSupervision(ctx); serr != nil {
		r.log.Error("supervision did not end", "module_id", inst.Context().ID(), "error", serr)
	}
	spec := u.specCopy()
	r.stopQuietly(ctx, u, &spec)
	inst.MarkFailed(err)
	u.mu.Lock()
	u.lastErr = err.Error()
	u.notifyLocked()
	u.mu.Unlock()
}

// sameCheck reports whether two health blocks are equal.
func sameCheck(a, b *modules.HealthCheck) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.HTTP != b.HTTP || a.TCP != b.TCP || a.Interval != b.Interval || a.Timeout != b.Timeout ||
		a.FailureThreshold != b.FailureThreshold || len(a.Exec) != len(b.Exec) {
		return false
	}
	for i := range a.Exec {
		if a.Exec[i] != b.Exec[i] {
			return false
		}
	}
	return true
}
