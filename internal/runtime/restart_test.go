package runtime

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

func TestShouldRestart(t *testing.T) {
	clean, failed := cause{kind: causeExit}, cause{kind: causeExit, err: errBoom}
	liveness := cause{kind: causeLiveness, err: errors.New("dead")}
	tests := map[string]struct {
		mode modules.RestartMode
		c    cause
		want bool
	}{
		"never, clean":         {modules.RestartNever, clean, false},
		"never, error":         {modules.RestartNever, failed, false},
		"never, liveness":      {modules.RestartNever, liveness, false},
		"on-failure, clean":    {modules.RestartOnFailure, clean, false},
		"on-failure, error":    {modules.RestartOnFailure, failed, true},
		"on-failure, liveness": {modules.RestartOnFailure, liveness, true},
		"always, clean":        {modules.RestartAlways, clean, true},
		"always, error":        {modules.RestartAlways, failed, true},
		"unset is on-failure":  {"", failed, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := restartPolicy(modules.RestartPolicy{Policy: tt.mode})
			if got := shouldRestart(p, tt.c); got != tt.want {
				t.Errorf("got: %v, want: %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := restartPolicy(modules.RestartPolicy{Backoff: modules.Duration(time.Second), MaxBackoff: modules.Duration(10 * time.Second)})
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(p, n))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("got: %v, want: 1s 2s 4s 8s 10s 10s", got)
		}
	}
	if d := backoff(p, 1000); d != 10*time.Second {
		t.Errorf("attempt 1000 got: %s, want: the cap (no overflow)", d)
	}
}

func TestRestartPolicy_defaults(t *testing.T) {
	got := restartPolicy(modules.RestartPolicy{Policy: modules.RestartAlways, Backoff: modules.Duration(2 * time.Minute)})
	if got.MaxAttempts != 5 || got.Window.D() != 10*time.Minute || got.MaxBackoff.D() != 2*time.Minute {
		t.Errorf("got: %+v, want: defaults, max_backoff raised to backoff", got)
	}
}

func TestRestartHistory_window(t *testing.T) {
	p := restartPolicy(modules.RestartPolicy{MaxAttempts: 2, Window: modules.Duration(time.Minute), Backoff: modules.Duration(time.Second)})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var h restartHistory
	steps := []struct {
		at          time.Duration
		wantAttempt int
		wantDelay   time.Duration
		wantErr     bool
	}{
		{0, 1, time.Second, false},
		{10 * time.Second, 2, 2 * time.Second, false},
		{20 * time.Second, 2, 0, true},                // a third within the minute
		{65 * time.Second, 2, 2 * time.Second, false}, // the first left the window
		{2 * time.Hour, 1, time.Second, false},        // a quiet hour resets the backoff
	}
	for i, s := range steps {
		attempt, delay, err := h.next(p, t0.Add(s.at))
		if attempt != s.wantAttempt || delay != s.wantDelay || (err != nil) != s.wantErr {
			t.Errorf("step %d got: attempt %d, delay %s, err %v; want: %d, %s, err %v", i, attempt, delay, err, s.wantAttempt, s.wantDelay, s.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "gave up after 2 restarts within 1m0s") {
			t.Errorf("step %d error got: %v", i, err)
		}
	}
}
