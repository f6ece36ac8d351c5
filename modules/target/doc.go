// Package target is the `target` kind: a module that does nothing, a named
// point in the graph to group dependencies, like a systemd target. A module
// that depends on a target starts after everything the target depends on.
package target
