package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/views"
	"github.com/nexus-run/nexus/planner"
)

type applyFlags struct {
	plan        planFlags
	autoApprove bool
	parallelism int
	strategy    string
	lockTimeout time.Duration
}

func (a *App) applyCommand() *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE | DIR]",
		Short: "Make the running modules match the topology",
		Long: `Apply carries out a plan through the daemon: lifecycle transitions run in
parallel, dependencies first, each persisted as it finishes.

With a DIR (default the current directory) apply plans first, shows the plan
and asks for "yes" unless --auto-approve is given; it refuses to ask when
stdin is not a terminal. With a PLANFILE saved by "nexus plan --out" it
applies exactly that plan, and refuses it if the state moved on since.

Ctrl-C lets running transitions finish and starts no new ones; a second
Ctrl-C cancels the running ones too. Exit code 1 when a transition failed
or was never started.`,
		Example: `  nexus apply examples/quickstart           # plan, show the plan, ask for yes
  nexus apply --auto-approve .
  nexus plan --out plan.out . && nexus apply plan.out`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runApply(cmd, args, &f, false)
		},
	}
	f.plan.vars.register(cmd)
	f.plan.sel.register(cmd)
	a.applyRunFlags(cmd, &f)
	return cmd
}

func (a *App) destroyCommand() *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "destroy [DIR]",
		Short: "Stop and unload every module of the topology",
		Long: `Destroy plans the destruction of every module the state of DIR's project
holds (dependents first), shows it, asks for "yes" unless --auto-approve is
given, and applies it. It is "nexus apply --destroy".`,
		Example: `  nexus destroy examples/quickstart
  nexus destroy --auto-approve --target module.vitals.heartbeat .`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.plan.sel.destroy = true
			return a.runApply(cmd, args, &f, true)
		},
	}
	f.plan.vars.register(cmd)
	cmd.Flags().StringArrayVar(&f.plan.sel.targets, "target", nil, "destroy only the module at `ADDR` and its dependents (repeatable)")
	a.applyRunFlags(cmd, &f)
	return cmd
}

func (a *App) applyRunFlags(cmd *cobra.Command, f *applyFlags) {
	cmd.Flags().BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().BoolVar(&f.plan.jsonOut, "json", false, "print the apply's events as NDJSON (Terraform's apply -json shape)")
	a.executionFlags(cmd, f)
}

// executionFlags are how an apply runs, shared by apply, destroy and up.
func (a *App) executionFlags(cmd *cobra.Command, f *applyFlags) {
	cmd.Flags().IntVar(&f.parallelism, "parallelism", 10, "run at most `N` transitions at once")
	cmd.Flags().StringVar(&f.strategy, "strategy", "eager", "eager: start each transition as soon as its dependencies are done; waves: wave after wave")
	cmd.Flags().DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for the project's state lock when another apply holds it (0: fail at once)")
}

func (a *App) runApply(cmd *cobra.Command, args []string, f *applyFlags, destroy bool) error {
	p, fromFile, err := a.planForApply(cmd, args, f)
	if err != nil {
		return err
	}
	if !p.HasChanges() {
		if f.plan.jsonOut {
			return views.PlanJSON(a.Stdout, p)
		}
		return views.Plan(a.Stdout, p, views.PlanOptions{Color: a.color(a.Stdout)})
	}
	switch {
	case fromFile:
	case !f.autoApprove:
		if err := a.confirm(p, destroy); err != nil {
			return err
		}
	case !f.plan.jsonOut:
		// Approved in advance, the plan is still shown, as Terraform does.
		if err := views.Plan(a.Stdout, p, views.PlanOptions{Color: a.color(a.Stdout)}); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout)
	}
	return a.sendApply(cmd.Context(), p, f)
}

// planForApply reads a saved plan, or plans a directory through the daemon.
func (a *App) planForApply(cmd *cobra.Command, args []string, f *applyFlags) (*planner.Plan, bool, error) {
	if len(args) == 1 {
		fi, err := os.Stat(args[0])
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("there is no file or directory %s: give a plan saved with nexus plan --out, or the directory of a topology", args[0])
		}
		if err == nil && !fi.IsDir() {
			p, err := planner.ReadFile(args[0])
			if err != nil {
				return nil, false, fmt.Errorf("%w (give a plan saved with nexus plan --out, or a directory)", err)
			}
			return p, true, nil
		}
	}
	p, err := a.remotePlan(cmd, dirArg(args), &f.plan)
	return p, false, err
}

