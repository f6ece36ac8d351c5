package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/nexus-run/nexus/internal/logfile"
	"github.com/nexus-run/nexus/internal/periodic"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Command      []string          `json:"command"`
	Every        string            `json:"every"`
	Cron         string            `json:"cron"`
	Timeout      string            `json:"timeout"`
	Overlap      string            `json:"overlap"`
	Env          map[string]string `json:"env"`
	Dir          string            `json:"dir"`
	LogMaxSizeMB float64           `json:"log_max_size_mb"`
	LogMaxFiles  float64           `json:"log_max_files"`
}

// The overlap policies.
const (
	overlapSkip  = "skip"
	overlapAllow = "allow"
	overlapQueue = "queue"
)

// config is a checked settings.
type config struct {
	command  []string
	every    time.Duration // when cron is nil
	cron     cron.Schedule
	timeout  time.Duration // 0: none
	overlap  string
	env      map[string]string
	dir      string
	logSize  int64
	logFiles int
}

func validate(c modules.Config) error {
	_, err := decode(c)
	return err
}

func decode(c modules.Config) (config, error) {
	var s settings
	if err := c.Decode(&s); err != nil {
		return config{}, err
	}
	cfg := config{command: s.Command, overlap: s.Overlap, env: s.Env, dir: s.Dir}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return cfg, errors.New("command must name a program")
	}
	switch {
	case (s.Every == "") == (s.Cron == ""):
		return cfg, errors.New("set exactly one of every and cron")
	case s.Every != "":
		d, err := time.ParseDuration(s.Every)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("every %q must be a positive duration like \"24h\"", s.Every)
		}
		cfg.every = d
	default:
		sched, err := cron.ParseStandard(s.Cron)
		if err != nil {
			return cfg, fmt.Errorf("cron %q: %w", s.Cron, err)
		}
		cfg.cron = sched
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("timeout %q must be a positive duration like \"10m\"", s.Timeout)
		}
		cfg.timeout = d
	}
	switch s.Overlap {
	case overlapSkip, overlapAllow, overlapQueue:
	default:
		return cfg, fmt.Errorf("overlap %q must be skip, allow or queue", s.Overlap)
	}
	var err error
	if cfg.logSize, cfg.logFiles, err = logfile.ConfigLimits(s.LogMaxSizeMB, s.LogMaxFiles); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// New returns a schedule module.
func New() modules.Module { return &Schedule{} }

// Schedule is the schedule kind's module. Its methods are safe for
// concurrent use.
type Schedule struct {
	mc      *modules.Context
	loop    *periodic.Loop // nil when not started
	skipped prometheus.Counter

	// Runs are goroutines of the module's own, not Context.Go ones: a run
	// that ends is not the module exiting. Stop cancels and awaits them.
	runs       sync.WaitGroup
	runCtx     context.Context
	cancelRuns context.CancelFunc

	mu             sync.Mutex
	cfg            config
	stdout, stderr *logfile.Writer
	due            time.Time // the next scheduled run
	gate           gate
	stopping       bool
	stopGrace      time.Duration // SIGTERM to SIGKILL for runs cut short by Stop
	last           *runRecord    // nil before the first run
}

// blob is what the module saves on stop.
type blob struct {
	LastRun *runRecord `json:"last_run,omitempty"`
}

// Init checks the config.
func (s *Schedule) Init(_ context.Context, mc *modules.Context) error {
	s.mc = mc
	if mc.DataDir() == "" {
		return errors.New("schedule needs a data dir for its logs")
	}
	s.skipped = mc.Metrics().Counter("runs_skipped_total", "Scheduled runs not started because the last run went on (overlap skip, or queue with a run pending).")
	_, err := decode(mc.Config())
	return err
}

// Load restores the last run's record from the saved blob.
func (s *Schedule) Load(context.Context) error {
	b := s.mc.Blob()
	if len(b) == 0 {
		return nil
	}
	var saved blob
	if err := json.Unmarshal(b, &saved); err != nil {
		s.mc.Logger().Warn("saved schedule state unreadable; starting without the last run's record", "error", err)
		return nil
	}
	s.mu.Lock()
	s.last = saved.LastRun
	s.mu.Unlock()
	return nil
}

