package target

import "github.com/nexus-run/nexus/modules"

// Manifest returns the target kind's manifest.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "target",
		Version:     "1.0.0",
		Description: "Does nothing: a named point in the graph that groups dependencies.",
		Config:      modules.Schema{Attributes: map[string]*modules.Attribute{}},
	}
}

// New returns a target module.
func New() modules.Module { return &Target{} }

// Target is always healthy and ready once started.
type Target struct{ modules.Base }

var _ modules.Module = (*Target)(nil)
