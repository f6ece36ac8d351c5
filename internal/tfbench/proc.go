package tfbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrTimeout is returned, wrapped, when a measured command outlives its
// time limit; the command is killed and the measurement reported as skipped.
var ErrTimeout = errors.New("time limit exceeded")

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. The
// kernel fixes it at 100 on every architecture Go supports on Linux.
const clockTicks = 100

// Usage is what one measured operation cost.
type Usage struct {
	// Wall is the elapsed time from start to exit.
	Wall time.Duration
	// CPU is the user plus system time of every process involved.
	CPU time.Duration
	// MaxRSS is the largest resident set, in bytes, of the processes
	// involved (for a process tree, the largest of its members).
	// Launched commands have a floor of the launcher's size, about 6 MiB.
	MaxRSS int64
}

// command is a process to run and measure.
type command struct {
	dir  string
	env  []string
	args []string
	// log receives stdout and stderr; its tail goes into error messages.
	log string
	// ok lists the exit codes that mean success (0 when empty).
	ok []int
}

// run runs c and returns its wall time, CPU time and max RSS.
//
// The command is started through a launcher: this binary run again (see
// LauncherMain), which starts the command, waits for it and reports what
// wait4 says. A direct child would not do, because Linux seeds a process's
// max RSS with the memory of the process it was forked from, here the
// harness holding the workload; the launcher is small (about 6 MiB), so its
// floor is below anything measured. The launcher and the command run in a
// process group of their own, killed when ctx ends; a ctx that ended by its
// deadline gives an error wrapping ErrTimeout. An exit code outside c.ok is
// an error that quotes the end of the command's output.
func run(ctx context.Context, c command) (Usage, int, error) {
	out, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Usage{}, -1, err
	}
	defer out.Close()
	fmt.Fprintf(out, "$ %s\n", strings.Join(c.args, " "))
	rep, repW, err := os.Pipe()
	if err != nil {
		return Usage{}, -1, err
	}
	defer rep.Close()
	cmd, err := launcher(ctx, c, out, repW)
	if err == nil {
		err = cmd.Start()
	}
	repW.Close() // the launcher has its own copy; EOF once it exits
	if err != nil {
		return Usage{}, -1, fmt.Errorf("start %s: %w", c.args[0], err)
	}
	start := time.Now()
	err = cmd.Wait()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Usage{}, -1, fmt.Errorf("%s: %w after %s", strings.Join(c.args[:min(2, len(c.args))], " "), ErrTimeout, time.Since(start).Round(time.Second))
		}
		return Usage{}, -1, fmt.Errorf("%s: %w", c.args[0], ctx.Err())
	}
	var r launchReport
	if derr := json.NewDecoder(rep).Decode(&r); derr != nil {
		return Usage{}, -1, fmt.Errorf("run %s: the launcher reported nothing (%v, %v); the end of %s:\n%s", c.args[0], err, derr, c.log, tail(c.log, 15))
	}
	if r.Error != "" {
		return Usage{}, -1, fmt.Errorf("run %s: %s", c.args[0], r.Error)
	}
	if !okCode(r.Exit, c.ok) {
		return Usage{}, r.Exit, fmt.Errorf("%s exited with code %d (want %v); the end of %s:\n%s",
			strings.Join(c.args, " "), r.Exit, okCodes(c.ok), c.log, tail(c.log, 15))
	}
	return Usage{Wall: time.Duration(r.WallNS), CPU: time.Duration(r.CPUNS), MaxRSS: r.MaxRSSKB * 1024}, r.Exit, nil
}

// launcher is the command that runs c through this binary as a launcher,
// in a process group of its own that is killed when ctx ends, writing its
// output to out and its report to report.
func launcher(ctx context.Context, c command, out, report *os.File) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary to launch commands with: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, c.args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = c.dir, out, out
	env := c.env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(slices.Clip(env), launcherEnv+"=1")
	cmd.ExtraFiles = []*os.File{report}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd, nil
}

// launcherEnv, set to 1, tells LauncherMain that this process is a launcher.
const launcherEnv = "TFBENCH_LAUNCHER"

// launchReport is what the launcher writes to file descriptor 3.
type launchReport struct {
	Exit     int    `json:"exit"`
	WallNS   int64  `json:"wall_ns"`
	CPUNS    int64  `json:"cpu_ns"`
	MaxRSSKB int64  `json:"maxrss_kb"` // kilobytes, as Linux reports it
	Error    string `json:"error,omitempty"`
}

// LauncherMain turns the process into a measuring launcher when a Tool
// started it as one: it runs the command in its arguments, reports the
// command's exit code, wall time, CPU time and max RSS (children included)
// to its parent, and exits. Otherwise it returns at once. A binary that
// calls Run must call LauncherMain first thing in main, and a test binary
// in TestMain.
func LauncherMain() {
	if os.Getenv(launcherEnv) != "1" {
		return
	}
	os.Exit(launch(os.Args[1:]))
}

// launch runs args as the launcher; see LauncherMain.
func launch(args []string) int {
	syscall.CloseOnExec(3) // the command must not hold the report pipe
	report := os.NewFile(3, "launcher report")
	enc := json.NewEncoder(report)
	if len(args) == 0 {
		_ = enc.Encode(launchReport{Error: "the launcher was given no command"})
		return 1
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, launcherEnv+"=") })
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		_ = enc.Encode(launchReport{Error: err.Error()})
		return 1
	}
	r := launchReport{Exit: cmd.ProcessState.ExitCode(), WallNS: int64(wall)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.CPUNS = ru.Utime.Nano() + ru.Stime.Nano()
		r.MaxRSSKB = ru.Maxrss
	}
	if err := enc.Encode(r); err != nil {
		return 1
	}
	return 0
}

func okCode(code int, ok []int) bool { return slices.Contains(okCodes(ok), code) }

// okCodes are the exit codes that mean success: ok, or 0 when it is empty.
func okCodes(ok []int) []int {
	if len(ok) == 0 {
		return []int{0}
	}
	return ok
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	buf, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + string(bytes.Join(lines, []byte("\n  ")))
}

// procCPU is the user plus system CPU time process pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(buf)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procHWM is the peak resident set size (VmHWM) of process pid, in bytes.
func procHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseStatusKB(f, "VmHWM")
}

// parseStatusKB finds a "Key:  123 kB" line of /proc/<pid>/status and
// returns its value in bytes.
func parseStatusKB(r io.Reader, key string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
		kb, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return 0, fmt.Errorf("parse /proc status: %s: %q is not a size in kB", key, v)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read /proc status: %w", err)
	}
	return 0, fmt.Errorf("parse /proc status: no %s line", key)
}
