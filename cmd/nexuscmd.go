// Package nexuscmd is the entry point of a nexus binary, public so that a
// custom build can add its own module kinds the way Caddy plugins are
// compiled in:
//
//	func main() {
//		reg := nexuscmd.Builtins()
//		reg.MustRegister(mykind.Manifest(), mykind.New)
//		os.Exit(nexuscmd.Main(reg, os.Args[1:]))
//	}
//
// cmd/nexus is exactly that, without the extra kind.
package nexuscmd

import (
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/cli"
	"github.com/nexus-run/nexus/modules"
)

// Builtins returns a new registry holding nexus's built-in kinds: exec,
// heartbeat, probe, schedule and target.
func Builtins() *modules.Registry { return builtin.Registry() }

// Main runs the nexus command line with the kinds of reg and returns the
// process exit code: 0 success, 1 error, 2 changes present (plan
// --detailed-exitcode).
func Main(reg *modules.Registry, args []string) int { return cli.Main(reg, args) }
