package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/version"
)

const rootLong = `nexus is a declarative orchestrator for long-running modules.

Keep your module topology in *.nexus.hcl files: "nexus plan" shows what would
change, "nexus apply" makes it so, and "nexus daemon" keeps the modules
running, restarts what crashes, and records every operation in an audit log.

Start here:
  nexus up examples/quickstart    run a topology in the foreground
  nexus validate DIR              check a topology for mistakes
  nexus plan DIR                  show what apply would change
  nexus apply DIR                 make it so

Commands that talk to the daemon find it at --address (or NEXUS_ADDR), by
default the local socket ./.nexus/nexus.sock.

Exit codes: 0 success; 1 error; 2 changes present (plan --detailed-exitcode);
3 files need formatting (fmt --check).`

// The groups of the root help, in the order it lists them.
var commandGroups = []struct {
	id, title string
	commands  []string
}{
	{"topology", "Write and check a topology:", []string{"validate", "fmt", "graph"}},
	{"change", "Plan and apply changes:", []string{"plan", "apply", "destroy"}},
	{"run", "Run and watch modules:", []string{"up", "daemon", "status"}},
	{"admin", "State, audit and access:", []string{"state", "force-unlock", "audit", "secrets", "token"}},
	{"other", "Other commands:", []string{"version"}},
}

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
	pf.StringVar(&a.global.address, "address", "", "daemon `address`: unix:///path/to.sock or https://host:port (env NEXUS_ADDR; default the local socket ./.nexus/nexus.sock)")
	pf.StringVar(&a.global.token, "token", "", "bearer `token` for a TCP daemon address (env NEXUS_TOKEN)")
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
		a.docsCommand(),
	)
	groupCommands(root)
	addUsageHints(root)
	a.addCompletions(root)
	return root
}

// groupCommands sorts the root's commands into the help's groups.
func groupCommands(root *cobra.Command) {
	group := map[string]string{}
	for _, g := range commandGroups {
		root.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
		for _, name := range g.commands {
			group[name] = g.id
		}
	}
	for _, c := range root.Commands() {
		c.GroupID = group[c.Name()]
	}
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
}

// addUsageHints makes a wrong flag or a wrong number of arguments say where
// to look: the command's usage line and its --help.
func addUsageHints(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' to see its flags.", err, c.CommandPath())
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return fmt.Errorf("%s: %w\nUsage: %s (see '%s --help')", cmd.CommandPath(), err, cmd.UseLine(), cmd.CommandPath())
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
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
