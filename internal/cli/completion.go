package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/config"
)

// Shell completion beyond command and flag names, which cobra does by
// itself: directories for DIR arguments, files for file flags, the fixed
// choices of enumerated flags, module addresses of the topology for
// --target and --replace, and the daemon's addresses for state show and rm.
// `nexus completion bash|zsh|fish|powershell` prints the script.

// flagChoices are the values of enumerated flags, by flag name.
var flagChoices = map[string][]string{
	"format":     {"dot", "mermaid"},
	"strategy":   {"eager", "waves"},
	"log-format": {"json", "text"},
	"log-level":  {"debug", "info", "warn", "error"},
}

// fileFlags are flags naming a file, with the extensions to offer (none:
// any file).
var fileFlags = map[string][]string{
	"var-file": {"hcl", "json"},
	"config":   {"hcl", "json"},
	"state":    {"json"},
	"out":      nil,
}

// addCompletions registers the completions on every command of root.
func (a *App) addCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.ValidArgsFunction == nil {
			c.ValidArgsFunction = a.argCompletion(c)
		}
		for name, choices := range flagChoices {
			registerFlagCompletion(c, name, cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp))
		}
		for name, exts := range fileFlags {
			registerFlagCompletion(c, name, fileCompletion(exts))
		}
		for _, name := range []string{"target", "replace"} {
			registerFlagCompletion(c, name, a.completeConfigAddrs)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// registerFlagCompletion registers fn for c's own flag name, if c has it.
// A persistent flag is registered once, on the command that defines it.
func registerFlagCompletion(c *cobra.Command, name string, fn cobra.CompletionFunc) {
	if c.LocalNonPersistentFlags().Lookup(name) == nil && c.PersistentFlags().Lookup(name) == nil {
		return
	}
	_ = c.RegisterFlagCompletionFunc(name, fn)
}

func fileCompletion(exts []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(exts) == 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// argCompletion picks the completion of c's positional arguments from its
// usage line.
func (a *App) argCompletion(c *cobra.Command) cobra.CompletionFunc {
	use := c.Use
	switch {
	case strings.Contains(use, "PLANFILE"), strings.Contains(use, "FILE"):
		return onlyFirst(cobra.ShellCompDirectiveDefault)
	case strings.Contains(use, "DIR"):
		return onlyFirst(cobra.ShellCompDirectiveFilterDirs)
	case strings.Contains(use, "ADDR") && c.Parent() != nil && c.Parent().Name() == "state":
		return a.completeStateAddrs
	}
	return cobra.NoFileCompletions
}

// onlyFirst completes the first argument with directive, and nothing after.
func onlyFirst(directive cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, directive
	}
}

// completeConfigAddrs offers the module addresses of the topology in the
// command's DIR argument (default the current directory), loaded offline.
func (a *App) completeConfigAddrs(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, _ := config.LoadDir(dirArg(args), config.Options{Registry: a.Registry, AllowUnknownKinds: true, Env: envMap(a.environ())})
	var out []cobra.Completion
	for _, m := range cfg.Modules {
		if strings.HasPrefix(m.Spec.Address, toComplete) {
			out = append(out, m.Spec.Address)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeStateAddrs offers the addresses of the project's state, asking the
// daemon briefly; no daemon, no suggestions.
func (a *App) completeStateAddrs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if cmd.Name() == "show" && len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	project, _ := cmd.Flags().GetString("project")
	parent := cmd.Context()
	if parent == nil { // cobra leaves it unset on the command being completed
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, 2*time.Second)
	defer cancel()
	st, err := c.State(ctx, projectName(project))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, addr := range st.Addresses() {
		if strings.HasPrefix(addr, toComplete) {
			out = append(out, addr)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
