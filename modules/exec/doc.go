// Package exec is the `exec` kind: a supervised process.
//
// Start runs `command` as the leader of its own process group, in `dir`,
// with a clean environment (PATH, HOME, USER, LANG, TZ and TMPDIR from the
// daemon, NEXUS_MODULE_ID, NEXUS_SECRETS_DIR when there are secret files,
// then the config's `env`). `secret_files` are written 0600 into
// <data dir>/secrets (0700) before the start and removed on stop and unload.
// A reconfigure (a secret rotated with on_secret_change = "reload")
// rewrites them in place and, when they changed, sends the leader
// `reload_signal`, if the config names one. stdout and stderr go to
// <data dir>/logs/stdout.log and stderr.log, rotated by size. The goroutine
// that waits for the process returns its exit error, which is how the
// runtime learns the process exited and applies the restart policy. When the
// leader exits, whatever it left in its process group is killed.
//
// Stop sends `stop_signal` to the whole group, waits up to timeouts.stop,
// then sends SIGKILL and waits for the leader.
//
// # No child left behind
//
// Three mechanisms together make sure no process of a module outlives the
// daemon, even one killed with SIGKILL:
//
//   - The leader is started with Pdeathsig SIGKILL, so the kernel kills it
//     when the daemon dies (see internal/procgroup for the thread caveat).
//   - Its process group id and start time (from /proc/<pid>/stat), with the
//     kernel's boot id, are recorded in <data dir>/exec.pid while it runs.
//   - Init reads that file before anything else. When it names a process
//     group of this boot whose leader is alive with the recorded start time,
//     or whose leader is gone but whose members started after it (the
//     leader's children, orphaned when Pdeathsig killed it), the whole group
//     is killed with SIGKILL. A pid reused by an unrelated process has
//     another start time and is left alone; a process group id cannot be
//     reused while any member of the group lives.
//
// A process that leaves the group (setsid, setpgid) escapes all three,
// unless a cgroup applies (see below), which the kill on stop empties.
//
// # Limits
//
// `limits { memory_mb, cpu_percent }` are enforced with a cgroup v2 child
// group when the daemon's cgroup (or, in the systemd DelegateSubgroup=
// layout, its parent) can enable the memory and cpu controllers: memory.max
// (with memory.swap.max 0) and cpu.max, and the process is born in the group
// (CLONE_INTO_CGROUP), so not even its first fork escapes. Otherwise
// memory_mb becomes RLIMIT_AS (address space, not resident memory) set with
// prlimit right after the start, and cpu_percent, which no rlimit can
// express, is not enforced. Health details say which applied ("limits":
// "cgroup", "rlimit" or "none", and "limits_note").
//
// # Usage
//
// Usage reports cpu seconds and resident memory: from the cgroup's cpu.stat
// and memory.current when one applies, else summed over the group's
// processes from /proc. The cpu total keeps what processes that exited had
// used, so it never goes down over the module's life.
package exec
