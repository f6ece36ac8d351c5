package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// Options configure a Runtime.
type Options struct {
	// Registry supplies each kind's factory.
	Registry *modules.Registry
	// Secrets resolves secret placeholders when a module inits, starts or
	// reconfigures. Nil: a module with secrets fails to resolve them.
	Secrets SecretResolver
	// Fingerprint returns the keyed fingerprint ("hmac-sha256:…") of a
	// secret value. Nil: an HMAC-SHA256 with a random key made by New, so
	// rotation is still noticed, but fingerprints differ between processes.
	Fingerprint func(ref modules.SecretRef, value string) string
	// Node is the name of the host, handed to modules.
	Node string
	// DataDir is the daemon's data directory: each module gets
	// DataDir/modules/<id with '/' as '.'>/, created 0700 on the module's
	// first Context.DataDir call. Empty: modules get no directory.
	DataDir string
	Logger  *slog.Logger
	// Metrics is where modules record their metrics; nil records nothing.
	Metrics *modules.MetricsFactory
	// Blob returns the blob the state saved for a module, handed to it at
	// init. Nil: no blobs.
	Blob func(address string) []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnEvent receives the changes the runtime makes on its own. It is
	// called from the runtime's goroutines, never with a lock held, and
	// must return quickly; it may call Status and Snapshot but not Do.
	OnEvent func(Event)
}

// Runtime runs module instances: it performs the transitions the executor
// asks for and supervises started modules. It is safe for concurrent use.
type Runtime struct {
	o           Options
	now         func() time.Time
	log         *slog.Logger
	fingerprint func(modules.SecretRef, string) string
	probes      *prober

	mu     sync.Mutex
	units  map[string]*unit
	closed bool

	wg sync.WaitGroup // supervision goroutines
}

