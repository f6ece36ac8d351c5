// Package version holds the build's version, set by the linker.
package version

// Version is the nexus version, set with -ldflags "-X …/internal/version.Version=v0.1.0".
var Version = "0.1.0-dev"
