package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ErrTimeout is returned (wrapped) when a lifecycle call outlives its
// context's deadline. The call is abandoned and the module marked failed.
var ErrTimeout = errors.New("transition timed out")

// ErrPanic is wrapped by the error that stands for a recovered panic in a
// module: in a lifecycle call, a Context.Go goroutine or Health.
var ErrPanic = errors.New("module panicked")

// InstanceOptions are what the runtime knows about a module instance before
// it exists.
type InstanceOptions struct {
	Spec Spec
	// Config is the resolved config (secret values in place of placeholders).
	Config Config
	Node   string
	// DataDir is the module's own directory, created on the module's
	// first call of Context.DataDir; "" means none.
	DataDir string
	// Logger is the runtime's logger; the instance adds module_id.
	Logger  *slog.Logger
	Metrics *MetricsFactory
	// Blob is the state blob saved the last time the module stopped.
	Blob []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Instance drives one module through its lifecycle: it validates each
// transition against the current state, bounds it by its context, recovers
// a panic into an error (the module is then failed, the daemon goes on), and
// logs each transition with module_id, old_state, new_state, transition and
// duration_ms, through the context the transition was given (so a handler
// may add what the context carries, as the daemon's adds the principal and
// request_id of the apply). It is safe for concurrent use; transitions are
// serialised.
type Instance struct {
	module Module
	mc     *Context
	now    func() time.Time

	op    sync.Mutex // serialises transitions
	mu    sync.Mutex // guards the fields below
	state State
	err   error
}

// NewInstance wraps a new module (from its kind's Factory) in its absent state.
func NewInstance(m Module, o InstanceOptions) *Instance {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var metrics *Metrics
	if o.Metrics != nil {
		metrics = o.Metrics.For(o.Spec.Kind, o.Spec.ID)
	}
	mc := &Context{
		id: o.Spec.ID, address: o.Spec.Address, node: o.Node, dataDir: o.DataDir,
		logger:   logger.With("module_id", o.Spec.ID),
		metrics:  metrics,
		limits:   o.Spec.Limits,
		timeouts: o.Spec.Timeouts,
		config:   o.Config,
		blob:     o.Blob,
		exits:    make(chan error, 1),
	}
	return &Instance{module: m, mc: mc, now: now, state: StateAbsent}
}

// Context returns the module's environment.
func (i *Instance) Context() *Context { return i.mc }

// Module returns the wrapped module, for capability checks such as UsageReporter.
func (i *Instance) Module() Module { return i.module }

// State returns the current lifecycle state.
func (i *Instance) State() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.state
}

// LastError returns the error of the last failed transition or exit.
func (i *Instance) LastError() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}

// Exits delivers the error (nil for a clean exit) each time the module exits
// on its own while started: a goroutine from Context.Go returned or panicked.
// The supervisor reading it decides whether to restart.
func (i *Instance) Exits() <-chan error { return i.mc.exits }

// MarkFailed records that the module failed outside a transition (it exited
// past its restart policy, or its liveness check failed).
func (i *Instance) MarkFailed(err error) {
	i.mu.Lock()
	old := i.state
	i.state, i.err = StateFailed, err
	i.mu.Unlock()
	i.mc.logger.Error("module failed", "old_state", old, "new_state", StateFailed, "error", err)
}

// Do performs one transition other than reconfigure. On error the module is
// failed (except for a transition that is invalid from the current state,
// which changes nothing) and the error names the module and transition.
func (i *Instance) Do(ctx context.Context, t Transition) error {
	if t == TransitionReconfigure {
		return fmt.Errorf("%s: use Reconfigure for %s", i.mc.id, t)
	}
	return i.transition(ctx, t, func(ctx context.Context) error {
		switch t {
		case TransitionInit:
			return i.module.Init(ctx, i.mc)
		case TransitionLoad:
			return i.module.Load(ctx)
		case TransitionStart:
			return i.start(ctx)
		case TransitionStop:
			return i.stop(ctx)
		case TransitionUnload:
			return i.module.Unload(ctx)
		}
		return fmt.Errorf("unknown transition %q", t)
	})
}

// SetConfig replaces the resolved config of a module that is not started,
// such as the freshly resolved config the runtime hands a module before it
// starts it again. A started module changes config only through Reconfigure,
// so SetConfig refuses it with an error wrapping ErrInvalidTransition.
func (i *Instance) SetConfig(cfg Config) error {
	i.op.Lock()
	defer i.op.Unlock()
	if st := i.State(); st == StateStarted {
		return fmt.Errorf("%s: %w: set config while %s (use reconfigure)", i.mc.id, ErrInvalidTransition, st)
	}
	i.mc.mu.Lock()
	i.mc.config = cfg
	i.mc.mu.Unlock()
	return nil
}

// Reconfigure applies cfg in place. A module that does not implement
// Reconfigurer just receives the new config through Context.Config (it is
// read on next start). On error the module keeps its old config.
func (i *Instance) Reconfigure(ctx context.Context, cfg Config) error {
	return i.transition(ctx, TransitionReconfigure, func(ctx context.Context) error {
		if r, ok := i.module.(Reconfigurer); ok && i.State() == StateStarted {
			if err := r.Reconfigure(ctx, cfg); err != nil {
				return err
			}
		}
		i.mc.mu.Lock()
		i.mc.config = cfg
		i.mc.mu.Unlock()
		return nil
	})
}

