package exec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nexus-run/nexus/internal/logfile"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Command      []string          `json:"command"`
	Env          map[string]string `json:"env"`
	SecretFiles  map[string]string `json:"secret_files"`
	Dir          string            `json:"dir"`
	StopSignal   string            `json:"stop_signal"`
	ReloadSignal string            `json:"reload_signal"`
	LogMaxSizeMB float64           `json:"log_max_size_mb"`
	LogMaxFiles  float64           `json:"log_max_files"`
}

var signals = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGHUP": syscall.SIGHUP,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2, "SIGKILL": syscall.SIGKILL,
}

func validate(c modules.Config) error {
	_, err := decode(c)
	return err
}

// decode reads and checks a config; its errors are written for the config's
// author.
func decode(c modules.Config) (settings, error) {
	var s settings
	if err := c.Decode(&s); err != nil {
		return s, err
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return s, fmt.Errorf("command must name a program, like [\"/usr/bin/redis-server\", \"--port\", \"6380\"]")
	}
	if _, ok := signals[strings.ToUpper(s.StopSignal)]; !ok {
		return s, fmt.Errorf("stop_signal %q is not one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGKILL", s.StopSignal)
	}
	if sig, ok := signals[strings.ToUpper(s.ReloadSignal)]; s.ReloadSignal != "" && (!ok || sig == syscall.SIGKILL) {
		return s, fmt.Errorf("reload_signal %q is not one of SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGQUIT", s.ReloadSignal)
	}
	for name := range s.SecretFiles {
		if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return s, fmt.Errorf("secret_files name %q must be a plain file name", name)
		}
	}
	if _, _, err := logfile.ConfigLimits(s.LogMaxSizeMB, s.LogMaxFiles); err != nil {
		return s, err
	}
	return s, nil
}

func (s settings) stopSignal() syscall.Signal { return signals[strings.ToUpper(s.StopSignal)] }

// reloadSignal returns the signal to send after secret files were
// rewritten in place; ok is false when the config names none.
func (s settings) reloadSignal() (sig syscall.Signal, ok bool) {
	sig, ok = signals[strings.ToUpper(s.ReloadSignal)]
	return sig, ok
}

// logLimits returns the rotation limits of a decoded (so valid) config.
func (s settings) logLimits() (int64, int) {
	size, files, _ := logfile.ConfigLimits(s.LogMaxSizeMB, s.LogMaxFiles)
	return size, files
}

// New returns an exec module.
func New() modules.Module { return &Exec{} }

// Exec is the exec kind's module: one supervised process group. Its methods
// are safe for concurrent use (the runtime serialises the lifecycle calls;
// Health and Usage may come at any time).
type Exec struct {
	mc *modules.Context

	mu   sync.Mutex
	s    settings // as of the last Start or Reconfigure
	proc *process // the running (or exited, not yet stopped) process; nil when stopped
	cpu  cpuMeter // cumulative over the module's life
	// exited is when proc exited on its own; zero while it runs.
	exited time.Time

	// The last usage measurement, of which process, and when (see Usage).
	sample    modules.Usage
	sampleOf  *process
	sampledAt time.Time
}

// process is one started command and what was set up for it.
type process struct {
	group          *procgroup.Group
	stdout, stderr *logfile.Writer
	limits         appliedLimits
}

// Init kills what a previous daemon's instance of this module left running
// (see the package doc), before anything else.
func (e *Exec) Init(ctx context.Context, mc *modules.Context) error {
	e.mc = mc
	if mc.DataDir() == "" {
		return errors.New("exec needs a data dir for its logs, secret files and pid file")
	}
	if _, err := decode(mc.Config()); err != nil {
		return err
	}
	return killLeftovers(ctx, e.pidfilePath(), mc.Logger())
}

// Load does nothing: the process starts in Start.
func (e *Exec) Load(context.Context) error { return nil }

func (e *Exec) pidfilePath() string { return filepath.Join(e.mc.DataDir(), "exec.pid") }
func (e *Exec) secretsDir() string  { return filepath.Join(e.mc.DataDir(), "secrets") }
func (e *Exec) logPath(stream string) string {
	return filepath.Join(e.mc.DataDir(), "logs", stream+".log")
}

