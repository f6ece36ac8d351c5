// Package procgroup runs a child process as the leader of its own process
// group and ends the whole group: what the exec and schedule kinds need so
// that a command's children never outlive it.
//
// Start puts the child in a new process group (Setpgid) and asks the kernel
// to SIGKILL it when the daemon dies (Pdeathsig). Pdeathsig is tied to the OS
// thread that forked, not to the process: Linux sends the signal when that
// thread exits. Start locks the calling goroutine to its thread around the
// fork, and the Go runtime only ever destroys a thread when a goroutine exits
// while locked to it; nexus never leaves a goroutine locked, so the forking
// thread lives as long as the daemon. Pdeathsig reaches only the direct child:
// its own children are ended by the group kill on stop, by the kill of the
// leftover group when the leader exits, and, across a daemon crash, by the
// exec kind's pid file (see package exec).
//
// Command resolves a command line as both kinds accept it (a bare name from
// the daemon's PATH, a relative path from the working dir) and Env builds the
// clean environment both give their children.
//
// The package also reads /proc: a process's stat line (state, process group,
// cpu ticks, start time, resident pages) and the members of a group, which is
// how the kinds measure usage and recognise their own processes.
package procgroup
