package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// Runtime performs transitions on module instances.
type Runtime interface {
	// Do performs one transition of the module spec describes. It is
	// bounded by the spec's timeouts and by ctx.
	Do(ctx context.Context, spec *modules.Spec, t modules.Transition) error
	// WaitReady returns once the module at address is ready, or an error.
	WaitReady(ctx context.Context, address string) error
}

// Recorder persists the outcome of each transition. Record must return only
// once the outcome is durable: dependents start after it returns.
type Recorder interface {
	Record(ctx context.Context, r Result) error
}

// DeferredRecorder is a Recorder that can also take the last outcome of a
// step without waiting for it to be durable: RecordDeferred returns at
// once, and the executor calls wait (once, from one goroutine, in the order
// the outcomes were deferred) and starts the step's dependents only after
// wait has returned nil; an error fails the step. The step's slot of the
// parallelism is freed meanwhile, so other transitions run while writes
// wait for the disk, and a store that commits in groups gets larger ones.
type DeferredRecorder interface {
	Recorder
	RecordDeferred(ctx context.Context, r Result) (wait func() error)
}

// Observer receives the apply's events. It is called from several
// goroutines at once and must be safe for that, and quick.
type Observer interface {
	Event(e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event calls f(e).
func (f ObserverFunc) Event(e Event) { f(e) }

// Result is the outcome of one transition.
type Result struct {
	Change     *planner.Change
	Transition modules.Transition
	// Spec is the spec the transition was performed with: the desired one
	// for init, load, start and reconfigure, the recorded one for stop and
	// unload.
	Spec     *modules.Spec
	Err      error
	Started  time.Time
	Finished time.Time
}

// Strategy is how steps are scheduled.
type Strategy string

// The strategies.
const (
	// StrategyEager starts a step as soon as what it waits for is done.
	StrategyEager Strategy = "eager"
	// StrategyWaves runs the plan wave after wave.
	StrategyWaves Strategy = "waves"
)

// DefaultParallelism bounds how many steps run at once by default.
const DefaultParallelism = 10

// Options tune an apply.
type Options struct {
	// Parallelism bounds the steps running at once; 0 means
	// DefaultParallelism, a negative value means unbounded.
	Parallelism int
	Strategy    Strategy
	// Abort, when cancelled, cancels the running transitions too (a second
	// Ctrl-C). Cancelling Apply's ctx only stops new ones from starting.
	Abort context.Context
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Errors Apply returns (wrapped).
var (
	ErrFailed      = errors.New("apply failed")
	ErrInterrupted = errors.New("apply interrupted")
)

// Summary is what an apply did.
type Summary struct {
	// Changes counts the plan's changes by outcome.
	Succeeded, Failed, Skipped, NotStarted int
	Transitions                            int
	Errors                                 []StepError
	Duration                               time.Duration
}

// StepError is a failed transition.
type StepError struct {
	Address    string
	Transition modules.Transition
	Err        error
}

func (e StepError) Error() string { return fmt.Sprintf("%s %s: %v", e.Transition, e.Address, e.Err) }

func (o Options) parallelism() int {
	switch {
	case o.Parallelism == 0:
		return DefaultParallelism
	case o.Parallelism < 0:
		return 1 << 30
	}
	return o.Parallelism
}
