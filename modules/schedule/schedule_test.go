package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/robfig/cron/v3"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

func TestNextRun_fixedClock(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cronCfg := func(spec string) config {
		s, err := cron.ParseStandard(spec)
		if err != nil {
			t.Fatal(err)
		}
		return config{cron: s}
	}
	tests := map[string]struct {
		cfg       config
		prev, now string
		want      string
	}{
		"every: one interval after the start":           {config{every: time.Hour}, "2025-01-01T10:00:00Z", "2025-01-01T10:00:00Z", "2025-01-01T11:00:00Z"},
		"every: fixed rate after a run":                 {config{every: time.Hour}, "2025-01-01T11:00:00Z", "2025-01-01T11:00:03Z", "2025-01-01T12:00:00Z"},
		"every: missed ticks are skipped":               {config{every: time.Hour}, "2025-01-01T10:00:00Z", "2025-01-01T13:30:00Z", "2025-01-01T14:00:00Z"},
		"every: exactly on a tick":                      {config{every: time.Hour}, "2025-01-01T10:00:00Z", "2025-01-01T12:00:00Z", "2025-01-01T13:00:00Z"},
		"cron: next quarter hour":                       {cronCfg("*/15 * * * *"), "2025-01-01T10:07:00Z", "2025-01-01T10:07:00Z", "2025-01-01T10:15:00Z"},
		"cron: daily, just fired":                       {cronCfg("0 3 * * *"), "2025-01-01T03:00:00Z", "2025-01-01T03:00:00.5Z", "2025-01-02T03:00:00Z"},
		"cron: a timer firing early does not run twice": {cronCfg("0 3 * * *"), "2025-01-01T03:00:00Z", "2025-01-01T02:59:59Z", "2025-01-02T03:00:00Z"},
		"cron: weekdays skip the weekend":               {cronCfg("30 8 * * 1-5"), "2025-01-03T09:00:00Z", "2025-01-03T09:00:00Z", "2025-01-06T08:30:00Z"},
		"cron: in its own time zone":                    {cronCfg("CRON_TZ=America/New_York 0 9 * * *"), "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-01T14:00:00Z"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := nextRun(tt.cfg, at(tt.prev), at(tt.now)); !got.Equal(at(tt.want)) {
				t.Errorf("got: %s, want: %s", got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestGate_overlapPolicies(t *testing.T) {
	// Each step is "t" (a tick) or "d" (a run ends); the result is what
	// each step did: s(tart), q(ueued), -(skipped), or after "d", s when
	// the pending run starts and . when not.
	tests := map[string]struct {
		policy string
		steps  string
		want   string
	}{
		"skip":                  {overlapSkip, "tttdtd", "s--.s."},
		"allow":                 {overlapAllow, "tttddd", "sss..."},
		"queue keeps one":       {overlapQueue, "tttdd", "sq-s."},
		"queue then idle":       {overlapQueue, "tdtd", "s.s."},
		"queue after the queue": {overlapQueue, "ttdtdd", "sqsq" + "s."},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			g := gate{policy: tt.policy}
			var got strings.Builder
			for _, step := range tt.steps {
				if step == 't' {
					got.WriteByte("sq-"[g.tick()])
				} else if g.done(true) {
					got.WriteByte('s')
				} else {
					got.WriteByte('.')
				}
			}
			if got.String() != tt.want {
				t.Errorf("got: %s, want: %s", got.String(), tt.want)
			}
		})
	}
	g := gate{policy: overlapQueue}
	g.tick()
	g.tick()
	if g.done(false) || g.running != 0 || g.pending {
		t.Errorf("got: %+v after the last run ended while stopping, want: nothing running or pending", g)
	}
}

func sh(script string) cty.Value {
	return cty.ListVal([]cty.Value{cty.StringVal("/bin/sh"), cty.StringVal("-c"), cty.StringVal(script)})
}

func newSchedule(t *testing.T, attrs map[string]cty.Value, o modules.InstanceOptions) (*Schedule, *modules.Instance) {
	t.Helper()
	o.Spec.Kind = "schedule"
	o.Config = kindtest.Config(t, Manifest(), attrs)
	if o.Spec.Timeouts == (modules.Timeouts{}) {
		o.Spec.Timeouts = modules.Timeouts{Start: modules.Duration(time.Minute), Stop: modules.Duration(time.Second)}
	}
	s := New().(*Schedule)
	return s, kindtest.Instance(t, s, o)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		if strings.HasSuffix(l, "\n") {
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	return lines
}

func waitLines(t *testing.T, path string, n int, prefix string) []string {
	t.Helper()
	count := func(lines []string) int {
		c := 0
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				c++
			}
		}
		return c
	}
	kindtest.Eventually(t, func() bool { return count(readLines(t, path)) >= n }, "%s: want %d lines starting %q, got %q", path, n, prefix, readLines(t, path))
	return readLines(t, path)
}

func TestSchedule_runsHappen(t *testing.T) {
	dir := t.TempDir()
	_, inst := newSchedule(t, map[string]cty.Value{
		"command": sh(`echo "run $NEXUS_MODULE_ID $GREETING" >> out; echo to-stdout`),
		"every":   cty.StringVal("50ms"),
		"dir":     cty.StringVal(dir),
		"env":     cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("hi")}),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	lines := waitLines(t, filepath.Join(dir, "out"), 3, "run")
	if lines[0] != "run test/schedule hi" {
		t.Errorf("got: %q, want: the run's environment and dir", lines[0])
	}
	kindtest.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(inst.Context().DataDir(), "logs", "stdout.log"))
		return strings.Count(string(b), "to-stdout\n") >= 3
	}, "the runs' output is not in stdout.log")
	h := kindtest.Health(inst)
	if h.Status != modules.StatusHealthy || h.Details["last_exit_code"] != "0" || h.Details["last_run_start"] == "" ||
		h.Details["last_run_duration"] == "" || h.Details["next_run"] == "never" {
		t.Errorf("got: %+v, want: healthy with the last run and the next", h)
	}
	// A run is counted once it has been reaped, a moment after its output.
	kindtest.Eventually(t, func() bool { req, _ := inst.Context().Counts(); return req >= 3 }, "fewer than 3 runs tracked")
	if _, errs := inst.Context().Counts(); errs != 0 {
		t.Errorf("got: %d failed runs tracked, want: 0", errs)
	}
}

