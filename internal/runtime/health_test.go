package runtime

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestHealthTracker_observe(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	afterGrace := t0.Add(time.Hour)
	up := observation{own: modules.Healthy("")}
	down := observation{own: modules.Healthy(""), probeErr: errors.New("503")}
	notLive := observation{own: modules.Health{Status: modules.StatusUnhealthy}}
	degradedOwn := observation{own: modules.Health{Status: modules.StatusDegraded, Ready: true, Live: true}}
	panicked := observation{ownErr: modules.ErrPanic}
	block := &modules.HealthCheck{HTTP: "http://127.0.0.1:1/", FailureThreshold: 2}

	type step struct {
		at         time.Time
		o          observation
		wantStatus modules.HealthStatus
		wantReady  bool
		wantDead   bool
	}
	tests := map[string]struct {
		check *modules.HealthCheck
		steps []step
	}{
		"passes, fails below the threshold, dies at it": {block, []step{
			{t0, up, modules.StatusHealthy, true, false},
			{t0, down, modules.StatusDegraded, true, false},
			{t0, down, modules.StatusUnhealthy, false, true},
		}},
		"a pass resets the count": {block, []step{
			{t0, up, modules.StatusHealthy, true, false},
			{t0, down, modules.StatusDegraded, true, false},
			{t0, up, modules.StatusHealthy, true, false},
			{t0, down, modules.StatusDegraded, true, false},
		}},
		"failures before the first pass count only after the start timeout": {block, []step{
			{t0, down, modules.StatusUnhealthy, false, false},
			{t0, down, modules.StatusUnhealthy, false, false},
			{t0, down, modules.StatusUnhealthy, false, false},
			{afterGrace, down, modules.StatusUnhealthy, false, false},
			{afterGrace, down, modules.StatusUnhealthy, false, true},
		}},
		"with a block, readiness is the block's": {block, []step{
			{t0, observation{own: modules.Health{Status: modules.StatusHealthy, Live: true}}, modules.StatusHealthy, true, false},
		}},
		"without a block, readiness is the module's": {nil, []step{
			{t0, observation{own: modules.Health{Status: modules.StatusHealthy, Live: true}}, modules.StatusHealthy, false, false},
			{t0, up, modules.StatusHealthy, true, false},
		}},
		"the module's own status is merged": {block, []step{
			{t0, degradedOwn, modules.StatusDegraded, true, false},
		}},
		"a module not live counts as a failure": {nil, []step{
			{t0, up, modules.StatusHealthy, true, false},
			{t0, notLive, modules.StatusUnhealthy, false, false},
			{t0, notLive, modules.StatusUnhealthy, false, false},
			{t0, notLive, modules.StatusUnhealthy, false, true},
		}},
		"a panic in Health is fatal at once": {block, []step{
			{t0, panicked, modules.StatusUnhealthy, false, true},
		}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := &modules.Spec{Health: tt.check, Timeouts: modules.Timeouts{Start: modules.Duration(time.Minute)}}
			tr := newHealthTracker(s, t0)
			for i, st := range tt.steps {
				h, dead := tr.observe(st.at, st.o)
				if h.Status != st.wantStatus || h.Ready != st.wantReady || (dead != nil) != st.wantDead {
					t.Errorf("step %d got: %s ready=%v dead=%v, want: %s ready=%v dead=%v",
						i, h.Status, h.Ready, dead, st.wantStatus, st.wantReady, st.wantDead)
				}
			}
		})
	}
}

func TestHealthTracker_nextDelay(t *testing.T) {
	s := &modules.Spec{Health: &modules.HealthCheck{TCP: "x:1", Interval: modules.Duration(100 * time.Millisecond)}}
	tr := newHealthTracker(s, time.Now())
	var got []time.Duration
	d := time.Duration(0)
	for range 6 {
		d = tr.nextDelay(d)
		got = append(got, d)
	}
	ms := time.Millisecond
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 100 * ms, 100 * ms}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got: %v, want: %v", got, want)
		}
	}
	tr.observe(time.Now(), observation{own: modules.Healthy("")})
	if d := tr.nextDelay(10 * ms); d != 100*ms {
		t.Errorf("once ready got: %s, want: the interval", d)
	}
}

func TestWorse(t *testing.T) {
	for _, tt := range []struct{ a, b, want modules.HealthStatus }{
		{"", modules.StatusHealthy, modules.StatusHealthy},
		{modules.StatusHealthy, modules.StatusDegraded, modules.StatusDegraded},
		{modules.StatusUnhealthy, modules.StatusDegraded, modules.StatusUnhealthy},
		{modules.StatusDegraded, "", modules.StatusDegraded},
	} {
		if got := worse(tt.a, tt.b); got != tt.want {
			t.Errorf("worse(%q, %q) got: %q, want: %q", tt.a, tt.b, got, tt.want)
		}
	}
}
