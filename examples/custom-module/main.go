// Command nexus-hello is a nexus binary with one kind more than the stock
// build: "hello", from the package next to this file. Building a custom nexus
// is this whole file: start from the built-in kinds, register your own, run
// nexus's command line. The result is a complete nexus (CLI and daemon);
// a daemon built from it runs "hello" modules, and a stock nexus client can
// plan and apply against that daemon, since planning happens in the daemon.
//
//	go build -o bin/nexus-hello ./examples/custom-module
//	bin/nexus-hello validate examples/custom-module
package main

import (
	"os"

	nexuscmd "github.com/nexus-run/nexus/cmd"
	"github.com/nexus-run/nexus/examples/custom-module/hello"
)

func main() {
	reg := nexuscmd.Builtins()
	reg.MustRegister(hello.Manifest(), hello.New)
	os.Exit(nexuscmd.Main(reg, os.Args[1:]))
}
