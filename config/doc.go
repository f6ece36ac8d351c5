// Package config loads a nexus topology: every *.nexus.hcl and *.nexus.json
// file of one directory, with their variables, locals, functions and module
// blocks, into a Config of expanded module instances (one modules.Spec each).
//
// Everything wrong with a topology is an hcl.Diagnostic with the tightest
// source range, and one load reports every error it can find, returning a
// partial Config beside the diagnostics. Secrets are references: secret()
// returns a placeholder string (modules.SecretRef.Placeholder), never a value.
package config