// Start opens the logs and schedules the first run.
func (s *Schedule) Start(ctx context.Context) error {
	cfg, err := decode(s.mc.Config())
	if err != nil {
		return err
	}
	// A failed module is started again without a Stop: end its last
	// period's runs and close its logs first.
	if err := s.Stop(ctx); err != nil {
		return err
	}
	stdout, err := logfile.Open(filepath.Join(s.mc.DataDir(), "logs", "stdout.log"), cfg.logSize, cfg.logFiles)
	if err != nil {
		return err
	}
	stderr, err := logfile.Open(filepath.Join(s.mc.DataDir(), "logs", "stderr.log"), cfg.logSize, cfg.logFiles)
	if err != nil {
		stdout.Close()
		return err
	}
	now := time.Now()
	s.runCtx, s.cancelRuns = context.WithCancel(context.Background())
	s.mu.Lock()
	s.cfg, s.stdout, s.stderr = cfg, stdout, stderr
	s.due = nextRun(cfg, now, now)
	s.gate = gate{policy: cfg.overlap}
	s.stopping = false
	s.mu.Unlock()
	s.loop = periodic.Start(s.mc, "schedule", s.next, s.tick)
	return nil
}

func (s *Schedule) next(time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.due
}

// tick is called when a run is due: it starts, queues or skips one, and
// schedules the next.
func (s *Schedule) tick(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.gate.tick() {
	case tickStart:
		s.startRun(s.cfg)
	case tickQueued:
		s.mc.Logger().Debug("run queued: the last run goes on")
	case tickSkipped:
		// Counted rather than logged: a short interval would flood the log.
		s.skipped.Inc()
	}
	s.due = nextRun(s.cfg, s.due, time.Now())
}

// Stop stops the schedule, ends the runs in progress (SIGTERM, then SIGKILL
// after timeouts.stop or ahead of ctx's deadline), closes the logs and saves
// the last run's record.
func (s *Schedule) Stop(ctx context.Context) error {
	if s.loop == nil {
		return nil
	}
	if err := s.loop.Stop(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.stopping, s.stopGrace = true, procgroup.Grace(ctx, s.mc.Timeouts().Stop.D())
	s.mu.Unlock()
	s.cancelRuns()
	done := make(chan struct{})
	go func() { s.runs.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("runs still going at the stop deadline: %w", ctx.Err())
	}
	s.loop = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(blob{LastRun: s.last})
	s.mc.SaveBlob(b)
	return errors.Join(s.stdout.Close(), s.stderr.Close())
}

// Unload does nothing.
func (s *Schedule) Unload(context.Context) error { return nil }

// Reconfigure applies every field in place: the schedule counts from now,
// runs in progress go on with the config they started with, and the log
// limits apply at the next write.
func (s *Schedule) Reconfigure(_ context.Context, c modules.Config) error {
	cfg, err := decode(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	if s.loop == nil {
		return nil
	}
	if err := errors.Join(s.stdout.SetLimits(cfg.logSize, cfg.logFiles), s.stderr.SetLimits(cfg.logSize, cfg.logFiles)); err != nil {
		return err
	}
	now := time.Now()
	s.due = nextRun(cfg, now, now)
	s.gate.policy = cfg.overlap
	s.loop.Wake()
	return nil
}

// Health is ready and live once started; degraded while the last run
// failed.
func (s *Schedule) Health(context.Context) modules.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := modules.Health{Status: modules.StatusHealthy, Ready: true, Live: true, Details: map[string]string{
		"next_run": "never",
		"running":  strconv.Itoa(s.gate.running),
	}}
	if !s.due.IsZero() {
		h.Details["next_run"] = s.due.UTC().Format(time.RFC3339Nano)
	}
	if r := s.last; r != nil {
		h.Details["last_run_start"] = r.Start.UTC().Format(time.RFC3339Nano)
		h.Details["last_run_duration"] = r.Duration.String()
		h.Details["last_exit_code"] = strconv.Itoa(r.ExitCode)
		if r.Error != "" {
			h.Status = modules.StatusDegraded
			h.Details["last_error"] = r.Error
		}
	}
	return h
}

var (
	_ modules.Module       = (*Schedule)(nil)
	_ modules.Reconfigurer = (*Schedule)(nil)
)