// Health asks the module for its health. A module that is not started is
// unhealthy and not ready; a panicking Health is unhealthy.
func (i *Instance) Health(ctx context.Context) Health {
	h, _ := i.CheckHealth(ctx)
	return h
}

// CheckHealth is Health that also reports a panic in the module's Health as
// an error wrapping ErrPanic, for a supervisor that treats a panic as a
// failure at once rather than as one unhealthy answer.
func (i *Instance) CheckHealth(ctx context.Context) (h Health, err error) {
	if st := i.State(); st != StateStarted {
		d := map[string]string{"state": string(st)}
		if err := i.LastError(); err != nil {
			d["error"] = err.Error()
		}
		return Health{Status: StatusUnhealthy, Details: d}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			i.mc.logger.Error("module health panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("health: %w: %v", ErrPanic, p)
			h = Health{Status: StatusUnhealthy, Details: map[string]string{"error": err.Error()}}
		}
	}()
	return i.module.Health(ctx), nil
}

// Usage returns the module's resource use: cpu and memory when it reports
// them, and the operations counted by Context.Track.
func (i *Instance) Usage() Usage {
	var u Usage
	if r, ok := i.module.(UsageReporter); ok {
		u = r.Usage()
	}
	u.RequestsTotal, u.ErrorsTotal = i.mc.Counts()
	return u
}

func (i *Instance) transition(ctx context.Context, t Transition, fn func(context.Context) error) error {
	i.op.Lock()
	defer i.op.Unlock()
	old := i.State()
	next, err := old.Next(t)
	if err != nil {
		return fmt.Errorf("%s: %w", i.mc.id, err)
	}
	start := i.now()
	err = i.call(ctx, t, fn)
	dur := i.now().Sub(start)
	i.mu.Lock()
	if err != nil {
		next, i.err = StateFailed, err
	} else if t != TransitionReconfigure {
		i.err = nil
	}
	i.state = next
	i.mu.Unlock()
	// Plain string attributes: a State or Transition passed as any would be
	// JSON-encoded through reflection, on every transition.
	attrs := [5]slog.Attr{slog.String("transition", string(t)), slog.String("old_state", string(old)),
		slog.String("new_state", string(next)), slog.Int64("duration_ms", dur.Milliseconds())}
	if err != nil {
		attrs[4] = slog.Any("error", err)
		i.mc.logger.LogAttrs(ctx, slog.LevelError, "transition failed", attrs[:]...)
		return fmt.Errorf("%s %s: %w", t, i.mc.id, err)
	}
	i.mc.logger.LogAttrs(ctx, slog.LevelInfo, "transition", attrs[:4]...)
	return nil
}

// call runs fn bounded by ctx: a module that ignores its context is
// abandoned at the deadline, and a panic becomes an error.
func (i *Instance) call(ctx context.Context, t Transition, fn func(context.Context) error) error {
	budget := "its deadline"
	if d, ok := ctx.Deadline(); ok {
		budget = d.Sub(i.now()).Round(time.Millisecond).String()
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				i.mc.logger.Error("module panicked", "transition", t, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- fmt.Errorf("%w: %v", ErrPanic, p)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: the module did not return within %s", ErrTimeout, budget)
		}
		return ctx.Err()
	}
}

// start opens a new started period and calls Start; on failure the period's
// goroutines are cancelled and awaited.
func (i *Instance) start(ctx context.Context) error {
	i.mc.mu.Lock()
	prev := i.mc.run
	i.mc.mu.Unlock()
	if prev != nil {
		// Starting a failed module that was never stopped: its last
		// period's goroutines must end before a new period begins.
		if err := i.endRun(ctx, prev); err != nil {
			return err
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &run{ctx: runCtx, cancel: cancel}
	i.mc.mu.Lock()
	i.mc.run = r
	i.mc.mu.Unlock()
	// A stale exit from a previous period must not be taken for this one's.
	select {
	case <-i.mc.exits:
	default:
	}
	err := i.module.Start(ctx)
	if err == nil && ctx.Err() != nil {
		// Start returned after its deadline: the caller was already told it
		// failed, so what it started must not run on unsupervised.
		err = ctx.Err()
	}
	if err != nil {
		i.endRun(ctx, r)
		return err
	}
	return nil
}

// stop calls Stop, then cancels the started period's goroutines and waits for
// them, bounded by ctx. Stopping a module that is not running only calls Stop.
func (i *Instance) stop(ctx context.Context) error {
	i.mc.mu.Lock()
	r := i.mc.run
	i.mc.mu.Unlock()
	if r != nil {
		r.stopping.Store(true)
	}
	err := i.module.Stop(ctx)
	if r != nil {
		if werr := i.endRun(ctx, r); err == nil {
			err = werr
		}
	}
	return err
}

func (i *Instance) endRun(ctx context.Context, r *run) error {
	r.stopping.Store(true)
	r.cancel()
	waited := make(chan struct{})
	go func() { r.wg.Wait(); close(waited) }()
	i.mc.mu.Lock()
	if i.mc.run == r {
		i.mc.run = nil
	}
	i.mc.mu.Unlock()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("goroutines still running at the stop deadline: %w", ErrTimeout)
	}
}
