package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/nexus-run/nexus/modules"
)

// CheckSecrets re-reads the secrets of every started module. When a value's
// fingerprint changed it applies the module's on_secret_change:
//
//   - restart (the default): stop, then start with the new values; counted
//     in Restarts;
//   - reload: Reconfigure with the newly resolved config;
//   - noop: nothing; the new fingerprint is recorded, so the change is
//     reported once.
//
// and emits a secret_rotated event naming the references that changed.
// Each secret is read once per call, however many modules use it. Modules
// are handled one after another in address order, so a secret shared by
// many modules rolls through them rather than restarting all at once. A
// secret that cannot be read leaves its modules as they are; the returned
// error joins one error per such module. The daemon calls it on an
// interval.
func (r *Runtime) CheckSecrets(ctx context.Context) error {
	s := r.newResolution(ctx)
	defer s.forget()
	var errs []error
	for _, u := range r.allUnits() {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("check secrets: %w", err))...)
		}
		if err := r.rotate(ctx, s, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// usesSecrets reports whether u is started and has secrets to check.
func (u *unit) usesSecrets() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inst != nil && !u.gone && u.inst.State() == modules.StateStarted &&
		(len(u.fingerprints) > 0 || len(u.spec.Secrets) > 0)
}

// rotate checks one module's secrets and applies its on_secret_change.
func (r *Runtime) rotate(ctx context.Context, s *resolution, u *unit) error {
	if !u.usesSecrets() {
		return nil
	}
	if err := u.lock(ctx); err != nil {
		return fmt.Errorf("check the secrets of %s: %w", u.addr, err)
	}
	changed, actErr, err := r.rotateLocked(ctx, s, u)
	u.unlock()
	if err != nil || len(changed) == 0 {
		return err
	}
	r.emit(u, Event{Kind: EventSecretRotated, Secrets: changed, Err: actErr})
	if actErr != nil {
		return fmt.Errorf("apply rotated secrets to %s: %w", u.addr, actErr)
	}
	return nil
}

// rotateLocked returns the references whose values changed and the error of
// applying on_secret_change; err is set when nothing could be checked.
// u.sem is held.
func (r *Runtime) rotateLocked(ctx context.Context, s *resolution, u *unit) (changed []string, actErr, err error) {
	if !u.usesSecrets() || r.isClosed() {
		return nil, nil, nil
	}
	u.mu.Lock()
	spec, inst, old := u.spec, u.inst, u.fingerprints
	u.mu.Unlock()
	res, err := r.resolve(s, &spec)
	if err != nil {
		return nil, nil, fmt.Errorf("check secrets: %w", err)
	}
	if changed = changedSecrets(old, res.fingerprints); len(changed) == 0 {
		return nil, nil, nil
	}
	r.log.Info("secret rotated", "module_id", spec.ID, "secrets", changed, "on_secret_change", string(spec.OnSecretChange))
	switch spec.OnSecretChange {
	case modules.OnSecretNoop:
	case modules.OnSecretReload:
		rctx, cancel := context.WithTimeout(ctx, startTimeout(&spec))
		actErr = inst.Reconfigure(rctx, res.config)
		cancel()
		if actErr != nil {
			r.failAfterReconfigure(ctx, u, inst, true, actErr)
		}
	default: // restart
		actErr = r.restartForSecrets(ctx, u, inst, &spec, res.config)
	}
	if actErr == nil {
		u.mu.Lock()
		u.fingerprints = res.fingerprints
		u.notifyLocked()
		u.mu.Unlock()
	}
	return changed, actErr, nil
}

// restartForSecrets stops u and starts it with cfg. u.sem is held.
func (r *Runtime) restartForSecrets(ctx context.Context, u *unit, inst *modules.Instance, spec *modules.Spec, cfg modules.Config) error {
	if err := u.endSupervision(ctx); err != nil {
		return err
	}
	stopCtx, cancel := context.WithTimeout(ctx, stopTimeout(spec))
	err := r.transition(stopCtx, u, modules.TransitionStop)
	cancel()
	if err != nil {
		return err
	}
	if err := inst.SetConfig(cfg); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout(spec))
	defer cancel()
	if err := r.transition(startCtx, u, modules.TransitionStart); err != nil {
		return err
	}
	u.mu.Lock()
	u.restarts++
	u.mu.Unlock()
	r.supervise(u)
	return nil
}
