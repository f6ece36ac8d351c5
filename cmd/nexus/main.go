// Command nexus is the nexus CLI and daemon. It builds the registry of module
// kinds and runs the command line; a custom build does the same with more
// kinds (see examples/custom-module and package nexuscmd).
package main

import (
	"os"

	nexuscmd "github.com/nexus-run/nexus/cmd"
)

func main() {
	os.Exit(nexuscmd.Main(nexuscmd.Builtins(), os.Args[1:]))
}
