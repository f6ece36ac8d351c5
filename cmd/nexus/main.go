// Command nexus is the nexus CLI and daemon. It builds the registry of module
// kinds and runs the command line; a custom build does the same with more
// kinds (see examples/custom-module).
package main

import (
	"fmt"

	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/version"
)

func main() {
	reg := builtin.Registry()
	fmt.Println("nexus", version.Version, reg.Kinds())
}
