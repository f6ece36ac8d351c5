package config

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// DefaultProject is the state namespace of a topology without nexus.project.
const DefaultProject = "default"

// Config is a loaded topology. It is not modified after Load returns and
// may be read concurrently.
type Config struct {
	// Dir is the directory the files came from ("" for an in-memory set).
	Dir string
	// Project is nexus.project, or DefaultProject.
	Project string
	// RequiredVersion is nexus.required_version, a version constraint.
	RequiredVersion string
	// Files are the parsed files, for diagnostic snippets, by the name
	// diagnostic ranges use: the directory joined with the base name (the
	// base name alone when Dir is ""), and -var-file names as given.
	Files map[string]*hcl.File
	// Variables are the declared variables with their final values, sorted by name.
	Variables []*Variable
	// Modules are the expanded module instances, sorted by address.
	Modules []*Module
	// Inputs records what the load read from outside the files: the
	// environment variables env() looked up and the files file() read. A
	// client sends them with the files so the daemon plans the same topology.
	Inputs Inputs
}

// Module is one expanded module instance.
type Module struct {
	// Spec is the instance's desired description: what plans and the state
	// carry. DependsOn holds every hard dependency (references and
	// depends_on), After the soft ones, both as instance addresses.
	Spec modules.Spec
	// Manifest is the kind's manifest; zero for a kind the registry lacks
	// (Options.AllowUnknownKinds).
	Manifest modules.Manifest
	// SensitivePaths are the paths within Spec.Config whose values came from
	// sensitive variables; views show them as "(sensitive value)".
	SensitivePaths []cty.Path
	// DeclRange is the module block's header, for diagnostics.
	DeclRange hcl.Range
}

// Variable is a declared input variable.
type Variable struct {
	// Name is the variable block's label.
	Name string
	// Type is the type constraint; cty.DynamicPseudoType for `any`.
	Type cty.Type
	// Description is the block's description.
	Description string
	// Sensitive variables' values are redacted in views.
	Sensitive bool
	// Value is the final value: -var over -var-file over *.auto.nexusvars.hcl
	// over NEXUS_VAR_<name> over the default. It carries no marks, and is
	// null when the variable has no valid value (a diagnostic says why).
	Value cty.Value
	// DeclRange is the variable block's header.
	DeclRange hcl.Range
}

// Inputs are the outside values a load depended on.
type Inputs struct {
	// Env holds the NEXUS_VAR_* variables read and every variable env()
	// found; a lookup that failed is not recorded.
	Env map[string]string `json:"env,omitempty"`
	// Files holds what file() read, by the path as written in the call.
	Files map[string][]byte `json:"files,omitempty"`
}

// Module returns the instance at addr (like module.tasks.report["daily"]),
// or nil.
func (c *Config) Module(addr string) *Module {
	i := sort.Search(len(c.Modules), func(i int) bool { return c.Modules[i].Spec.Address >= addr })
	if i < len(c.Modules) && c.Modules[i].Spec.Address == addr {
		return c.Modules[i]
	}
	return nil
}
