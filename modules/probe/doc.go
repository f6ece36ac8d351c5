// Package probe is the `probe` kind: it checks an outside endpoint every
// `interval` and is ready while the last check succeeded, so that modules
// depending on it start only once the endpoint answers. It runs nothing: a
// probe whose endpoint is down is alive (never restarted) but unhealthy and
// not ready.
//
// An `http` check is a GET, up on a 2xx answer, or on exactly `expect_status`
// when set; redirects are not followed, so a 3xx is down unless expected. It
// opens a new connection every time, to check what a new client would meet.
// A `tcp` check is up when a connection to host:port opens. Each check is
// bounded by `timeout`.
//
// Start checks once before returning, so a dependent can gate on the probe at
// once, but does not fail when the endpoint is down: a probe is a gate, not a
// process. Every field changes in place, and a change checks again at once.
package probe
