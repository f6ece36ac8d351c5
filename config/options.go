package config

import (
	"github.com/nexus-run/nexus/modules"
)

// Options configure a load.
type Options struct {
	// Registry supplies each kind's manifest and config schema. A nil
	// Registry knows no kinds.
	Registry *modules.Registry
	// AllowUnknownKinds accepts a kind the registry lacks, evaluating its
	// config without a schema. A stock client uses it to gather Inputs for a
	// daemon whose build has more kinds; the daemon itself never sets it.
	AllowUnknownKinds bool
	// Vars are -var name=value assignments, the later winning. A value is
	// parsed as an HCL expression unless the variable's type is string or
	// any, in which case it is taken literally.
	Vars []VarAssignment
	// VarFiles are -var-file files, already read by the caller (the CLI
	// reads the paths relative to its working directory), applied in order,
	// the later winning. A name ending in ".json" is read as HCL's JSON
	// syntax, anything else as native HCL.
	VarFiles []File
	// Env is the environment for NEXUS_VAR_<name> and env(); nil means the
	// process environment.
	Env map[string]string
	// ReadFile reads a file for file(), the path as written in the call;
	// nil reads from disk, a relative path relative to the config directory.
	ReadFile func(path string) ([]byte, error)
	// SecretProviders are the provider names secret() may use; nil accepts
	// any well-formed name (offline planning, where the daemon's providers
	// are unknown).
	SecretProviders []string
}

// VarAssignment is one -var flag.
type VarAssignment struct {
	Name, Value string
}

// File is a named source: a -var-file as the caller read it.
type File struct {
	// Name is shown in diagnostics, such as the path given on the command line.
	Name string
	Src  []byte
}
