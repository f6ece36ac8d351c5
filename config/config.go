package config

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// DefaultProject is the state namespace of a topology without nexus.project.
const DefaultProject = "default"

// Config is a loaded topology.
type Config struct {
	// Dir is the directory the files came from ("" for an in-memory set).
	Dir string
	// Project is nexus.project, or DefaultProject.
	Project string
	// RequiredVersion is nexus.required_version, a version constraint.
	RequiredVersion string
	// Files are the parsed files by name, for diagnostic snippets.
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
	Spec     modules.Spec
	Manifest modules.Manifest
	// SensitivePaths are the paths within Spec.Config whose values came from
	// sensitive variables; views show them as "(sensitive value)".
	SensitivePaths []cty.Path
	// DeclRange is the module block's header, for diagnostics.
	DeclRange hcl.Range
}

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Type        cty.Type
	Description string
	Sensitive   bool
	// Value is the final value: -var over -var-file over *.auto.nexusvars.hcl
	// over NEXUS_VAR_<name> over the default.
	Value     cty.Value
	DeclRange hcl.Range
}

// Inputs are the outside values a load depended on.
type Inputs struct {
	Env   map[string]string `json:"env,omitempty"`
	Files map[string][]byte `json:"files,omitempty"`
}

// Module returns the instance at addr, or nil.
func (c *Config) Module(addr string) *Module {
	i := sort.Search(len(c.Modules), func(i int) bool { return c.Modules[i].Spec.Address >= addr })
	if i < len(c.Modules) && c.Modules[i].Spec.Address == addr {
		return c.Modules[i]
	}
	return nil
}
