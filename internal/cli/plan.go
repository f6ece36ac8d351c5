package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/views"
	"github.com/nexus-run/nexus/planner"
)

// selectFlags choose what a plan covers; plan and apply share them.
type selectFlags struct {
	targets []string
	replace []string
	destroy bool
}

func (s *selectFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&s.targets, "target", nil, "plan only the module at `ADDR` and its dependencies (repeatable)")
	cmd.Flags().StringArrayVar(&s.replace, "replace", nil, "replace the module at `ADDR` even if unchanged (repeatable)")
	cmd.Flags().BoolVar(&s.destroy, "destroy", false, "plan to destroy every module (or the targets and their dependents)")
}

func (s *selectFlags) options() planner.Options {
	return planner.Options{Targets: s.targets, Replace: s.replace, Destroy: s.destroy}
}

type planFlags struct {
	vars             varFlags
	sel              selectFlags
	jsonOut          bool
	out              string
	detailedExitcode bool
	statePath        string
}

func (a *App) planCommand() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what apply would change",
		Long: `Plan loads the topology in DIR (default the current directory), diffs it
against the state and prints the actions apply would take, wave by wave.

By default the daemon plans (nexus sends it the files), so a custom build's
kinds and the daemon's secrets are known. With --state FILE nexus plans
offline against a state document as "nexus state pull" writes it (an empty
state when FILE does not exist); offline plans cannot check that secrets exist.

Exit codes: 0 no error; 1 error; with --detailed-exitcode, 2 when there are changes.`,
		Example: `  nexus plan examples/quickstart
  nexus plan --out plan.out --detailed-exitcode .      # CI: exit 2 when there are changes
  nexus plan --json --out plan.out . > plan.json       # the same plan, for a script
  nexus plan --state none.json examples/quickstart     # offline, no daemon
  nexus plan --target module.vitals.heartbeat --var beat_interval=5s .`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.makePlan(cmd, dirArg(args), &f)
			if err != nil {
				return err
			}
			return a.showPlan(p, &f)
		},
	}
	f.vars.register(cmd)
	f.sel.register(cmd)
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the plan as JSON (format_version 1.0) instead of text")
	cmd.Flags().StringVar(&f.out, "out", "", "save the plan to `FILE`, for \"nexus apply FILE\" to apply exactly it")
	cmd.Flags().BoolVar(&f.detailedExitcode, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when it has none")
	cmd.Flags().StringVar(&f.statePath, "state", "", "plan offline against the state document in `FILE` (from \"nexus state pull\"; a missing file is an empty state) instead of through the daemon")
	return cmd
}

// makePlan plans offline with --state, or through the daemon.
func (a *App) makePlan(cmd *cobra.Command, dir string, f *planFlags) (*planner.Plan, error) {
	if f.statePath == "" {
		return a.remotePlan(cmd, dir, f)
	}
	st, err := readStateFile(f.statePath)
	if err != nil {
		return nil, err
	}
	o, err := f.vars.options(a)
	if err != nil {
		return nil, err
	}
	cfg, err := a.loadConfig(dir, o)
	if err != nil {
		return nil, err
	}
	p, diags := planner.Make(cfg, st, f.sel.options())
	if err := a.reportDiags(diags, cfg.Files); err != nil {
		return nil, err
	}
	return p, nil
}

// readStateFile reads a state document; a missing file is an empty state.
func readStateFile(path string) (*state.State, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	st, err := state.Decode(buf)
	if err != nil {
		return nil, fmt.Errorf("--state %s: %w", path, err)
	}
	return st, nil
}

func (a *App) showPlan(p *planner.Plan, f *planFlags) error {
	if f.out != "" {
		if err := planner.WriteFile(f.out, p); err != nil {
			return err
		}
	}
	var err error
	if f.jsonOut {
		err = views.PlanJSON(a.Stdout, p)
	} else {
		err = views.Plan(a.Stdout, p, views.PlanOptions{Color: a.color(a.Stdout)})
		if err == nil && f.out != "" {
			fmt.Fprintf(a.Stdout, "\nSaved the plan to %s. To apply exactly it, run:\n  nexus apply %s\n", f.out, f.out)
		}
	}
	if err != nil {
		return err
	}
	if f.detailedExitcode && p.HasChanges() {
		return exitCode(2)
	}
	return nil
}
