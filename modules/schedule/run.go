package schedule

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

// tickResult is what a tick does under the overlap policy.
type tickResult int

const (
	tickStart tickResult = iota
	tickQueued
	tickSkipped
)

// gate applies the overlap policy: it counts the runs in progress and the
// one run that may be pending. Not safe for concurrent use.
type gate struct {
	policy  string
	running int
	pending bool
}

// tick decides what a due run does: start now (nothing runs, or overlap is
// allow), wait as the one pending run (queue), or nothing (skip, or queue
// with a run already pending).
func (g *gate) tick() tickResult {
	switch {
	case g.running == 0 || g.policy == overlapAllow:
		g.running++
		return tickStart
	case g.policy == overlapQueue && !g.pending:
		g.pending = true
		return tickQueued
	}
	return tickSkipped
}

// done records the end of a run and reports whether the pending run starts
// now; it does not when canStart is false (the module is stopping), and is
// then dropped.
func (g *gate) done(canStart bool) bool {
	g.running--
	if !g.pending {
		return false
	}
	g.pending = false
	if !canStart {
		return false
	}
	g.running++
	return true
}

// runRecord is what is known of a run once it has ended.
type runRecord struct {
	Start    time.Time        `json:"start"`
	Duration modules.Duration `json:"duration"`
	// ExitCode is -1 when the run was killed by a signal or never started.
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// startRun runs cfg in a goroutine of the module's own; a queued run
// follows when it ends. s.mu must be held.
func (s *Schedule) startRun(cfg config) {
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		rec := s.run(cfg)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.last = &rec
		if s.gate.done(!s.stopping) {
			s.startRun(s.cfg)
		}
	}()
}

// run performs one run, tracked as an operation of the module.
func (s *Schedule) run(cfg config) runRecord {
	rec := runRecord{Start: time.Now(), ExitCode: -1}
	err := s.mc.Track(s.runCtx, "run", func(ctx context.Context) error { return s.execute(ctx, cfg, &rec) })
	rec.Duration = modules.Duration(time.Since(rec.Start))
	if err != nil {
		rec.Error = err.Error()
		s.mc.Logger().Warn("run failed", "exit_code", rec.ExitCode, "duration_ms", rec.Duration.D().Milliseconds(), "error", err)
	} else {
		s.mc.Logger().Info("run finished", "exit_code", rec.ExitCode, "duration_ms", rec.Duration.D().Milliseconds())
	}
	return rec
}

// execute starts the command and waits for it, ending its process group at
// the timeout or when the module stops (ctx).
func (s *Schedule) execute(ctx context.Context, cfg config, rec *runRecord) error {
	cmd, err := procgroup.Command(cfg.command, cfg.dir, procgroup.Env(map[string]string{"NEXUS_MODULE_ID": s.mc.ID()}, cfg.env))
	if err != nil {
		return err
	}
	s.mu.Lock()
	stdout, stderr := s.stdout, s.stderr
	s.mu.Unlock()
	g, err := procgroup.Start(cmd, stdout, stderr)
	if err != nil {
		return fmt.Errorf("start %s: %w", cfg.command[0], err)
	}
	var timeout <-chan time.Time
	if cfg.timeout > 0 {
		t := time.NewTimer(cfg.timeout)
		defer t.Stop()
		timeout = t.C
	}
	var cut string
	select {
	case <-g.Done():
	case <-timeout:
		cut = fmt.Sprintf("timed out after %s", cfg.timeout)
		s.terminate(g, procgroup.Grace(context.Background(), s.mc.Timeouts().Stop.D()))
	case <-ctx.Done():
		cut = "stopped with the module"
		s.mu.Lock()
		gr := s.stopGrace
		s.mu.Unlock()
		s.terminate(g, gr)
	}
	err = g.Err()
	rec.ExitCode = g.ProcessState().ExitCode()
	switch {
	case cut != "" && err != nil:
		return fmt.Errorf("%s: %w", cut, err)
	case cut != "":
		return errors.New(cut)
	}
	return err
}

func (s *Schedule) terminate(g *procgroup.Group, grace time.Duration) {
	if err := g.Terminate(context.Background(), syscall.SIGTERM, grace); err != nil {
		s.mc.Logger().Error("run left running", "pid", g.Pid(), "error", err)
	}
}
