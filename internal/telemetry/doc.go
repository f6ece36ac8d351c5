// Package telemetry defines nexus's Prometheus metrics and its loggers.
//
// Metrics live in a registry passed in, never the global one. Per-module
// gauges (state, up, ready, cpu, memory, requests, errors, restarts) are
// read from the runtime at scrape time by a collector, so a module's numbers
// are never kept twice; counters and histograms of transitions, applies,
// authorization decisions and state-store calls are recorded as they happen.
package telemetry
