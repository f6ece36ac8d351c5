package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/internal/state"
)

func (a *App) stateCommand() *cobra.Command {
	var project string
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Read and edit the state the daemon keeps",
		Long: `State reads and edits a project's state document through the daemon: list
its modules, show one, remove one from it, pull the document as JSON (what
"nexus plan --state FILE" reads), push one back, and list past serials.
Edits are audited. --project defaults to the project of the topology in the
current directory, else "default".`,
		Example: `  nexus state list
  nexus state show module.vitals.heartbeat
  nexus state pull > state.json && nexus plan --state state.json .
  nexus state rm module.tasks.old`,
	}
	cmd.PersistentFlags().StringVar(&project, "project", "", "the project whose state to use")
	get := func(cmd *cobra.Command) (*state.State, error) {
		c, err := a.client()
		if err != nil {
			return nil, err
		}
		st, err := c.State(cmd.Context(), projectName(project))
		if err != nil {
			return nil, a.explain(err)
		}
		return st, nil
	}
	list := &cobra.Command{
		Use: "list", Short: "List the addresses the state holds", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := get(cmd)
			if err != nil {
				return err
			}
			for _, addr := range st.Addresses() {
				fmt.Fprintln(a.Stdout, addr)
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use: "show ADDR", Short: "Show one module's record", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := get(cmd)
			if err != nil {
				return err
			}
			m := st.Modules[args[0]]
			if m == nil {
				return fmt.Errorf("the state of project %q has no %s (nexus state list shows what it has)", st.Project, args[0])
			}
			return a.showRecord(m)
		},
	}
	rm := &cobra.Command{
		Use: "rm ADDR...", Short: "Forget modules without stopping them (they must not be running)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.StateRm(cmd.Context(), &api.StateRmRequest{Project: projectName(project), Addresses: args})
			if err != nil {
				return a.explain(err)
			}
			fmt.Fprintf(a.Stdout, "Removed %d modules from the state (serial %d): %s\n", len(resp.Removed), resp.Serial, strings.Join(resp.Removed, ", "))
			return nil
		},
	}
	pull := &cobra.Command{
		Use: "pull", Short: "Print the state document as JSON", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := get(cmd)
			if err != nil {
				return err
			}
			buf, err := state.Encode(st)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.Stdout, string(buf))
			return err
		},
	}
	var force bool
	push := &cobra.Command{
		Use: "push FILE", Short: "Replace the state with a document (same lineage, newer serial)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			buf, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			st, err := state.Decode(buf)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if project != "" && project != st.Project {
				return fmt.Errorf("%s holds the state of project %q, not --project %q: the document names its project", args[0], st.Project, project)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.StatePush(cmd.Context(), &api.StatePushRequest{State: st, Force: force}); err != nil {
				return a.explain(err)
			}
			fmt.Fprintf(a.Stdout, "Pushed the state of project %q.\n", st.Project)
			return nil
		},
	}
	push.Flags().BoolVar(&force, "force", false, "push even when the lineage differs or the serial is not newer")
	history := &cobra.Command{
		Use: "history", Short: "List the state's recent serials", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := c.StateHistory(cmd.Context(), projectName(project), 20)
			if err != nil {
				return a.explain(err)
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tTIME\tMODULES\tREASON")
			for _, e := range h.Entries {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", e.Serial, e.Time.Local().Format("2006-01-02 15:04:05"), e.Modules, e.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list, show, rm, pull, push, history)
	return cmd
}

// showRecord prints one record: its fields, then its config as JSON with
// secrets as references.
func (a *App) showRecord(m *state.Module) error {
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "address\t%s\nid\t%s\nkind\t%s %s\nstate\t%s\nrestarts\t%d\nuptime_seconds\t%.0f\n",
		m.Spec.Address, m.Spec.ID, m.Spec.Kind, m.Spec.Version, m.State, m.Restarts, m.UptimeSeconds)
	if m.LastError != "" {
		fmt.Fprintf(tw, "last_error\t%s\n", m.LastError)
	}
	if len(m.Spec.DependsOn) > 0 {
		fmt.Fprintf(tw, "depends_on\t%s\n", strings.Join(m.Spec.DependsOn, ", "))
	}
	fmt.Fprintf(tw, "config_digest\t%s\n", m.ConfigDigest)
	if err := tw.Flush(); err != nil {
		return err
	}
	cfg := redact.New(nil, m.Spec.Sensitive).Object(m.Spec.Config.Value())
	buf, _ := json.MarshalIndent(cfg, "", "  ")
	_, err := fmt.Fprintf(a.Stdout, "config\n%s\n", buf)
	return err
}

func (a *App) forceUnlockCommand() *cobra.Command {
	var project string
	cmd := &cobra.Command{
		Use:   "force-unlock ID",
		Short: "Release a state lock its holder cannot release",
		Long: `Force-unlock releases the project's state lock with the given id (the error
of a blocked apply names it, with who holds it and since when). A lock
whose holder died is taken over without this; use it only when the holder
is alive but stuck, and never while an apply you want to keep is running.`,
		Example: `  nexus force-unlock 6f1c2f4e-2b7a-4c55-9d1e-0c3b8f0a9e11 --project payments`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.ForceUnlock(cmd.Context(), &api.ForceUnlockRequest{Project: projectName(project), ID: args[0]}); err != nil {
				return a.explain(err)
			}
			fmt.Fprintf(a.Stdout, "Released lock %s of project %q.\n", args[0], projectName(project))
			return nil
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "the project whose lock to release")
	return cmd
}
