// Package schedule is the `schedule` kind: it runs `command` every `every`
// (fixed rate, the first run one interval after the start) or on `cron` (a
// standard five-field expression, with an optional CRON_TZ= prefix), like a
// systemd timer. Runs missed while the module was stopped or busy are not
// caught up: the schedule moves on to its next time after now.
//
// Each run is its own process group, with a clean environment (PATH, HOME,
// USER, LANG, TZ and TMPDIR from the daemon, NEXUS_MODULE_ID, then `env`),
// in `dir`. Its output is appended to <data dir>/logs/stdout.log and
// stderr.log, rotated by size as exec does. A run still going after
// `timeout` gets SIGTERM and, after timeouts.stop, SIGKILL (its whole
// group); so does a run in progress when the module stops, Stop waiting for
// it. `overlap` says what a tick does while a run goes on: skip it, allow a
// second run, or queue one (at most one pending run; further ticks are
// skipped until it starts).
//
// Health is degraded while the last run failed and names the last run's
// start, duration and exit code, and the next run's time. Every field
// changes in place; a new schedule counts from the moment it was applied,
// and runs in progress finish with the config they started with. The last
// run's record is saved in the module's blob, so it survives a restart of
// the daemon.
package schedule
