// Package telemetry is how the daemon reports on itself: its Prometheus
// metrics, the /metrics handler, and its loggers.
//
// Metrics live in a registry passed in, never the global one: the daemon's
// counters and histograms (transitions, applies, authorization decisions,
// API requests, state-store latency), the Go and process collectors, and
// the modules' own SDK metrics. The per-module series (nexus_module_state,
// _up, _ready, _cpu_seconds_total, _memory_bytes, _requests_total,
// _errors_total, _restarts_total, _transitions_total) are read from the
// runtime at scrape time, so a module's numbers are kept once and vanish
// with it; they are most of a large daemon's /metrics, so the handler
// writes them straight to the text format (16,000 series of 1,000 modules
// in a few milliseconds) and leaves everything else, and every other
// format, to client_golang. Metrics.Gatherer gathers the lot the generic
// way, for tests and linting.
//
// Logs are log/slog records, JSON by default; a record logged with a
// context carries the attributes WithLogAttrs put in it, which is how every
// transition of an apply names the principal and request id that asked.
package telemetry
