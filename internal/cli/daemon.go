package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/daemon"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/telemetry"
	"github.com/nexus-run/nexus/internal/views"
)

func (a *App) daemonCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the nexus daemon",
		Long: `Daemon runs the runtime: it brings back the modules its projects' state says
are running, serves the API, keeps modules running, and on SIGTERM or SIGINT
stops them in reverse dependency order and persists their state. SIGHUP
reloads the roles and principals of --config.

With no --config it runs on the embedded defaults: data dir ./.nexus, the
API on ./.nexus/nexus.sock (mode 0600), HTTP on 127.0.0.1:7420 for /metrics,
/healthz, /readyz and the token API, the file state store, the file secret
provider at ./.nexus/secrets, the env provider, the audit log
./.nexus/audit.log. Every setting of --config is in the daemon config
reference (docs/daemon-config.md).`,
		Example: `  nexus daemon
  nexus daemon --config /etc/nexus/nexusd.hcl --log-format text
  systemctl reload nexus     # SIGHUP: reload roles and principals`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.daemonConfig(configPath)
			if err != nil {
				return err
			}
			// Logging must not wait on whoever reads stderr (journald, a
			// terminal): lines are written out by a goroutine of their own.
			logOut := telemetry.NewAsyncWriter(a.Stderr, 0)
			defer logOut.Close()
			log, err := telemetry.NewLogger(logOut, a.global.logFormat, a.global.logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := daemon.New(ctx, cfg, a.Registry, daemon.Options{Logger: log})
			if err != nil {
				return err
			}
			go a.reloadOnHUP(ctx, d, configPath, log)
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "daemon config `FILE` (nexusd.hcl); default: the embedded defaults")
	return cmd
}

// daemonConfig loads --config, or the embedded defaults.
func (a *App) daemonConfig(path string) (*daemoncfg.Config, error) {
	if path == "" {
		return daemoncfg.Default(), nil
	}
	cfg, files, diags := daemoncfg.LoadFile(path, nil)
	if err := a.reportDiags(diags, files); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (a *App) reloadOnHUP(ctx context.Context, d *daemon.Daemon, path string, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if path == "" {
			log.Info("SIGHUP: running on the embedded defaults, nothing to reload")
			continue
		}
		cfg, _, diags := daemoncfg.LoadFile(path, nil)
		if diags.HasErrors() {
			log.Error("SIGHUP: the daemon config has errors; keeping the old one", "error", diags.Error())
			continue
		}
		if err := d.Reload(cfg); err != nil {
			log.Error("SIGHUP: reload failed; keeping the old config", "error", err)
		}
	}
}

func (a *App) upCommand() *cobra.Command {
	var configPath string
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "up [DIR]",
		Short: "Run a topology in the foreground: daemon, apply, status; Ctrl-C stops it",
		Long: `Up starts a daemon in this process (on the embedded defaults unless --config
is given), applies DIR (default the current directory) without asking,
shows the status, and keeps the modules running until Ctrl-C, when it stops
them all cleanly. The daemon's log goes to <data dir>/daemon.log. While it
runs, other nexus commands in the same directory (status, plan, apply) talk
to it.`,
		Example: `  nexus up examples/quickstart
  nexus up --var beat_interval=5s examples/quickstart`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runUp(cmd, dirArg(args), configPath, &f)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "daemon config `FILE` (nexusd.hcl); default: the embedded defaults")
	f.plan.vars.register(cmd)
	a.executionFlags(cmd, &f)
	return cmd
}

func (a *App) runUp(cmd *cobra.Command, dir, configPath string, f *applyFlags) error {
	if err := checkTopologyDir(dir); err != nil {
		return err
	}
	cfg, err := a.daemonConfig(configPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(cfg.DataDir, "daemon.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	format := a.global.logFormat
	if format == "" {
		format = "json"
	}
	logOut := telemetry.NewAsyncWriter(logFile, 0)
	defer logOut.Close() // before logFile's Close: deferred calls run last first
	log, err := telemetry.NewLogger(logOut, format, a.global.logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, cfg, a.Registry, daemon.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		_ = d.Shutdown(context.WithoutCancel(ctx))
		return err
	}
	fmt.Fprintf(a.Stdout, "nexus daemon running (socket %s, log %s)\n\n", cfg.SocketPath(), logPath)
	if a.global.address == "" && cfg.SocketPath() != "" {
		a.global.address = "unix://" + cfg.SocketPath()
	}
	applyErr := a.upApply(cmd, dir, f)
	if applyErr == nil {
		fmt.Fprintln(a.Stdout)
		if err := a.upStatus(ctx); err != nil {
			applyErr = err
		}
	}
	if applyErr != nil {
		a.printUpError(applyErr)
		if ctx.Err() == nil {
			fmt.Fprintf(a.Stderr, "\nThe apply did not complete; the daemon keeps running what did start. Fix the problem above and run\n  nexus apply %s\nin another terminal, or press Ctrl-C and run nexus up again.\n", dir)
		}
	}
	if ctx.Err() == nil {
		fmt.Fprintln(a.Stdout, "\nRunning. Press Ctrl-C to stop every module and exit.")
		<-ctx.Done()
	}
	fmt.Fprintln(a.Stdout, "\nStopping modules...")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(a.Stdout, "Stopped. The state is saved; `nexus up` brings the modules back.")
	if applyErr != nil {
		return exitCode(1)
	}
	return nil
}

// upApply plans DIR through the in-process daemon and applies it.
func (a *App) upApply(cmd *cobra.Command, dir string, f *applyFlags) error {
	p, err := a.remotePlan(cmd, dir, &f.plan)
	if err != nil {
		return err
	}
	if err := views.Plan(a.Stdout, p, views.PlanOptions{Color: a.color(a.Stdout)}); err != nil {
		return err
	}
	if !p.HasChanges() {
		return nil
	}
	fmt.Fprintln(a.Stdout)
	return a.sendApply(cmd.Context(), p, f)
}

func (a *App) upStatus(ctx context.Context) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	s, err := c.Status(ctx, "")
	if err != nil {
		return a.explain(err)
	}
	return views.Status(a.Stdout, s, a.color(a.Stdout), time.Now())
}

func (a *App) printUpError(err error) {
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return // already reported
	}
	a.printError(err)
}
