package procgroup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// How long output is drained after the group is gone before the pipes are
// closed (a process that left the group may still hold them), and how long a
// SIGKILLed group may take to be reaped.
const (
	drainTimeout = 2 * time.Second
	killTimeout  = 5 * time.Second
)

// Group is a started command leading its own process group. Its methods are
// safe for concurrent use.
//
// When the leader exits, whatever it left in its group is killed (SIGKILL),
// as systemd does for a service's control group, and its output is drained;
// only then is Done closed. A Group owns one goroutine that waits for the
// leader, plus one per output stream, and all of them have ended when Done
// is closed.
type Group struct {
	cmd   *exec.Cmd
	pid   int
	start uint64
	done  chan struct{}

	// Set before done is closed.
	err    error
	outErr error
}

// Start starts cmd as the leader of a new process group, with Pdeathsig
// SIGKILL, copying its stdout and stderr to the given writers (nil discards).
// It sets Setpgid and Pdeathsig on cmd.SysProcAttr, keeping its other fields;
// cmd.Stdout and cmd.Stderr must be nil. The writers are used from the
// group's own goroutines until Done is closed; a writer's error does not stop
// the child: its output is then discarded and the error is kept for OutputErr.
func Start(cmd *exec.Cmd, stdout, stderr io.Writer) (*Group, error) {
	if cmd.Stdout != nil || cmd.Stderr != nil {
		return nil, errors.New("procgroup: cmd.Stdout and cmd.Stderr must be nil")
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL

	var pumps []*pump
	for _, o := range []struct {
		w   io.Writer
		dst *io.Writer
	}{{stdout, &cmd.Stdout}, {stderr, &cmd.Stderr}} {
		if o.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			closePumps(pumps)
			return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
		}
		*o.dst = w
		pumps = append(pumps, &pump{r: r, w: w, dst: o.w})
	}
	err := startLocked(cmd)
	for _, p := range pumps {
		p.w.Close() // the child holds its own copy now
	}
	if err != nil {
		closePumps(pumps)
		return nil, err
	}
	g := &Group{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	// The leader is not reaped before wait below, so its stat is readable
	// even if it has already exited.
	if st, err := ReadStat(g.pid); err == nil {
		g.start = st.StartTime
	}
	go g.wait(pumps)
	return g, nil
}

// startLocked starts cmd with the goroutine locked to its thread, so that the
// thread Pdeathsig is bound to is one no other goroutine holds (see doc.go).
func startLocked(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return cmd.Start()
}

func (g *Group) wait(pumps []*pump) {
	var wg sync.WaitGroup
	for _, p := range pumps {
		wg.Go(p.run)
	}
	err := g.cmd.Wait()
	// The leader is gone; end what it left behind in its group, and wait
	// for it to be gone (a signal is delivered, not awaited, by kill).
	g.Signal(syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	AwaitGone(ctx, g.pid, g.start)
	cancel()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		closePumps(pumps) // a process that left the group still holds a pipe
		<-drained
	}
	for _, p := range pumps {
		p.r.Close()
		if p.err != nil && g.outErr == nil {
			g.outErr = p.err
		}
	}
	g.err = err
	close(g.done)
}

// Pid returns the leader's pid, which is also the process group id.
func (g *Group) Pid() int { return g.pid }

// StartTime returns the leader's start time in ClockTicks after boot (0 when
// it could not be read): with the pid, it tells the leader from a later
// process that reuses the pid.
func (g *Group) StartTime() uint64 { return g.start }

// Done is closed once the leader has exited and been reaped, the rest of its
// group killed, and its output drained.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err returns how the leader ended, once Done is closed: nil for exit status
// 0, else an *exec.ExitError such as "exit status 3" or "signal: killed".
func (g *Group) Err() error {
	<-g.done
	return g.err
}

// ProcessState returns the leader's exit status and resource usage, once
// Done is closed.
func (g *Group) ProcessState() *os.ProcessState {
	<-g.done
	return g.cmd.ProcessState
}

// OutputErr returns the first error of an output writer, once Done is closed.
func (g *Group) OutputErr() error {
	<-g.done
	return g.outErr
}

// Signal sends sig to every process of the group. A group that is already
// gone is not an error.
func (g *Group) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-g.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", g.pid, err)
	}
	return nil
}

// DefaultGrace is the grace Grace gives when no stop timeout is set.
const DefaultGrace = 10 * time.Second

// killMargin is how long before a deadline Grace leaves for the SIGKILL and
// the reaping.
const killMargin = 500 * time.Millisecond

// Grace returns the time to give a group between its stop signal and
// SIGKILL: stopTimeout (DefaultGrace when not positive), shortened so that
// SIGKILL goes out a moment ahead of ctx's deadline.
func Grace(ctx context.Context, stopTimeout time.Duration) time.Duration {
	g := stopTimeout
	if g <= 0 {
		g = DefaultGrace
	}
	if dl, ok := ctx.Deadline(); ok {
		g = min(g, max(time.Until(dl)-killMargin, 0))
	}
	return g
}

// Terminate ends the group: it sends sig to the group, waits up to grace (or
// until ctx is done) for the leader to exit, then sends SIGKILL and waits
// for Done. With sig SIGKILL there is no grace. It returns an error only when
// the group could not be signalled or was still there a few seconds after
// SIGKILL (a process stuck in the kernel). Terminate on an ended group does
// nothing.
func (g *Group) Terminate(ctx context.Context, sig syscall.Signal, grace time.Duration) error {
	select {
	case <-g.done:
		return nil
	default:
	}
	if sig != syscall.SIGKILL {
		if err := g.Signal(sig); err != nil {
			return err
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-g.done:
			return nil
		case <-t.C:
		case <-ctx.Done():
		}
	}
	if err := g.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	// Not bounded by ctx: once killed, the group is reaped within moments,
	// and returning earlier would leave it running unawaited.
	t := time.NewTimer(killTimeout)
	defer t.Stop()
	select {
	case <-g.done:
		return nil
	case <-t.C:
		return fmt.Errorf("process group %d still running %s after SIGKILL", g.pid, killTimeout)
	}
}

// pump copies one output pipe of the child to its writer.
type pump struct {
	r, w *os.File
	dst  io.Writer
	err  error
}

func (p *pump) run() {
	if _, err := io.Copy(p.dst, p.r); err != nil && !errors.Is(err, os.ErrClosed) {
		p.err = err
		// Keep the pipe drained so the child never blocks on a full pipe.
		io.Copy(io.Discard, p.r)
	}
}

func closePumps(pumps []*pump) {
	for _, p := range pumps {
		p.r.Close()
		p.w.Close()
	}
}
