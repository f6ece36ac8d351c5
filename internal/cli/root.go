package cli

import (
	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/version"
)

const rootLong = `nexus is a declarative orchestrator for long-running modules.

Keep your module topology in *.nexus.hcl files; nexus plan shows what would
change, nexus apply makes it so, and nexus daemon keeps the modules running.

Start here:
  nexus up examples/quickstart    run a topology in the foreground
  nexus validate DIR              check a topology
  nexus plan DIR                  show what apply would do`

func (a *App) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "nexus",
		Short:         "A declarative orchestrator for long-running modules",
		Long:          rootLong,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("nexus {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.global.address, "address", "", "daemon address: unix:///path/to.sock or https://host:port (env NEXUS_ADDR; default the local socket ./.nexus/nexus.sock)")
	pf.StringVar(&a.global.token, "token", "", "bearer token for a TCP daemon address (env NEXUS_TOKEN)")
	pf.BoolVar(&a.global.noColor, "no-color", false, "disable coloured output")
	pf.StringVar(&a.global.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&a.global.logFormat, "log-format", "", "log format: json or text (default json for the daemon, text on a terminal)")

	root.AddCommand(
		a.versionCommand(),
		a.validateCommand(),
		a.fmtCommand(),
		a.graphCommand(),
		a.planCommand(),
		a.applyCommand(),
		a.destroyCommand(),
		a.statusCommand(),
		a.stateCommand(),
		a.forceUnlockCommand(),
		a.auditCommand(),
		a.secretsCommand(),
		a.tokenCommand(),
		a.daemonCommand(),
		a.upCommand(),
	)
	return root
}

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nexus version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Printf("nexus %s\n", version.Version)
			return nil
		},
	}
}
