package procgroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ClockTicks is the unit of the cpu and start times in /proc/<pid>/stat
// (USER_HZ). The kernel fixes it at 100 for user space on every architecture
// nexus builds for, whatever its internal HZ.
const ClockTicks = 100

// ErrBadStat is returned (wrapped) for a /proc/<pid>/stat line that cannot be
// parsed.
var ErrBadStat = errors.New("malformed /proc stat line")

// Stat is what nexus reads of one process from /proc/<pid>/stat.
type Stat struct {
	PID   int
	PPID  int
	PGRP  int
	State byte // 'R', 'S', 'D', 'Z' (zombie), …
	// UTime and STime are the cpu time in user and kernel mode, in ClockTicks.
	UTime, STime uint64
	// StartTime is when the process started, in ClockTicks after boot. With
	// the pid it identifies a process across pid reuse.
	StartTime uint64
	// RSSPages is the resident set size in pages, the same counter
	// /proc/<pid>/statm reports.
	RSSPages int64
}

// Alive reports whether the process is still running (not a zombie waiting
// to be reaped).
func (s Stat) Alive() bool { return s.State != 'Z' && s.State != 'X' }

// CPUTicks returns the process's own cpu time (user + system) in ClockTicks.
func (s Stat) CPUTicks() uint64 { return s.UTime + s.STime }

// ParseStat parses the content of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return Stat{}, fmt.Errorf("%w: no command name", ErrBadStat)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("%w: pid: %v", ErrBadStat, err)
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state); rss, field 24, is f[21].
	if len(f) < 22 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("%w: %d fields after the command name, want at least 22", ErrBadStat, len(f))
	}
	s := Stat{PID: pid, State: f[0][0]}
	var errs [7]error
	s.PPID, errs[0] = strconv.Atoi(string(f[1]))
	s.PGRP, errs[1] = strconv.Atoi(string(f[2]))
	s.UTime, errs[2] = strconv.ParseUint(string(f[11]), 10, 64)
	s.STime, errs[3] = strconv.ParseUint(string(f[12]), 10, 64)
	s.StartTime, errs[4] = strconv.ParseUint(string(f[19]), 10, 64)
	s.RSSPages, errs[5] = strconv.ParseInt(string(f[21]), 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return Stat{}, fmt.Errorf("%w: %v", ErrBadStat, err)
	}
	return s, nil
}

// ReadStat reads /proc/<pid>/stat. A process that does not exist is an error
// wrapping fs.ErrNotExist.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// Members returns the processes whose process group is pgid, zombies
// included (check Alive), by scanning /proc. Processes that exit during the
// scan are skipped.
func Members(pgid int) ([]Stat, error) {
	// kill(-pgid, 0) signals nothing: ESRCH says the group is empty. (-1
	// and 0 would mean every process and our own group.)
	if pgid > 1 {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return nil, nil
		}
	}
	groups, err := scanGroups()
	if err != nil {
		return nil, err
	}
	return groups[pgid], nil
}

// scanGroups reads the stat of every process in /proc, by process group.
func scanGroups() (map[int][]Stat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	groups := map[int][]Stat{}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		s, err := ReadStat(pid)
		if err != nil {
			continue
		}
		groups[s.PGRP] = append(groups[s.PGRP], s)
	}
	return groups, nil
}

// recent is the last scan of /proc that RecentMembers made.
var recent struct {
	sync.Mutex
	at     time.Time
	groups map[int][]Stat
	scans  int // for tests
}

// RecentMembers is Members from a scan of /proc at most maxAge old: one
// scan serves every group measured meanwhile, so that measuring the usage
// of n groups reads /proc once rather than n times. A process started after
// that scan is missing from it; use Members where that matters.
func RecentMembers(pgid int, maxAge time.Duration) ([]Stat, error) {
	recent.Lock()
	defer recent.Unlock()
	if recent.groups == nil || time.Since(recent.at) > maxAge {
		at := time.Now()
		groups, err := scanGroups()
		if err != nil {
			return nil, err
		}
		recent.groups, recent.at = groups, at
		recent.scans++
	}
	return slices.Clone(recent.groups[pgid]), nil
}

// BootID returns the kernel's boot id, which tells a pid recorded before a
// reboot from one recorded in this boot. It returns "" when unknown.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// Live returns the live processes of group pgid that started at or after
// minStart (in ClockTicks after boot). The start time filter keeps a group id
// reused later from being mistaken for the group that was meant: the members
// of a group all start after its leader.
func Live(pgid int, minStart uint64) ([]Stat, error) {
	members, err := Members(pgid)
	if err != nil {
		return nil, err
	}
	live := members[:0]
	for _, m := range members {
		if m.Alive() && m.StartTime >= minStart {
			live = append(live, m)
		}
	}
	return live, nil
}

// AwaitGone polls /proc until Live(pgid, minStart) is empty or ctx is done.
func AwaitGone(ctx context.Context, pgid int, minStart uint64) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		live, err := Live(pgid, minStart)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("process group %d still has %d live processes: %w", pgid, len(live), ctx.Err())
		case <-tick.C:
		}
	}
}
