package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/config"
)

func (a *App) graphCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print the dependency graph as Graphviz dot or Mermaid",
		Long: `Graph prints the topology's module instances and their dependencies: solid
edges are hard dependencies (depends_on and references), dashed edges are
soft ones (after). It needs no daemon. Pipe dot output to Graphviz's
"dot -Tsvg"; paste Mermaid output into Markdown.`,
		Example: `  nexus graph examples/quickstart | dot -Tsvg > topology.svg
  nexus graph --format mermaid examples/quickstart`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig(dirArg(args), config.Options{Registry: a.Registry, Env: envMap(a.environ())})
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				return writeDot(a.Stdout, cfg)
			case "mermaid":
				return writeMermaid(a.Stdout, cfg)
			}
			return fmt.Errorf("--format %q: use dot or mermaid", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	return cmd
}

func writeDot(w io.Writer, cfg *config.Config) error {
	var b strings.Builder
	b.WriteString("digraph nexus {\n  rankdir = \"RL\";\n  node [shape = box];\n")
	for _, m := range cfg.Modules {
		fmt.Fprintf(&b, "  %q [label = %q];\n", m.Spec.Address, m.Spec.ID+"\n("+m.Spec.Kind+")")
	}
	for _, m := range cfg.Modules {
		for _, d := range m.Spec.DependsOn {
			fmt.Fprintf(&b, "  %q -> %q;\n", m.Spec.Address, d)
		}
		for _, d := range m.Spec.After {
			fmt.Fprintf(&b, "  %q -> %q [style = dashed];\n", m.Spec.Address, d)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMermaid(w io.Writer, cfg *config.Config) error {
	ids := make(map[string]string, len(cfg.Modules))
	var b strings.Builder
	b.WriteString("flowchart RL\n")
	for i, m := range cfg.Modules {
		ids[m.Spec.Address] = fmt.Sprintf("m%d", i)
		fmt.Fprintf(&b, "  m%d[\"%s<br/>(%s)\"]\n", i, mermaidEscape(m.Spec.ID), m.Spec.Kind)
	}
	for _, m := range cfg.Modules {
		for _, d := range m.Spec.DependsOn {
			fmt.Fprintf(&b, "  %s --> %s\n", ids[m.Spec.Address], ids[d])
		}
		for _, d := range m.Spec.After {
			fmt.Fprintf(&b, "  %s -.-> %s\n", ids[m.Spec.Address], ids[d])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mermaidEscape(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
