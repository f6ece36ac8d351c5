// Package version holds the build's version, set by the linker.
package version

// Version is the nexus release version (semver); required_version
// constraints in topologies are checked against it.
var Version = "0.1.0"

// Commit is the git commit the binary was built from, set with
// -ldflags "-X github.com/nexus-run/nexus/internal/version.Commit=…".
var Commit = "unknown"
