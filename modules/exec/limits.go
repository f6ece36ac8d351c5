package exec

import (
	"fmt"
	osexec "os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/modules"
)

// The values of Health().Details["limits"].
const (
	limitsCgroup = "cgroup"
	limitsRlimit = "rlimit"
	limitsNone   = "none"
)

// appliedLimits is how a module's limits are enforced on one process.
type appliedLimits struct {
	mode string // limitsCgroup, limitsRlimit or limitsNone
	note string // what is not enforced, and why
	cg   *cgroup
	as   uint64 // RLIMIT_AS in bytes; 0 for none
}

// prepareLimits chooses how to enforce lim: a cgroup v2 child group when one
// can be made (cmd is then set to be born in it), else rlimits. It never
// fails: what cannot be enforced is said in the note.
func prepareLimits(lim modules.Limits, id string, cmd *osexec.Cmd) appliedLimits {
	if lim == (modules.Limits{}) {
		return appliedLimits{mode: limitsNone}
	}
	cg, err := newCgroup(lim, id)
	if err == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.fd()}
		return appliedLimits{mode: limitsCgroup, cg: cg}
	}
	a := appliedLimits{mode: limitsNone}
	var notes []string
	if lim.MemoryMB > 0 {
		a.mode, a.as = limitsRlimit, uint64(lim.MemoryMB)<<20
		notes = append(notes, "memory_mb enforced as RLIMIT_AS (address space, not resident memory)")
	}
	if lim.CPUPercent > 0 {
		notes = append(notes, "cpu_percent not enforced (no rlimit can express it)")
	}
	a.note = strings.Join(notes, "; ") + "; no usable cgroup v2: " + err.Error()
	return a
}

// afterStart applies the rlimits to the started process.
func (a appliedLimits) afterStart(pid int) error {
	if a.as == 0 {
		return nil
	}
	lim := unix.Rlimit{Cur: a.as, Max: a.as}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil); err != nil {
		return fmt.Errorf("apply limits.memory_mb as RLIMIT_AS: %w", err)
	}
	return nil
}

// release removes the cgroup, killing what is left in it.
func (a appliedLimits) release() error {
	if a.cg == nil {
		return nil
	}
	return a.cg.remove()
}
