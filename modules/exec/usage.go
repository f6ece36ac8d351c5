package exec

import (
	"os"

	"github.com/nexus-run/nexus/internal/procgroup"
)

// procKey identifies a process across pid reuse.
type procKey struct {
	pid   int
	start uint64
}

// cpuMeter turns snapshots of a process group into a cpu total that never
// goes down over the module's life: the cpu of a process is kept when it
// exits, and so is that of each run when the next starts. Not safe for
// concurrent use.
type cpuMeter struct {
	gone float64             // seconds of processes and runs that ended
	live map[procKey]float64 // seconds of each process at the last snapshot
	run  float64             // the current run's cgroup total at the last snapshot
	last float64             // the last total reported
}

// observe takes a snapshot of the group's processes (from /proc) and returns
// the total.
func (m *cpuMeter) observe(members []procgroup.Stat) float64 {
	live := make(map[procKey]float64, len(members))
	var now float64
	for _, s := range members {
		sec := float64(s.CPUTicks()) / procgroup.ClockTicks
		live[procKey{s.PID, s.StartTime}] = sec
		now += sec
	}
	for k, sec := range m.live {
		if _, ok := live[k]; !ok {
			m.gone += sec // exited (and reaped) since the last snapshot
		}
	}
	m.live = live
	return m.report(now)
}

// observeCgroup records the current run's cgroup cpu total and returns the
// module's total.
func (m *cpuMeter) observeCgroup(seconds float64) float64 {
	m.run = seconds
	return m.report(seconds)
}

func (m *cpuMeter) report(current float64) float64 {
	m.last = max(m.last, m.gone+current)
	return m.last
}

// endRun folds the run that ended into the total.
func (m *cpuMeter) endRun() {
	for _, sec := range m.live {
		m.gone += sec
	}
	m.gone += m.run
	m.live, m.run = nil, 0
	m.last = max(m.last, m.gone)
}

// total returns the last total reported.
func (m *cpuMeter) total() float64 { return m.last }

// residentMB sums the resident memory of the live processes, in MiB.
func residentMB(members []procgroup.Stat) float64 {
	var pages int64
	for _, s := range members {
		if s.Alive() {
			pages += s.RSSPages
		}
	}
	return float64(pages) * float64(os.Getpagesize()) / (1 << 20)
}
