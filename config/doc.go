// Package config loads a nexus topology: every *.nexus.hcl and *.nexus.json
// file of one directory, with their variables, locals, functions and module
// blocks, into a Config of expanded module instances (one modules.Spec each)
// that the planner diffs against the state.
//
// It exists so that everything about the topology language lives in one
// place: the block schemas, the evaluation order (variables, then locals,
// then module blocks in dependency order, each with only the modules it
// refers to in scope), the functions, and the diagnostics. Everything wrong
// with a topology is an hcl.Diagnostic with the tightest source range, and
// one load reports every error it can find, returning a partial Config
// beside the diagnostics; what depends on a broken value is left out
// silently instead of repeating the error.
//
// A reference module.<group>.<name> evaluates to an object with the
// instance's config, id, address and kind (a tuple of them for count, an
// object of them by key for for_each), and makes the referring module depend
// on what it names.
//
// Secrets are references: secret() returns a placeholder string
// (modules.SecretRef.Placeholder), never a value. Values derived from
// sensitive variables carry a cty mark while the load evaluates; they end up
// unmarked in Spec.Config, their paths in Module.SensitivePaths. Diagnostics
// from HCL may carry an EvalContext whose values keep those marks, so a view
// that prints them must check for marks.
//
// The package is driven by three entry points: LoadDir and ReadDir for the
// CLI, and Load for the daemon, which receives the files a client read.
// configtest generates large topologies for benchmarks.
package config
