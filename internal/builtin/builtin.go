// Package builtin assembles the registry of nexus's built-in kinds, so that
// cmd/nexus and the tests share one list.
package builtin

import (
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/modules/exec"
	"github.com/nexus-run/nexus/modules/heartbeat"
	"github.com/nexus-run/nexus/modules/probe"
	"github.com/nexus-run/nexus/modules/schedule"
	"github.com/nexus-run/nexus/modules/target"
)

// Registry returns a new registry holding the five built-in kinds. A custom
// build adds its own kinds to it.
func Registry() *modules.Registry {
	r := modules.NewRegistry()
	r.MustRegister(exec.Manifest(), exec.New)
	r.MustRegister(heartbeat.Manifest(), heartbeat.New)
	r.MustRegister(probe.Manifest(), probe.New)
	r.MustRegister(schedule.Manifest(), schedule.New)
	r.MustRegister(target.Manifest(), target.New)
	return r
}
