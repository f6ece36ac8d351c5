package exec

import (
	"os"
	"testing"

	"github.com/nexus-run/nexus/internal/procgroup"
)

func TestCPUMeter_neverDecreases(t *testing.T) {
	st := func(pid int, ticks uint64) procgroup.Stat {
		return procgroup.Stat{PID: pid, State: 'S', StartTime: 1, UTime: ticks}
	}
	var m cpuMeter
	steps := []struct {
		name    string
		observe func() float64
		want    float64
	}{
		{"two processes", func() float64 { return m.observe([]procgroup.Stat{st(1, 100), st(2, 50)}) }, 1.5},
		{"the child exits", func() float64 { return m.observe([]procgroup.Stat{st(1, 120)}) }, 1.7},
		{"a new child", func() float64 { return m.observe([]procgroup.Stat{st(1, 120), st(3, 10)}) }, 1.8},
		{"the run ends", func() float64 { m.observe(nil); m.endRun(); return m.total() }, 1.8},
		{"a cgroup run", func() float64 { return m.observeCgroup(0.5) }, 2.3},
		{"its reading goes back", func() float64 { return m.observeCgroup(0.2) }, 2.3},
		{"and it ends", func() float64 { m.endRun(); return m.total() }, 2.3},
	}
	for _, s := range steps {
		if got := s.observe(); got < s.want-1e-9 || got > s.want+1e-9 {
			t.Fatalf("%s: got: %v, want: %v", s.name, got, s.want)
		}
	}
}

func TestResidentMB_countsLiveProcesses(t *testing.T) {
	pages := int64(1<<20) / int64(os.Getpagesize())
	got := residentMB([]procgroup.Stat{
		{State: 'S', RSSPages: pages},
		{State: 'R', RSSPages: pages},
		{State: 'Z', RSSPages: pages},
	})
	if got != 2 {
		t.Errorf("got: %v MB, want: 2 (the zombie does not count)", got)
	}
}
