package procgroup

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseStat_fields(t *testing.T) {
	tests := map[string]struct {
		line    string
		want    Stat
		wantErr bool
	}{
		"plain": {
			line: "1234 (sleep) S 1 1234 1234 0 -1 4194560 98 0 0 0 7 3 0 0 20 0 1 0 5555 8192 321 18446744073709551615",
			want: Stat{PID: 1234, PPID: 1, PGRP: 1234, State: 'S', UTime: 7, STime: 3, StartTime: 5555, RSSPages: 321},
		},
		"command with spaces and parentheses": {
			line: "42 (a (b) c) Z 7 40 40 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 0 0",
			want: Stat{PID: 42, PPID: 7, PGRP: 40, State: 'Z', UTime: 1, STime: 2, StartTime: 99},
		},
		"truncated":         {line: "1 (x) S 1 1 1", wantErr: true},
		"no command":        {line: "1 x S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 0 0", wantErr: true},
		"non-numeric field": {line: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 2 0 0 20 0 1 0 99 0 0", wantErr: true},
		"empty":             {line: "", wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.line))
			if tt.wantErr {
				if !errors.Is(err, ErrBadStat) {
					t.Fatalf("got: %v, want: an ErrBadStat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}

func TestReadStat_self(t *testing.T) {
	got, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != os.Getpid() || !got.Alive() || got.StartTime == 0 || got.RSSPages <= 0 {
		t.Errorf("got: %+v, want: this live process with a start time and resident pages", got)
	}
	if _, err := ReadStat(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no such pid: got: %v, want: ErrNotExist", err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (sleep) S 1 1234 1234 0 -1 4194560 98 0 0 0 7 3 0 0 20 0 1 0 5555 8192 321 0"))
	f.Add([]byte("1 ()) R 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err != nil && !errors.Is(err, ErrBadStat) {
			t.Errorf("got: %v, want: nil or an ErrBadStat", err)
		}
		if err == nil && s.State == 0 {
			t.Errorf("got: %+v with no state, want: an error", s)
		}
	})
}

func TestMembers_emptyAndGoneGroups(t *testing.T) {
	g := sh(t, "sleep 60 & sleep 60", nil, nil)
	waitMembers(t, g.Pid(), 3)
	if err := g.Terminate(context.Background(), syscall.SIGKILL, 0); err != nil {
		t.Fatal(err)
	}
	if got := alive(t, g.Pid()); len(got) != 0 {
		t.Errorf("got: live members %v of a killed group, want: none", got)
	}
	if got, err := Members(1 << 30); err != nil || len(got) != 0 {
		t.Errorf("a group that never existed: got: %v, %v; want: none, nil", got, err)
	}
}

func TestRecentMembers_oneScanServesEveryGroup(t *testing.T) {
	a := sh(t, "exec sleep 60", nil, nil)
	b := sh(t, "sleep 60 & sleep 60", nil, nil)
	waitMembers(t, a.Pid(), 1)
	waitMembers(t, b.Pid(), 3)
	recent.Lock()
	recent.groups = nil // a scan that sees both groups
	scans := recent.scans
	recent.Unlock()
	ma, err := RecentMembers(a.Pid(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := RecentMembers(b.Pid(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ma) != 1 || ma[0].PID != a.Pid() || len(mb) != 3 {
		t.Errorf("got: %d members of group a (%+v) and %d of b, want: a's leader and b's three", len(ma), ma, len(mb))
	}
	recent.Lock()
	got := recent.scans - scans
	recent.Unlock()
	if got != 1 {
		t.Errorf("got: %d scans of /proc for two groups within maxAge, want: 1", got)
	}
	if _, err := RecentMembers(a.Pid(), 0); err != nil {
		t.Fatal(err)
	}
	recent.Lock()
	got = recent.scans - scans
	recent.Unlock()
	if got != 2 {
		t.Errorf("got: %d scans after a call with maxAge 0, want: 2 (a new scan)", got)
	}
}

// BenchmarkMeasure_100groups measures what reading the members of 100
// process groups costs (an exec module's usage, without a cgroup, for each
// of 100 modules in one /metrics scrape): a scan of /proc each, or one
// scan shared.
func BenchmarkMeasure_100groups(b *testing.B) {
	pgid := syscall.Getpgrp()
	b.Run("Members", func(b *testing.B) {
		for b.Loop() {
			for range 100 {
				if _, err := Members(pgid); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("RecentMembers", func(b *testing.B) {
		for b.Loop() {
			recent.Lock()
			recent.groups = nil
			recent.Unlock()
			for range 100 {
				if _, err := RecentMembers(pgid, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
