package tfbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Nexus runs nexus: a daemon as a child process with its own data
// directory and unix socket, driven by the nexus CLI.
type Nexus struct {
	// Bin is the nexus binary (make build writes bin/nexus).
	Bin string
}

// Name returns "nexus".
func (*Nexus) Name() string { return "nexus" }

// Version returns what `nexus version` prints, without the leading name.
func (n *Nexus) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, n.Bin, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", n.Bin, err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "nexus "), nil
}

// Trial starts a fresh daemon in dir, times the CLI's plan, apply and
// re-plan against it, and stops the daemon. An operation's Wall is the CLI
// process's; its CPU is the CLI's plus what the daemon used meanwhile; its
// MaxRSS the CLI's. Peak is the daemon's VmHWM at the end plus the largest
// CLI max RSS: the memory nexus needs at its busiest, both sides of the
// socket counted.
func (n *Nexus) Trial(ctx context.Context, dir string, w *Workload, ops []Op, limit time.Duration) (Trial, error) {
	t := Trial{Ops: make(map[Op]Usage)}
	cfgDir := filepath.Join(dir, "config")
	if err := writeFiles(cfgDir, w.Nexus); err != nil {
		return t, err
	}
	d, err := n.startDaemon(ctx, dir, limit)
	if err != nil {
		return t, err
	}
	defer d.stop()
	addr := "unix://" + d.socket
	var cliPeak int64
	for _, op := range ops {
		var args []string
		var ok []int
		switch op {
		case Plan, Replan:
			args = []string{n.Bin, "plan", "--no-color", "--detailed-exitcode", "--address", addr, cfgDir}
			ok = []int{map[Op]int{Plan: 2, Replan: 0}[op]}
		case Apply:
			args = []string{n.Bin, "apply", "--no-color", "--auto-approve", "--parallelism", strconv.Itoa(Parallelism), "--address", addr, cfgDir}
		}
		u, err := d.measure(ctx, command{dir: dir, env: environ([]string{"NEXUS_"}), args: args, log: filepath.Join(dir, "cli.log"), ok: ok}, limit)
		if err != nil {
			return t, fmt.Errorf("nexus %s: %w", op, err)
		}
		t.Ops[op] = u
		cliPeak = max(cliPeak, u.MaxRSS)
	}
	hwm, err := procHWM(d.cmd.Process.Pid)
	if err != nil {
		return t, fmt.Errorf("nexus daemon peak memory: %w", err)
	}
	t.Peak = hwm + cliPeak
	return t, d.stop()
}

// daemon is a running nexus daemon child process.
type daemon struct {
	cmd    *exec.Cmd
	socket string
	log    string
	done   chan struct{} // closed when cmd.Wait returns
	err    error         // cmd.Wait's error, set before done is closed
}

// startDaemon writes a daemon config for dir (data dir and socket inside
// it, no TCP listener, so it never collides with another daemon), starts
// the daemon and waits for its socket to accept connections.
func (n *Nexus) startDaemon(ctx context.Context, dir string, limit time.Duration) (*daemon, error) {
	d := &daemon{socket: filepath.Join(dir, "nexus.sock"), log: filepath.Join(dir, "daemon.log"), done: make(chan struct{})}
	conf := filepath.Join(dir, "nexusd.hcl")
	hcl := fmt.Sprintf("daemon {\n  data_dir = %q\n}\n\nlistener \"unix\" {\n  path = %q\n}\n", filepath.Join(dir, "data"), d.socket)
	if err := os.WriteFile(conf, []byte(hcl), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	d.cmd = exec.Command(n.Bin, "daemon", "--config", conf)
	d.cmd.Dir, d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = dir, environ([]string{"NEXUS_"}), out, out
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the nexus daemon: %w", err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	if err := d.waitReady(ctx, min(limit, time.Minute)); err != nil {
		_ = d.stop()
		return nil, err
	}
	return d, nil
}

// waitReady polls the socket until it accepts a connection, the daemon
// exits, or the timeout passes.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("unix", d.socket, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-d.done:
			return fmt.Errorf("the nexus daemon exited before its socket was ready (%v); the end of %s:\n%s", d.err, d.log, tail(d.log, 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the nexus daemon's socket %s was not ready after %s; the end of %s:\n%s", d.socket, timeout, d.log, tail(d.log, 15))
		}
	}
}

// measure runs a CLI command and adds the daemon's CPU time over the same
// span to it.
func (d *daemon) measure(ctx context.Context, c command, limit time.Duration) (Usage, error) {
	pid := d.cmd.Process.Pid
	before, err := procCPU(pid)
	if err != nil {
		return Usage{}, fmt.Errorf("daemon CPU time: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	u, _, err := run(ctx, c)
	if err != nil {
		return u, err
	}
	after, err := procCPU(pid)
	if err != nil {
		return u, fmt.Errorf("daemon CPU time (did it exit? the end of %s:\n%s): %w", d.log, tail(d.log, 15), err)
	}
	u.CPU += after - before
	return u, nil
}

// stop sends SIGTERM, waits up to a minute for the daemon to stop its
// modules and exit, then kills it. It is safe to call more than once.
func (d *daemon) stop() error {
	select {
	case <-d.done:
		return d.exitErr()
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return d.exitErr()
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("the nexus daemon did not stop within a minute of SIGTERM and was killed; see %s", d.log)
	}
}

// exitErr reports an unclean exit of the daemon; d.done must be closed.
func (d *daemon) exitErr() error {
	var exit *exec.ExitError
	if errors.As(d.err, &exit) {
		return fmt.Errorf("the nexus daemon exited with %s; the end of %s:\n%s", exit.ProcessState, d.log, tail(d.log, 15))
	}
	return d.err
}

var _ Tool = (*Nexus)(nil)
