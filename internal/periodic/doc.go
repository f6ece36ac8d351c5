// Package periodic is the loop shared by the kinds that act on a schedule
// (heartbeat, probe, schedule): call a function at the time the kind
// computes, recompute that time when the kind's config changes in place, and
// stop promptly and awaited when the module stops.
//
// Each kind keeps its own idea of when to act next (a fixed interval since
// the last beat, a cron expression); the loop only sleeps until then, so a
// reconfigured interval takes effect at once without restarting the loop or
// losing the kind's counters.
package periodic
