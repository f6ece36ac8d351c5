package bench

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the user and system CPU time the process has used so far,
// all threads included (0 when getrusage fails).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ChildrenCPUTime returns the CPU time of the process's waited-for
// children (the nexus CLI and daemon processes a benchmark ran).
func ChildrenCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS returns the process's resident set high-water mark in bytes: an
// upper bound of any one benchmark's peak, since it includes everything
// the process ran before.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}

// HeapMB collects garbage and returns the live heap in MB: what the values
// still referenced take.
func HeapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// CPU accumulates the CPU time of the measured parts of a benchmark, the
// way b.StartTimer and b.StopTimer delimit its wall time. It is not safe
// for concurrent use.
type CPU struct {
	total time.Duration
	from  time.Duration
	on    bool
}

// Start begins a measured part.
func (c *CPU) Start() {
	c.from, c.on = CPUTime(), true
}

// Stop ends a measured part.
func (c *CPU) Stop() {
	if c.on {
		c.total += CPUTime() - c.from
		c.on = false
	}
}

// Total is the CPU time measured so far.
func (c *CPU) Total() time.Duration {
	if c.on {
		return c.total + CPUTime() - c.from
	}
	return c.total
}

// Report stops the measurement and reports it on b as unit (such as
// "cpu-ms/op") in milliseconds per iteration.
func (c *CPU) Report(b *testing.B, unit string) {
	c.Stop()
	ReportMS(b, c.total, unit)
}

// ReportMS reports d on b as unit, in milliseconds per iteration.
func ReportMS(b *testing.B, d time.Duration, unit string) {
	b.ReportMetric(float64(d.Microseconds())/1000/float64(max(b.N, 1)), unit)
}
