// Package daemon is nexus's long-running process: it loads the daemon
// config, opens the state store, secret providers, audit log and policy,
// brings the modules its projects' state says are running back up, serves
// the API on its listeners, applies plans with the executor, persists every
// transition, and stops everything cleanly on SIGTERM.
//
// Each project (a state namespace) has its own runtime and recorder; one
// apply at a time runs per project, under the state store's lock.
package daemon
