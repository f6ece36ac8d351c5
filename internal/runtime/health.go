package runtime

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// firstCheckDelay is the delay after the first check of a started period
// while the module is not ready yet; it doubles per check up to the
// interval, so readiness is noticed within tens of milliseconds without
// polling a slow starter hard.
const firstCheckDelay = 10 * time.Millisecond

// healthCheck returns the module's `health` block with defaults filled in,
// or nil when it has none.
func healthCheck(spec *modules.Spec) *modules.HealthCheck {
	if spec.Health == nil {
		return nil
	}
	hc := *spec.Health
	if hc.Interval <= 0 {
		hc.Interval = modules.Duration(modules.DefaultHealthInterval)
	}
	if hc.Timeout <= 0 {
		hc.Timeout = modules.Duration(modules.DefaultHealthTimeout)
	}
	if hc.FailureThreshold <= 0 {
		hc.FailureThreshold = modules.DefaultHealthFailureThreshold
	}
	return &hc
}

// checkName describes a health block for status details: "http http://…".
func checkName(hc *modules.HealthCheck) string {
	switch {
	case hc.HTTP != "":
		return "http " + hc.HTTP
	case hc.TCP != "":
		return "tcp " + hc.TCP
	case len(hc.Exec) > 0:
		return "exec " + strconv.Quote(hc.Exec[0])
	}
	return "none"
}

// observation is the outcome of one check: the health block's probe (nil
// error: passed; ignored without a block) and the module's own Health.
type observation struct {
	probeErr error
	own      modules.Health
	ownErr   error // a panic in the module's Health
}

// healthTracker turns a started period's observations into the merged
// health and the liveness verdict. It is owned by one supervision goroutine.
//
// Failures count towards the threshold once the module has passed a check
// in this started period, or once its start timeout has elapsed since it
// started: a module that is still coming up is not restarted for being
// slow, but one that never comes up is.
type healthTracker struct {
	check     *modules.HealthCheck // nil: the module's own Health only
	threshold int
	countFrom time.Time // failures before passing count from then on
	passed    bool      // a check passed in this started period
	wasReady  bool      // the module was ready in this started period
	failures  int
}

func newHealthTracker(spec *modules.Spec, started time.Time) *healthTracker {
	t := &healthTracker{check: healthCheck(spec), threshold: modules.DefaultHealthFailureThreshold}
	if t.check != nil {
		t.threshold = t.check.FailureThreshold
	}
	t.countFrom = started.Add(startTimeout(spec))
	return t
}

// interval is the time between checks once the module has passed one.
func (t *healthTracker) interval() time.Duration {
	if t.check != nil {
		return t.check.Interval.D()
	}
	return modules.DefaultHealthInterval
}

// timeout bounds one check.
func (t *healthTracker) timeout() time.Duration {
	if t.check != nil {
		return t.check.Timeout.D()
	}
	return modules.DefaultHealthTimeout
}

// nextDelay returns the delay before the check after one that waited prev:
// growing from firstCheckDelay to the interval until the module is first
// ready, the interval from then on.
func (t *healthTracker) nextDelay(prev time.Duration) time.Duration {
	if t.wasReady {
		return t.interval()
	}
	return min(max(2*prev, firstCheckDelay), t.interval())
}

// pending is the health of a started module before its first check.
func (t *healthTracker) pending() modules.Health {
	d := map[string]string{"check": "pending"}
	if t.check != nil {
		d["check"] = checkName(t.check) + " (pending)"
	}
	return modules.Health{Status: modules.StatusUnhealthy, Live: true, Details: d}
}

// observe records one check and returns the merged health and, when the
// module is no longer live, the error that says why.
func (t *healthTracker) observe(now time.Time, o observation) (modules.Health, error) {
	ok := o.ownErr == nil && o.own.Live && (t.check == nil || o.probeErr == nil)
	switch {
	case ok:
		t.passed, t.failures = true, 0
	case t.passed || !now.Before(t.countFrom):
		t.failures++
	}
	h := modules.Health{
		Live:    t.failures < t.threshold && o.ownErr == nil,
		Details: maps.Clone(o.own.Details),
	}
	if h.Details == nil {
		h.Details = map[string]string{}
	}
	if t.check != nil {
		h.Ready = t.passed && h.Live
		h.Details["check"] = checkName(t.check)
		if o.probeErr != nil {
			h.Details["check_error"] = o.probeErr.Error()
		}
	} else {
		h.Ready = o.own.Ready && h.Live
	}
	if t.failures > 0 {
		h.Details["consecutive_failures"] = strconv.Itoa(t.failures)
	}
	t.wasReady = t.wasReady || h.Ready
	h.Status = worse(o.own.Status, t.status(ok))
	if !h.Live {
		return h, t.deadErr(o)
	}
	return h, nil
}

// status is the checks' own verdict: healthy when the last check passed,
// degraded while failures stay below the threshold after a pass,
// unhealthy otherwise.
func (t *healthTracker) status(ok bool) modules.HealthStatus {
	switch {
	case ok:
		return modules.StatusHealthy
	case t.passed && t.failures < t.threshold:
		return modules.StatusDegraded
	}
	return modules.StatusUnhealthy
}

func (t *healthTracker) deadErr(o observation) error {
	if o.ownErr != nil {
		return fmt.Errorf("liveness: %w", o.ownErr)
	}
	last := "the module reports itself not live"
	if o.probeErr != nil {
		last = o.probeErr.Error()
	} else if e := o.own.Details["error"]; e != "" {
		last = e
	}
	return fmt.Errorf("liveness check failed %d times in a row: %s", t.failures, last)
}

// worse returns the worse of two statuses; an empty status counts as healthy.
func worse(a, b modules.HealthStatus) modules.HealthStatus {
	rank := func(s modules.HealthStatus) int {
		switch s {
		case modules.StatusDegraded:
			return 1
		case modules.StatusUnhealthy:
			return 2
		}
		return 0
	}
	if rank(a) >= rank(b) && a != "" {
		return a
	}
	return b
}

// stoppedHealth is the health of a module that is not started.
func stoppedHealth(state modules.State, lastErr string) modules.Health {
	d := map[string]string{"state": string(state)}
	if lastErr != "" {
		d["error"] = lastErr
	}
	return modules.Health{Status: modules.StatusUnhealthy, Details: d}
}

// sameHealth reports whether two healths agree on what events report.
func sameHealth(a, b modules.Health) bool {
	return a.Status == b.Status && a.Ready == b.Ready && a.Live == b.Live
}
