// Package executor applies a plan: it walks the plan's step graph (see
// planner.Steps) and performs each step's lifecycle transitions through a
// Runtime, recording each finished transition before anything that depends
// on it starts.
//
// The walk is eager: a step starts as soon as everything it waits for is
// done, bounded by the parallelism; StrategyWaves runs wave after wave
// instead. A failed transition skips every step that requires it, and
// independent branches go on. Cancelling the context stops scheduling: the
// running transitions finish and are recorded, no new one starts.
//
// The parallelism bounds the steps doing work, run on a pool of reused
// worker goroutines. A step does not hold its slot while it only waits: a
// start whose dependencies are not ready yet waits parked (when the Runtime
// can tell readiness at once), and a step whose last record a
// DeferredRecorder has taken waits for it to be durable off the pool; its
// dependents start only once it is.
//
// The executor knows nothing of HTTP, the CLI or state stores: a Recorder
// persists, an Observer renders.
package executor