// Start writes the secret files, starts the process group with its limits,
// records it in the pid file, and hands its wait to a goroutine owned by the
// module's started period.
func (e *Exec) Start(ctx context.Context) error {
	s, err := decode(e.mc.Config())
	if err != nil {
		return err
	}
	// A failed module is started again without a Stop: end what is left
	// of its last process first.
	if err := e.Stop(ctx); err != nil {
		return err
	}
	if err := writeSecretFiles(e.secretsDir(), s.SecretFiles); err != nil {
		return err
	}
	p, err := e.launch(ctx, s)
	if err != nil {
		return errors.Join(err, removeSecretFiles(e.secretsDir()))
	}
	e.mu.Lock()
	e.s, e.proc, e.exited = s, p, time.Time{}
	e.mu.Unlock()

	attrs := []any{"pid", p.group.Pid(), "program", s.Command[0], "limits", p.limits.mode}
	if p.limits.note != "" {
		attrs = append(attrs, "limits_note", p.limits.note)
	}
	e.mc.Logger().Info("process started", attrs...)
	e.mc.Go("process", func(ctx context.Context) error { return e.wait(ctx, p) })
	return nil
}

// launch starts the process with its logs and limits, and records it in the
// pid file. On error nothing is left running.
func (e *Exec) launch(ctx context.Context, s settings) (*process, error) {
	own := map[string]string{"NEXUS_MODULE_ID": e.mc.ID()}
	if len(s.SecretFiles) > 0 {
		own["NEXUS_SECRETS_DIR"] = e.secretsDir()
	}
	cmd, err := procgroup.Command(s.Command, s.Dir, procgroup.Env(own, s.Env))
	if err != nil {
		return nil, err
	}
	p := &process{}
	size, files := s.logLimits()
	if p.stdout, err = logfile.Open(e.logPath("stdout"), size, files); err != nil {
		return nil, err
	}
	if p.stderr, err = logfile.Open(e.logPath("stderr"), size, files); err != nil {
		p.stdout.Close()
		return nil, err
	}
	p.limits = prepareLimits(e.mc.Limits(), e.mc.ID(), cmd)
	if p.group, err = procgroup.Start(cmd, p.stdout, p.stderr); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("start %s: %w", s.Command[0], err)
	}
	err = p.limits.afterStart(p.group.Pid())
	if err == nil {
		err = writePidfile(e.pidfilePath(), pidRecord{PGID: p.group.Pid(), StartTime: p.group.StartTime(), BootID: procgroup.BootID()})
	}
	if err != nil {
		err = errors.Join(err, p.group.Terminate(ctx, syscall.SIGKILL, 0))
		p.cleanup()
		return nil, fmt.Errorf("start %s: %w", s.Command[0], err)
	}
	return p, nil
}

// cleanup closes the logs and removes the cgroup, once the group is gone.
func (p *process) cleanup() error {
	return errors.Join(p.stdout.Close(), p.stderr.Close(), p.limits.release())
}

// wait waits for the process and returns how it ended, which the runtime
// takes as the module's exit. Should the started period end without Stop
// (a Stop abandoned at its deadline), the group is killed.
func (e *Exec) wait(ctx context.Context, p *process) error {
	select {
	case <-p.group.Done():
	case <-ctx.Done():
		if err := p.group.Terminate(context.Background(), syscall.SIGKILL, 0); err != nil {
			e.mc.Logger().Error("process group left running", "error", err)
		}
	}
	err := p.group.Err()
	if oerr := p.group.OutputErr(); oerr != nil {
		e.mc.Logger().Error("process output lost", "error", oerr)
	}
	e.mu.Lock()
	if e.proc == p {
		e.exited = time.Now()
	}
	e.mu.Unlock()
	if err != nil {
		e.mc.Logger().Warn("process exited", "pid", p.group.Pid(), "error", err)
		return err
	}
	e.mc.Logger().Info("process exited", "pid", p.group.Pid())
	return nil
}

// Stop ends the process group: stop_signal, then SIGKILL after
// timeouts.stop (or earlier, ahead of ctx's deadline). It then removes the
// pid file, the cgroup and the secret files. Stop is idempotent.
func (e *Exec) Stop(ctx context.Context) error {
	e.mu.Lock()
	p, s := e.proc, e.s
	e.mu.Unlock()
	var errs []error
	if p != nil {
		if err := p.group.Terminate(ctx, s.stopSignal(), procgroup.Grace(ctx, e.mc.Timeouts().Stop.D())); err != nil {
			// Keep the pid file: the next Init kills what is left.
			return fmt.Errorf("stop: %w", err)
		}
		e.mu.Lock()
		e.observe(p) // the last word of the cgroup, before it goes
		e.cpu.endRun()
		e.proc = nil
		e.mu.Unlock()
		errs = append(errs, p.cleanup(), removeIfExists(e.pidfilePath()))
	}
	errs = append(errs, removeSecretFiles(e.secretsDir()))
	return errors.Join(errs...)
}

// Unload stops what may still run (a failed module is unloaded without a
// Stop) and removes the secret files.
func (e *Exec) Unload(ctx context.Context) error { return e.Stop(ctx) }

