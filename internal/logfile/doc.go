// Package logfile is the size-rotated log file that the process-running
// kinds (exec, schedule) write their children's stdout and stderr to.
//
// Lumberjack-style libraries rotate by size too, but they pull in time-based
// rotation, compression and a background goroutine per file; a supervised
// process needs only "keep stdout.log under N bytes and the last K rotated
// files", with a hard bound a platform team can size a disk for. A Writer
// never lets a file grow past its maximum size: a write that does not fit is
// split, at the last newline that fits when there is one, and the rest goes
// into a fresh file after rotation.
package logfile
