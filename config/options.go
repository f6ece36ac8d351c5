package config

import (
	"github.com/nexus-run/nexus/modules"
)

// Options configure a load.
type Options struct {
	// Registry supplies each kind's manifest and config schema. Required.
	Registry *modules.Registry
	// AllowUnknownKinds accepts a kind the registry lacks, evaluating its
	// config without a schema. A stock client uses it to gather Inputs for a
	// daemon whose build has more kinds; the daemon itself never sets it.
	AllowUnknownKinds bool
	// Vars are -var name=value assignments, the later winning. A value is
	// parsed as an HCL expression when the variable's type is not string.
	Vars []VarAssignment
	// VarFiles are -var-file paths, read in order, the later winning.
	VarFiles []string
	// Env is the environment for NEXUS_VAR_<name> and env(); nil means the
	// process environment.
	Env map[string]string
	// ReadFile reads a file for file() and var files, the path as written,
	// relative to the config directory; nil reads from disk.
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