// Reconfigure applies log_max_size_mb and log_max_files at once and rewrites
// the secret files in place (a process that rereads them sees new values);
// the other fields take effect at the next start.
func (e *Exec) Reconfigure(_ context.Context, cfg modules.Config) error {
	s, err := decode(cfg)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc != nil {
		size, files := s.logLimits()
		if err := errors.Join(e.proc.stdout.SetLimits(size, files), e.proc.stderr.SetLimits(size, files)); err != nil {
			return err
		}
		if err := writeSecretFiles(e.secretsDir(), s.SecretFiles); err != nil {
			return err
		}
		if sig, ok := s.reloadSignal(); ok && !maps.Equal(e.s.SecretFiles, s.SecretFiles) {
			// As systemd's ExecReload=kill -HUP $MAINPID: the leader, not
			// the whole group, is told to read its files again.
			if err := syscall.Kill(e.proc.group.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("send reload_signal %s: %w", s.ReloadSignal, err)
			}
			e.mc.Logger().Info("secret files rewritten; process signalled to reload them", "pid", e.proc.group.Pid(), "signal", strings.ToUpper(s.ReloadSignal))
		}
	}
	if changed := restartOnly(e.s, s); len(changed) > 0 {
		e.mc.Logger().Warn("config changes take effect at the next start", "fields", strings.Join(changed, ","))
	}
	e.s = s
	return nil
}

// restartOnly names the fields that differ between a and b and that only a
// new process can pick up.
func restartOnly(a, b settings) []string {
	var changed []string
	if !slices.Equal(a.Command, b.Command) {
		changed = append(changed, "command")
	}
	if !maps.Equal(a.Env, b.Env) {
		changed = append(changed, "env")
	}
	if a.Dir != b.Dir {
		changed = append(changed, "dir")
	}
	if a.StopSignal != b.StopSignal {
		changed = append(changed, "stop_signal")
	}
	return changed
}

// Health is live and ready while the process runs (a module `health` block
// gates real readiness); once it has exited it is neither, until the runtime
// restarts or fails it.
func (e *Exec) Health(context.Context) modules.Health {
	e.mu.Lock()
	p, exited := e.proc, e.exited
	e.mu.Unlock()
	if p == nil {
		return modules.Health{Status: modules.StatusUnhealthy, Details: map[string]string{"process": "not running"}}
	}
	d := map[string]string{"pid": strconv.Itoa(p.group.Pid()), "limits": p.limits.mode}
	if p.limits.note != "" {
		d["limits_note"] = p.limits.note
	}
	if !exited.IsZero() {
		d["exited_at"] = exited.UTC().Format(time.RFC3339Nano)
		if err := p.group.Err(); err != nil {
			d["exit"] = err.Error()
		} else {
			d["exit"] = "exit status 0"
		}
		return modules.Health{Status: modules.StatusUnhealthy, Details: d}
	}
	return modules.Health{Status: modules.StatusHealthy, Ready: true, Live: true, Details: d}
}

// usageMaxAge is how long a measurement of the process group is reused:
// without a cgroup, measuring reads /proc/<pid>/stat of every process on the
// host, and status, metrics and the state recorder all ask for usage.
const usageMaxAge = time.Second

// scanMaxAge is how long one scan of /proc serves the measurements of every
// exec module: a /metrics scrape measures them all within it.
const scanMaxAge = 250 * time.Millisecond

// Usage reports the process group's cpu seconds (never decreasing) and
// resident memory; memory is 0 when no process runs. A measurement is
// reused for up to a second.
func (e *Exec) Usage() modules.Usage {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return modules.Usage{CPUSeconds: e.cpu.total()}
	}
	now := time.Now()
	if e.sampleOf != e.proc || now.Sub(e.sampledAt) > usageMaxAge {
		e.sample, e.sampleOf, e.sampledAt = e.observe(e.proc), e.proc, now
	}
	return e.sample
}

// observe measures p: from its cgroup when one applies and accounts both
// cpu and memory, else from /proc. e.mu must be held.
func (e *Exec) observe(p *process) modules.Usage {
	if cg := p.limits.cg; cg != nil {
		cpu, cerr := cg.cpuSeconds()
		mem, merr := cg.memoryBytes()
		if cerr == nil && merr == nil {
			return modules.Usage{CPUSeconds: e.cpu.observeCgroup(cpu), MemoryMB: float64(mem) / (1 << 20)}
		}
	}
	members, err := procgroup.RecentMembers(p.group.Pid(), scanMaxAge)
	if err != nil {
		return modules.Usage{CPUSeconds: e.cpu.total()}
	}
	return modules.Usage{CPUSeconds: e.cpu.observe(members), MemoryMB: residentMB(members)}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

var (
	_ modules.Module        = (*Exec)(nil)
	_ modules.Reconfigurer  = (*Exec)(nil)
	_ modules.UsageReporter = (*Exec)(nil)
)
