// Package bench holds nexus's end-to-end speed benchmarks (the targets the
// issues set: applying 10,000 `target` modules, `nexus apply` of 1,000
// modules through the daemon, a daemon ready soon after exec) and the
// measuring helpers every package's benchmarks share.
//
// The machine nexus is benchmarked on is shared with other test runs, so
// wall time (ns/op) is noisy. Benchmarks therefore also report cpu-ms/op,
// the process's CPU time (user + system, every thread, GC included) per
// iteration: the work done, which a busy machine does not inflate. `make
// bench` runs every benchmark once (-benchtime 1x), so each iteration does
// the whole measured thing on its own. docs/PERFORMANCE.md lists the
// targets, the numbers and the commands.
package bench