// alive reports whether the process group led by pid still has the leader.
func alive(pid int) bool {
	s, err := procgroup.ReadStat(pid)
	return err == nil && s.Alive() && s.PGRP == pid
}

func TestSchedule_timeoutKillsTheRun(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	_, inst := newSchedule(t, map[string]cty.Value{
		"command": sh(`echo $$ >> ` + pids + `; sleep 60`),
		"every":   cty.StringVal("50ms"),
		"timeout": cty.StringVal("100ms"),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	var h modules.Health
	kindtest.Eventually(t, func() bool {
		h = kindtest.Health(inst)
		return strings.Contains(h.Details["last_error"], "timed out after 100ms")
	}, "got: %v, want: a run that timed out", h.Details)
	if h.Status != modules.StatusDegraded || h.Details["last_exit_code"] != "-1" {
		t.Errorf("got: %+v, want: degraded, killed by a signal", h)
	}
	pid, err := strconv.Atoi(readLines(t, pids)[0])
	if err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("got: the timed out run (pid %d) still running, want: killed", pid)
	}
}

func TestSchedule_overlap(t *testing.T) {
	tests := map[string]struct {
		overlap string
		// concurrent: whether two runs must be seen at once (allow) or
		// never (skip, queue).
		concurrent bool
	}{
		"skip":  {overlapSkip, false},
		"queue": {overlapQueue, false},
		"allow": {overlapAllow, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "log")
			_, inst := newSchedule(t, map[string]cty.Value{
				"command": sh(`echo start >> ` + log + `; sleep 0.3; echo end >> ` + log),
				"every":   cty.StringVal("50ms"),
				"overlap": cty.StringVal(tt.overlap),
			}, modules.InstanceOptions{Metrics: modules.NewMetricsFactory(prometheus.NewRegistry())})
			kindtest.Up(t, inst)
			skipped := inst.Context().Metrics().Counter("runs_skipped_total", "")
			if tt.concurrent {
				kindtest.Eventually(t, func() bool { return strings.Contains(strings.Join(readLines(t, log), ","), "start,start") },
					"never two runs at once: %q", readLines(t, log))
				if n := testutil.ToFloat64(skipped); n != 0 {
					t.Errorf("got: %v runs skipped, want: 0", n)
				}
				return
			}
			kindtest.Eventually(t, func() bool { return testutil.ToFloat64(skipped) > 0 }, "no run skipped")
			lines := waitLines(t, log, 3, "end")
			kindtest.Do(t, inst, modules.TransitionStop)
			lines = readLines(t, log)
			for i, l := range lines {
				if want := []string{"start", "end"}[i%2]; l != want {
					t.Fatalf("got: %q, want: runs one after another", lines)
				}
			}
		})
	}
}

