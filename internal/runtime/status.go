package runtime

import (
	"errors"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// Errors the runtime returns (wrapped); test them with errors.Is.
var (
	// ErrUnknownModule: no module with that address is in the runtime
	// (it was never initialised, or it was unloaded).
	ErrUnknownModule = errors.New("module is not in the runtime")
	// ErrModuleFailed: the module failed (for good, not between restarts)
	// before it was ready.
	ErrModuleFailed = errors.New("module failed")
	// ErrNotStarted: a caller waited for a module that is not started and
	// has no restart pending (stopped, or never started).
	ErrNotStarted = errors.New("module is not started")
	// ErrShutdown: the runtime is shutting down and takes no more transitions.
	ErrShutdown = errors.New("runtime is shut down")
	// ErrBusy: another operation on the module (a transition, a restart) did
	// not finish before the caller's deadline.
	ErrBusy = errors.New("module is busy with another operation")
)

// ModuleStatus is what the runtime knows of one module instance. It never
// holds a secret value: Spec carries placeholders, SecretFingerprints keyed
// fingerprints.
type ModuleStatus struct {
	// Spec is the spec the module was last initialised, started or
	// reconfigured with. Its slices are shared: treat it as read-only.
	Spec  modules.Spec
	State modules.State
	// Health is the module's `health` block check merged with the module's
	// own Health, as of the last check. A module that is not started is
	// unhealthy, not ready and not live.
	Health modules.Health
	// StartedAt and StoppedAt are the last start and stop (zero: never).
	StartedAt, StoppedAt time.Time
	// Uptime is the cumulative time spent started since the runtime first
	// initialised the module.
	Uptime time.Duration
	// Restarts counts the restarts the runtime made on its own: by restart
	// policy and for rotated secrets.
	Restarts int
	// LastError is the last error of a transition, an exit or a failed
	// liveness check ("" when none since the last successful start).
	LastError string
	Usage     modules.Usage
	// SecretFingerprints maps SecretRef.String() to the fingerprint of the
	// value the module was last given.
	SecretFingerprints map[string]string
	// Blob is what the module saved with Context.SaveBlob.
	Blob []byte
	// LimitsApplied is how resource limits were enforced, from the
	// "limits" detail of the module's own Health ("cgroup", "rlimit",
	// "none"); "" when the module does not say.
	LimitsApplied string
	// RestartAt is when a pending restart will happen; zero when none is.
	// Meanwhile State is failed (stopped when the module exited cleanly
	// and its policy is always): the module is not running but will be.
	RestartAt time.Time
}

// EventKind says what an Event reports.
type EventKind string

// The event kinds.
const (
	// EventExited: a started module exited on its own (Err is its error,
	// nil for a clean exit). A restarted or failed event may follow.
	EventExited EventKind = "exited"
	// EventRestarted: the runtime restarted the module by its restart
	// policy (Attempt, Backoff) or for a rotated secret.
	EventRestarted EventKind = "restarted"
	// EventFailed: the module is failed and the runtime will not restart it
	// (restart policy or attempts exhausted); Err says why.
	EventFailed EventKind = "failed"
	// EventHealthChanged: the merged health's status, readiness or liveness
	// changed.
	EventHealthChanged EventKind = "health_changed"
	// EventSecretRotated: a secret the module uses has a new value and
	// on_secret_change was applied; Err is set when that failed.
	EventSecretRotated EventKind = "secret_rotated"
)

// Event is a change the runtime made on its own, outside Do.
type Event struct {
	Address string
	Kind    EventKind
	// Status is the module's status once the change was made. Its Usage
	// is zero in health_changed events: health changes often, and
	// measuring usage costs the module a read of its processes.
	Status ModuleStatus
	Err    error
	Time   time.Time
	// Attempt is the restart's number within the restart window and
	// Backoff the delay waited before it (restarted events by policy).
	Attempt int
	Backoff time.Duration
	// Secrets lists the references (SecretRef.String()) whose values
	// changed, sorted (secret_rotated events).
	Secrets []string
}
