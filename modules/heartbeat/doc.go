// Package heartbeat is the `heartbeat` kind, the original daemon's reference
// module: every `interval` it POSTs a JSON beat
//
//	{"module": "vitals/heartbeat", "node": "host-1", "seq": 42,
//	 "ts": "2025-01-02T15:04:05.123456789Z", "uptime_seconds": 420.5}
//
// to `target`, with "Authorization: Bearer <api_key>" when api_key is set.
// The first beat goes out as the module starts. A beat answered with anything
// but a 2xx (redirects are not followed) is a failure; after `degraded_after`
// consecutive failures the module is degraded, and the next success makes it
// healthy again. Each beat is tracked (requests_total, errors_total, the
// operation histogram) and also counted in nexus_heartbeat_beats_total and
// timed in nexus_heartbeat_beat_duration_seconds.
//
// Every config field changes in place: a Reconfigure takes effect at the next
// beat (an interval change reschedules it at once) and keeps the sequence.
// The sequence number is saved in the module's blob on stop and resumed on
// load, so a receiver sees it grow across restarts of the daemon.
//
// All heartbeat modules of a process share one HTTP transport, so a thousand
// modules beating one collector share a few keep-alive connections instead
// of holding a thousand.
package heartbeat
