package tfbench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
)

// Machine describes the host a run happened on, from /proc.
type Machine struct {
	// CPU is the processor's model name; Cores the logical CPUs.
	CPU   string
	Cores int
	// MemTotal is the RAM in bytes (0 when /proc/meminfo is unreadable).
	MemTotal int64
	// Kernel is the Linux release.
	Kernel string
	// LoadBefore and LoadAfter are the 1, 5 and 15 minute load averages
	// at the start and the end of the run: the machine may be shared.
	LoadBefore, LoadAfter string
	// GoVersion is the toolchain the harness (and make build) used.
	GoVersion string
}

// ReadMachine describes the current host. Fields it cannot read are left
// empty rather than failing the run.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: readLoad()}
	if buf, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(buf))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		m.MemTotal, _ = parseStatusKB(f, "MemTotal")
		f.Close()
	}
	if buf, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(buf))
	}
	return m
}

// readLoad returns the load averages from /proc/loadavg, or "".
func readLoad() string {
	buf, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(buf))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
