package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/views"
)

func (a *App) validateCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a topology for mistakes",
		Long: `Validate loads every *.nexus.hcl and *.nexus.json file of DIR (default the
current directory) and reports every mistake it finds, with file, line and
column. It needs no daemon and no state: run it in CI and in editors.
Exit code 1 when there is an error.`,
		Example: `  nexus validate examples/quickstart
  nexus validate --json . | jq -r '.diagnostics[].summary'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirArg(args)
			if err := checkTopologyDir(dir); err != nil {
				return err
			}
			cfg, diags := config.LoadDir(dir, config.Options{Registry: a.Registry, Env: envMap(a.environ())})
			if jsonOut {
				if err := views.ValidateJSON(a.Stdout, diags, filesOf(cfg)); err != nil {
					return err
				}
				if diags.HasErrors() {
					return exitCode(1)
				}
				return nil
			}
			if err := a.reportDiags(diags, filesOf(cfg)); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "%s The configuration is valid: %d modules.\n", palette{on: a.color(a.Stdout)}.green("Success!"), len(cfg.Modules))
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON (Terraform's validate -json shape)")
	return cmd
}
