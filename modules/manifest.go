package modules

import (
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// Manifest describes a kind: its name and version, the permissions a
// principal needs to apply a module of this kind (on top of the module
// block's own `permissions`), and the schema of its `config` block.
type Manifest struct {
	// Kind is the name used in `kind = "..."`; lower case, no spaces.
	Kind string
	// Version is the kind's implementation version (semver).
	Version string
	// Description is one sentence for docs and `nexus validate`.
	Description string
	// Permissions are required of whoever applies a module of this kind.
	Permissions []string
	// Config is the schema of the module block's `config` block.
	Config Schema
	// Validate, when set, checks a decoded config beyond what the schema
	// says (such as "exactly one of http and tcp"). Its error becomes a
	// diagnostic on the module's config block.
	Validate func(Config) error
}

// Schema is the set of attributes a kind accepts in its `config` block.
type Schema struct {
	Attributes map[string]*Attribute
}

// Attribute describes one attribute of a kind's config.
type Attribute struct {
	// Type is the attribute's cty type; values are converted to it.
	Type cty.Type
	// Required attributes must be set in the config block.
	Required bool
	// Default is used when the attribute is not set; cty.NilVal means null.
	Default cty.Value
	// Description is one sentence for the docs.
	Description string
	// HotReload means a change of this attribute is applied in place by
	// Reconfigure (an update, `~`) instead of a replace (`-/+`).
	HotReload bool
}

// ImpliedType is the cty object type a decoded config of this schema has.
func (s Schema) ImpliedType() cty.Type {
	attrs := make(map[string]cty.Type, len(s.Attributes))
	for name, a := range s.Attributes {
		attrs[name] = a.Type
	}
	return cty.Object(attrs)
}

// Names returns the attribute names, sorted.
func (s Schema) Names() []string {
	names := make([]string, 0, len(s.Attributes))
	for name := range s.Attributes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// HotReloadable reports whether every named attribute can change in place.
// An attribute the schema does not know is not hot-reloadable.
func (s Schema) HotReloadable(names []string) bool {
	for _, n := range names {
		a, ok := s.Attributes[n]
		if !ok || !a.HotReload {
			return false
		}
	}
	return true
}
