package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/views"
)

func (a *App) statusCommand() *cobra.Command {
	var jsonOut, watch, wide bool
	var project string
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the modules the daemon runs",
		Long: `Status lists every module of every project the daemon runs (or --project's):
its kind, lifecycle state, health, uptime since its last start, and
restarts; --wide adds its resource use (CPU time and memory of its
processes, the operations it tracked and how many failed). --watch redraws
the table every --interval until Ctrl-C.
"nexus state show ADDR" shows one module's whole record.`,
		Example: `  nexus status
  nexus status --watch --project payments
  nexus status --wide
  nexus status --json | jq -r '.projects[].modules[] | select(.health.status != "healthy") | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			show := func(ctx context.Context) error {
				s, err := c.Status(ctx, project)
				if err != nil {
					return a.explain(err)
				}
				if jsonOut {
					return views.StatusJSON(a.Stdout, s)
				}
				return views.StatusTable(a.Stdout, s, views.StatusOptions{Color: a.color(a.Stdout), Wide: wide, Now: time.Now()})
			}
			if !watch {
				return show(cmd.Context())
			}
			return a.watch(cmd.Context(), every, show)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the status as JSON")
	cmd.Flags().BoolVar(&watch, "watch", false, "refresh the status in place until Ctrl-C")
	cmd.Flags().BoolVar(&wide, "wide", false, "add each module's resource use: CPU time, memory, tracked requests and errors")
	cmd.Flags().DurationVar(&every, "interval", 2*time.Second, "how often --watch refreshes")
	cmd.Flags().StringVar(&project, "project", "", "show only this project")
	return cmd
}

// watch redraws show's output in place (clearing the terminal) until
// Ctrl-C; off a terminal it prints each refresh one after another.
func (a *App) watch(ctx context.Context, every time.Duration, show func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := time.NewTicker(every)
	defer t.Stop()
	tty := a.color(a.Stdout) || isTerminal(a.Stdout)
	for {
		if tty {
			fmt.Fprint(a.Stdout, "\x1b[H\x1b[2J")
			fmt.Fprintf(a.Stdout, "Every %s: nexus status    %s\n\n", every, time.Now().Format(time.TimeOnly))
		}
		if err := show(ctx); err != nil {
			return err
		}
		if !tty {
			fmt.Fprintln(a.Stdout)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// projectName is --project, else the project of the topology in the
// current directory, else "default".
func projectName(flag string) string {
	if flag != "" {
		return flag
	}
	files, _ := filepath.Glob("*.nexus.hcl")
	p := hclparse.NewParser()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		file, diags := p.ParseHCL(src, f)
		if diags.HasErrors() {
			continue
		}
		content, _, _ := file.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "nexus"}}})
		for _, b := range content.Blocks {
			attrs, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "project"}}})
			if at, ok := attrs.Attributes["project"]; ok {
				if v, diags := at.Expr.Value(nil); !diags.HasErrors() && v.Type().FriendlyName() == "string" {
					return v.AsString()
				}
			}
		}
	}
	return "default"
}
