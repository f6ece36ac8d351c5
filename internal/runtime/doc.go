// Package runtime runs module instances and keeps them running.
//
// The executor walks a plan and calls Runtime.Do once per lifecycle
// transition; the daemon persists what the runtime reports and serves its
// status. Between those calls the runtime is on its own: it supervises every
// started module, restarts the ones that exit or fail their liveness check
// according to their restart policy (with doubling backoff and a cap on
// attempts within a window), runs the checks of their `health` blocks,
// tells waiters when a module becomes ready, and re-reads their secrets so
// that a rotated value restarts or reloads the modules that use it. It knows
// nothing of HTTP, plans or state stores: what it changes on its own it
// reports through Options.OnEvent.
//
// Secrets. A module's config carries secret placeholders (see
// modules.SecretRef). The runtime replaces them with values from its
// SecretResolver each time a module is initialised, started or
// reconfigured; the resolved config lives only in the module instance's
// memory. Status, events, logs and errors carry references and keyed
// fingerprints (Options.Fingerprint), never values.
//
// Concurrency. Every operation on one module (a transition, a restart, a
// secret rotation) holds that module's operation lock, so they never
// interleave; operations on different modules run in parallel. Each started
// module has one supervision goroutine, which also schedules its health
// checks; it is cancelled and awaited whenever the module is stopped,
// reconfigured in a way that changes its checks, unloaded or shut down.
// Module code that ignores its context (a Start that never returns, a
// Health that hangs) cannot be killed: it is abandoned at its timeout, the
// module is marked failed, and the runtime goes on.
package runtime