// New returns a runtime with no modules. It starts no goroutine until a
// module starts.
func New(o Options) *Runtime {
	r := &Runtime{o: o, now: o.Now, log: o.Logger, fingerprint: o.Fingerprint, probes: newProber(), units: map[string]*unit{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.fingerprint == nil {
		r.fingerprint = randomFingerprint()
	}
	if r.o.Registry == nil {
		r.o.Registry = modules.NewRegistry()
	}
	return r
}

// startTimeout bounds init, load, start and reconfigure.
func startTimeout(spec *modules.Spec) time.Duration {
	if d := spec.Timeouts.Start.D(); d > 0 {
		return d
	}
	return modules.DefaultTimeouts.Start.D()
}

// stopTimeout bounds stop and unload.
func stopTimeout(spec *modules.Spec) time.Duration {
	if d := spec.Timeouts.Stop.D(); d > 0 {
		return d
	}
	return modules.DefaultTimeouts.Stop.D()
}

func transitionTimeout(spec *modules.Spec, t modules.Transition) time.Duration {
	if t == modules.TransitionStop || t == modules.TransitionUnload {
		return stopTimeout(spec)
	}
	return startTimeout(spec)
}

// Do performs one transition of the module at spec.Address:
//
//   - init creates the instance (the kind's factory, its data directory,
//     its config with every secret placeholder replaced by its value) and
//     calls Init;
//   - load calls Load;
//   - start resolves the secrets again (unless init or reconfigure just
//     did), calls Start and begins supervision and health checking; a
//     module whose init or load failed is created anew first;
//   - stop ends supervision, then calls Stop;
//   - unload calls Unload and forgets the instance and its metric series;
//   - reconfigure resolves the new spec's config and calls Reconfigure.
//
// Init, start and reconfigure adopt spec; the others use the spec the
// module has. Stop and unload of an address the runtime does not know do
// nothing. Each call is bounded by spec.Timeouts (start covers init, load,
// start and reconfigure; stop covers stop and unload) or ctx's deadline,
// whichever comes first, including the wait for an operation already
// running on the module (a restart). The error names the module and the
// transition; a transition invalid from the module's state wraps
// modules.ErrInvalidTransition and changes nothing.
func (r *Runtime) Do(ctx context.Context, spec *modules.Spec, t modules.Transition) error {
	if spec == nil || spec.Address == "" {
		return fmt.Errorf("runtime: %s needs a spec with an address", t)
	}
	ctx, cancel := context.WithTimeout(ctx, transitionTimeout(spec, t))
	defer cancel()
	for {
		u, err := r.unitFor(spec.Address, t)
		if err != nil || u == nil {
			return err
		}
		if t == modules.TransitionStop || t == modules.TransitionUnload {
			u.cancelSupervision() // a restart in progress gives way at once
		}
		if err := u.lock(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", t, spec.Address, err)
		}
		if _, live := u.instance(); !live {
			u.unlock() // unloaded meanwhile: look the address up again
			continue
		}
		err = r.doLocked(ctx, u, spec, t)
		u.unlock()
		return err
	}
}

// unitFor returns the unit of addr, creating it for init. It returns nil
// and no error for a stop or unload of an unknown address.
func (r *Runtime) unitFor(addr string, t modules.Transition) (*unit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed && t != modules.TransitionStop && t != modules.TransitionUnload {
		return nil, fmt.Errorf("%s %s: %w", t, addr, ErrShutdown)
	}
	if u := r.units[addr]; u != nil {
		return u, nil
	}
	switch t {
	case modules.TransitionInit:
		u := newUnit(addr)
		r.units[addr] = u
		return u, nil
	case modules.TransitionStop, modules.TransitionUnload:
		return nil, nil
	}
	return nil, fmt.Errorf("%s %s: %w (init it first)", t, addr, ErrUnknownModule)
}

// lookup returns the unit of addr, or nil.
func (r *Runtime) lookup(addr string) *unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.units[addr]
}

// forget removes u from the runtime, with its metric series. u.sem is held.
func (r *Runtime) forget(u *unit) {
	r.mu.Lock()
	if r.units[u.addr] == u {
		delete(r.units, u.addr)
	}
	r.mu.Unlock()
	u.mu.Lock()
	u.gone = true
	id := u.spec.ID
	u.notifyLocked()
	u.mu.Unlock()
	if r.o.Metrics != nil && id != "" {
		r.o.Metrics.Forget(id)
	}
}

// doLocked dispatches one transition; u.sem is held.
func (r *Runtime) doLocked(ctx context.Context, u *unit, spec *modules.Spec, t modules.Transition) error {
	if t != modules.TransitionStop && t != modules.TransitionUnload && r.isClosed() {
		return fmt.Errorf("%s %s: %w", t, u.addr, ErrShutdown)
	}
	switch t {
	case modules.TransitionInit:
		return r.initLocked(ctx, u, spec)
	case modules.TransitionLoad:
		return r.transition(ctx, u, t)
	case modules.TransitionStart:
		return r.startLocked(ctx, u, spec)
	case modules.TransitionStop:
		if err := u.endSupervision(ctx); err != nil {
			return fmt.Errorf("stop %s: %w", u.addr, err)
		}
		return r.transition(ctx, u, t)
	case modules.TransitionUnload:
		if err := u.endSupervision(ctx); err != nil {
			return fmt.Errorf("unload %s: %w", u.addr, err)
		}
		if err := r.transition(ctx, u, t); err != nil {
			return err
		}
		r.forget(u)
		return nil
	case modules.TransitionReconfigure:
		return r.reconfigureLocked(ctx, u, spec)
	}
	return fmt.Errorf("%s %s: unknown transition", t, u.addr)
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// transition runs one lifecycle call on u's instance and keeps the books:
// start and stop times, uptime, the last error. u.sem is held.
func (r *Runtime) transition(ctx context.Context, u *unit, t modules.Transition) error {
	inst, _ := u.instance()
	if inst == nil {
		return fmt.Errorf("%s %s: %w: the module was not initialised", t, u.addr, modules.ErrInvalidTransition)
	}
	err := inst.Do(ctx, t)
	now := r.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case t == modules.TransitionStart && err == nil:
		u.running, u.startedAt, u.fresh = true, now, false
		u.health = newHealthTracker(&u.spec, now).pending()
	case t == modules.TransitionStop:
		u.endRunningLocked(now)
		u.stoppedAt, u.pending = now, nil
	case t == modules.TransitionLoad && err == nil:
		u.loaded = true
	}
	if err != nil && !errors.Is(err, modules.ErrInvalidTransition) {
		u.lastErr = err.Error()
		if inst.State() != modules.StateStarted {
			u.endRunningLocked(now)
		}
	}
	u.notifyLocked()
	return err
}

// Status returns the status of the module at address, its usage measured
// now.
func (r *Runtime) Status(address string) (ModuleStatus, bool) { return r.status(address, true) }

// StatusWithoutUsage is Status with a zero Usage: it does not ask the
// module to measure itself, which can take milliseconds (an exec module
// without a cgroup reads /proc), for callers that record or check a
// status rather than show it.
func (r *Runtime) StatusWithoutUsage(address string) (ModuleStatus, bool) {
	return r.status(address, false)
}

func (r *Runtime) status(address string, usage bool) (ModuleStatus, bool) {
	u := r.lookup(address)
	if u == nil {
		return ModuleStatus{}, false
	}
	return u.status(r.now(), usage)
}

// Snapshot returns the status of every module, sorted by address.
func (r *Runtime) Snapshot() []ModuleStatus {
	units := r.allUnits()
	now := r.now()
	out := make([]ModuleStatus, 0, len(units))
	for _, u := range units {
		if s, ok := u.status(now, true); ok {
			out = append(out, s)
		}
	}
	return out
}

// allUnits returns the units sorted by address.
func (r *Runtime) allUnits() []*unit {
	r.mu.Lock()
	units := make([]*unit, 0, len(r.units))
	for _, u := range r.units {
		units = append(units, u)
	}
	r.mu.Unlock()
	slices.SortFunc(units, func(a, b *unit) int { return strings.Compare(a.addr, b.addr) })
	return units
}

// emit reports a change the runtime made on its own. It is called with no
// lock held.
func (r *Runtime) emit(u *unit, e Event) {
	if r.o.OnEvent == nil {
		return
	}
	e.Address, e.Time = u.addr, r.now()
	e.Status, _ = u.status(e.Time, e.Kind != EventHealthChanged)
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("event handler panicked", "module_id", e.Status.Spec.ID, "event", e.Kind, "panic", fmt.Sprint(p))
		}
	}()
	r.o.OnEvent(e)
}
