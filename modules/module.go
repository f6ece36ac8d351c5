package modules

import "context"

// Module is what a kind implements. The runtime calls the lifecycle methods
// one at a time, never concurrently with each other, each bounded by ctx
// (cancelled at the transition's timeout). Health may be called at any time
// from another goroutine and must not block for long.
//
// Init receives the module's environment; a module keeps mc for later calls.
// Start must return once the module is running: long-lived work goes into
// goroutines started with mc.Go, which are cancelled and awaited when the
// module stops. If such a goroutine returns while the module is started, the
// module has exited and its restart policy applies.
type Module interface {
	Init(ctx context.Context, mc *Context) error
	Load(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Unload(ctx context.Context) error
	Health(ctx context.Context) Health
}

// Reconfigurer is implemented by modules that apply a change of their
// hot-reloadable config fields in place. cfg is the whole new config; mc.Config
// returns it once Reconfigure has returned nil.
type Reconfigurer interface {
	Reconfigure(ctx context.Context, cfg Config) error
}

// UsageReporter is implemented by modules that measure their own resource use
// (cpu, memory), such as exec, which reads its process group from /proc.
// Requests and errors are counted by Context.Track for every module.
type UsageReporter interface {
	Usage() Usage
}

// Base is embedded by modules that need no Init, Load, Unload or Health of
// their own: its methods do nothing and report healthy.
type Base struct{}

// Init does nothing.
func (Base) Init(context.Context, *Context) error { return nil }

// Load does nothing.
func (Base) Load(context.Context) error { return nil }

// Start does nothing.
func (Base) Start(context.Context) error { return nil }

// Stop does nothing.
func (Base) Stop(context.Context) error { return nil }

// Unload does nothing.
func (Base) Unload(context.Context) error { return nil }

// Health reports healthy, ready and live.
func (Base) Health(context.Context) Health { return Healthy("") }

var _ Module = Base{}
