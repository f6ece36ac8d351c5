// Package modules is the nexus module SDK: what a Go developer implements to
// add a kind of module to nexus, and the types every other package shares to
// talk about module instances (lifecycle states, transitions, specs, health).
//
// A kind is a Go type registered in a Registry value together with its
// Manifest (name, version, required permissions, config schema, which fields
// hot-reload). There is no process-global registry: cmd/nexus builds one and
// passes it down, so a custom nexus binary is a main package that registers
// one more kind (see examples/custom-module).
//
// The runtime drives a module through Init, Load, Start, Stop and Unload, and
// Reconfigure when the module implements Reconfigurer. Each call gets a
// context.Context that bounds it; the module's environment (resolved config,
// logger, metrics, tracked goroutines, saved blob) comes through the *Context
// handed to Init.
package modules