func TestSchedule_failedRunDegradesThenRecovers(t *testing.T) {
	ok := filepath.Join(t.TempDir(), "ok")
	_, inst := newSchedule(t, map[string]cty.Value{
		"command": sh(`test -e ` + ok),
		"every":   cty.StringVal("20ms"),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	kindtest.Eventually(t, func() bool { return kindtest.Health(inst).Status == modules.StatusDegraded }, "never degraded")
	if h := kindtest.Health(inst); h.Details["last_exit_code"] != "1" || !h.Ready {
		t.Errorf("got: %+v, want: still ready, exit code 1", h)
	}
	if err := os.WriteFile(ok, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	kindtest.Eventually(t, func() bool { return kindtest.Health(inst).Status == modules.StatusHealthy }, "never healthy again")
}

func TestSchedule_reconfigureReschedules(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cmd := sh(`echo run >> ` + out)
	_, inst := newSchedule(t, map[string]cty.Value{"command": cmd, "every": cty.StringVal("1h")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	before, _ := time.Parse(time.RFC3339Nano, kindtest.Health(inst).Details["next_run"])
	if time.Until(before) < 30*time.Minute {
		t.Fatalf("got: next run %s, want: about an hour away", before)
	}
	cfg := kindtest.Config(t, Manifest(), map[string]cty.Value{"command": cmd, "cron": cty.StringVal("* * * * *")})
	if err := inst.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if after, _ := time.Parse(time.RFC3339Nano, kindtest.Health(inst).Details["next_run"]); !after.Before(before) || after.Second() != 0 {
		t.Errorf("got: next run %s after switching to every minute, want: the next whole minute", after)
	}
	cfg = kindtest.Config(t, Manifest(), map[string]cty.Value{"command": cmd, "every": cty.StringVal("20ms")})
	if err := inst.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	waitLines(t, out, 2, "run")
}

func TestSchedule_stopEndsRunsAndKeepsTheLastRun(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	s, inst := newSchedule(t, map[string]cty.Value{
		"command": sh(`echo $$ >> ` + pids + `; trap "" TERM; sleep 60`),
		"every":   cty.StringVal("20ms"),
	}, modules.InstanceOptions{Spec: modules.Spec{Timeouts: modules.Timeouts{Start: modules.Duration(time.Minute), Stop: modules.Duration(200 * time.Millisecond)}}})
	kindtest.Up(t, inst)
	pid, _ := strconv.Atoi(waitLines(t, pids, 1, "")[0])
	kindtest.Do(t, inst, modules.TransitionStop)
	if alive(pid) {
		t.Errorf("got: run %d still running after Stop, want: killed", pid)
	}
	if h := s.Health(context.Background()); !strings.Contains(h.Details["last_error"], "stopped with the module") {
		t.Errorf("got: %v, want: the last run stopped with the module", h.Details)
	}

	again, inst2 := newSchedule(t, map[string]cty.Value{"command": sh("true"), "every": cty.StringVal("1h")},
		modules.InstanceOptions{Blob: inst.Context().Blob()})
	kindtest.Up(t, inst2)
	if h := again.Health(context.Background()); h.Status != modules.StatusDegraded || h.Details["last_exit_code"] != "-1" {
		t.Errorf("got: %+v after reload, want: the saved last run", h)
	}
}

func TestSchedule_commandNotFoundIsAFailedRun(t *testing.T) {
	_, inst := newSchedule(t, map[string]cty.Value{
		"command": cty.ListVal([]cty.Value{cty.StringVal("nexus-no-such-program")}),
		"every":   cty.StringVal("20ms"),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	kindtest.Eventually(t, func() bool {
		return strings.Contains(kindtest.Health(inst).Details["last_error"], `"nexus-no-such-program" not found`)
	}, "got: %v, want: the missing program named", kindtest.Health(inst).Details)
}

func TestDecode_rejectsBadConfig(t *testing.T) {
	cmd := sh("true")
	tests := map[string]struct {
		attrs map[string]cty.Value
		want  string
	}{
		"no schedule":  {map[string]cty.Value{"command": cmd}, "exactly one of every and cron"},
		"both":         {map[string]cty.Value{"command": cmd, "every": cty.StringVal("1h"), "cron": cty.StringVal("* * * * *")}, "exactly one"},
		"bad every":    {map[string]cty.Value{"command": cmd, "every": cty.StringVal("daily")}, `every "daily"`},
		"bad cron":     {map[string]cty.Value{"command": cmd, "cron": cty.StringVal("* * *")}, `cron "* * *"`},
		"bad timeout":  {map[string]cty.Value{"command": cmd, "every": cty.StringVal("1h"), "timeout": cty.StringVal("0s")}, "timeout"},
		"bad overlap":  {map[string]cty.Value{"command": cmd, "every": cty.StringVal("1h"), "overlap": cty.StringVal("wait")}, "skip, allow or queue"},
		"no command":   {map[string]cty.Value{"command": cty.ListValEmpty(cty.String), "every": cty.StringVal("1h")}, "command"},
		"log size < 0": {map[string]cty.Value{"command": cmd, "every": cty.StringVal("1h"), "log_max_size_mb": cty.NumberIntVal(-1)}, "log_max_size_mb"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := validate(kindtest.Config(t, Manifest(), tt.attrs))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v, want: an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSchedule_startAgainAfterAFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, inst := newSchedule(t, map[string]cty.Value{
		"command": sh(`echo run >> ` + out + `; sleep 60`),
		"every":   cty.StringVal("20ms"),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	waitLines(t, out, 1, "run")
	inst.MarkFailed(errors.New("liveness check failed")) // as the runtime may
	kindtest.Do(t, inst, modules.TransitionStart)
	waitLines(t, out, 2, "run")
}
