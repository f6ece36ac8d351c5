package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"syscall"

	"github.com/nexus-run/nexus/internal/procgroup"
)

// pidRecord is what exec.pid holds about the running process group.
type pidRecord struct {
	PGID int `json:"pgid"`
	// StartTime is the leader's start time in clock ticks after boot.
	StartTime uint64 `json:"start_time"`
	// BootID is the kernel's boot id; a record of another boot names no
	// process of ours.
	BootID string `json:"boot_id,omitempty"`
}

// writePidfile writes r atomically (temporary file, rename), 0600.
func writePidfile(path string, r pidRecord) error {
	buf, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(buf, '\n'), 0o600); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func readPidfile(path string) (pidRecord, error) {
	var r pidRecord
	buf, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(buf, &r); err != nil || r.PGID <= 1 {
		return r, fmt.Errorf("pid file %s is not a nexus pid record: %q", path, buf)
	}
	return r, nil
}

// leftovers returns the live processes of the group r names, when it is
// still the group r recorded: the leader alive with the recorded start time,
// or the leader gone and members that started after it. A pid now used by
// another process means the recorded group is gone, since a process group id
// is not reused while the group has members.
func leftovers(r pidRecord, bootID string) ([]procgroup.Stat, error) {
	if r.BootID != "" && bootID != "" && r.BootID != bootID {
		return nil, nil
	}
	leader, err := procgroup.ReadStat(r.PGID)
	switch {
	case err == nil && (leader.StartTime != r.StartTime || leader.PGRP != r.PGID):
		return nil, nil // the pid was reused
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return procgroup.Live(r.PGID, r.StartTime)
}

// killLeftovers kills, with SIGKILL, the process group that the pid file at
// path names, if a previous daemon left it running, waits for it to die
// (bounded by ctx), and removes the pid file.
func killLeftovers(ctx context.Context, path string, logger *slog.Logger) error {
	r, err := readPidfile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		logger.Warn("ignoring unreadable pid file", "path", path, "error", err)
		return removeIfExists(path)
	}
	procs, err := leftovers(r, procgroup.BootID())
	if err != nil {
		return fmt.Errorf("check processes left by a previous run: %w", err)
	}
	if len(procs) > 0 {
		pids := make([]string, len(procs))
		for i, p := range procs {
			pids[i] = strconv.Itoa(p.PID)
		}
		logger.Warn("killing processes left running by a previous daemon", "pgid", r.PGID, "pids", pids)
		if err := syscall.Kill(-r.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill process group %d left by a previous run: %w", r.PGID, err)
		}
		if err := procgroup.AwaitGone(ctx, r.PGID, r.StartTime); err != nil {
			return fmt.Errorf("kill processes left by a previous run: %w", err)
		}
	}
	return removeIfExists(path)
}