// confirm shows the plan and asks for "yes" on a terminal.
func (a *App) confirm(p *planner.Plan, destroy bool) error {
	if err := views.Plan(a.Stdout, p, views.PlanOptions{Color: a.color(a.Stdout)}); err != nil {
		return err
	}
	in, ok := a.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return errors.New("apply needs a confirmation and stdin is not a terminal: pass --auto-approve, or apply a plan saved with nexus plan --out")
	}
	what := "perform these actions"
	if destroy {
		what = "destroy every module listed above"
	}
	fmt.Fprintf(a.Stdout, "\nDo you want to %s?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", what)
	line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return &exitError{code: 1, err: errors.New("apply cancelled: nothing was changed")}
	}
	fmt.Fprintln(a.Stdout)
	return nil
}

// sendApply streams the apply and renders it. The first Ctrl-C asks the
// daemon to start nothing new, the second to cancel what runs.
func (a *App) sendApply(parent context.Context, p *planner.Plan, f *applyFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	id := uuid.NewString()
	view := a.applyView(f.plan.jsonOut, p)
	// On a terminal, notices go above a live display rather than through it.
	notices := a.Stderr
	if w, ok := view.(io.Writer); ok && isTerminal(a.Stderr) {
		notices = w
	}
	done := make(chan struct{})
	var relay sync.WaitGroup
	defer relay.Wait()
	defer close(done)
	relay.Go(func() { a.relayInterrupts(parent, c, id, done, notices) })
	req := &api.ApplyRequest{Plan: p, Parallelism: f.parallelism, Strategy: f.strategy, LockTimeout: f.lockTimeout.String()}
	if f.parallelism <= 0 {
		req.Parallelism = -1
	}
	// The stream is read on the parent context: an interrupt must not cut
	// it, so that the summary arrives.
	sum, err := c.Apply(parent, id, req, view.Message)
	view.Close()
	if err != nil {
		return a.explain(err)
	}
	if sum.Failed > 0 || sum.NotStarted > 0 {
		return exitCode(1)
	}
	return nil
}

// relayInterrupts turns Ctrl-C into the daemon's cancel calls until done,
// telling the user on notices.
func (a *App) relayInterrupts(ctx context.Context, c *client.Client, id string, done <-chan struct{}, notices io.Writer) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for n := 1; ; n++ {
		select {
		case <-done:
			return
		case <-sigs:
		}
		if n == 1 {
			fmt.Fprintln(notices, "\nInterrupt received: letting running transitions finish, starting no new ones. Press Ctrl-C again to cancel them.")
			_ = c.Cancel(context.WithoutCancel(ctx), id, false)
			continue
		}
		fmt.Fprintln(notices, "Second interrupt: cancelling the running transitions.")
		_ = c.Cancel(context.WithoutCancel(ctx), id, true)
		return
	}
}

// applyView picks how an apply is shown: the NDJSON stream with --json, a
// live progress display on a terminal that can redraw (not TERM=dumb, and
// one that reports its size), else one plain line per finished transition,
// as CI logs want.
func (a *App) applyView(jsonOut bool, p *planner.Plan) views.ApplyView {
	switch {
	case jsonOut:
		return views.NewApplyJSON(a.Stdout)
	case a.canRedraw(a.Stdout):
		return views.NewApplyProgress(a.Stdout, p, views.ProgressOptions{Color: a.color(a.Stdout)})
	}
	return views.NewApplyPlain(a.Stdout, a.color(a.Stdout))
}

// canRedraw reports whether w is a terminal a progress display can redraw.
func (a *App) canRedraw(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || a.getenv("TERM") == "dumb" {
		return false
	}
	width, height, err := term.GetSize(int(f.Fd()))
	return err == nil && width > 0 && height > 0
}
