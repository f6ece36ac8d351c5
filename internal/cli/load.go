package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/views"
)

// varFlags are the flags that feed variables, shared by plan and apply.
type varFlags struct {
	vars     []string
	varFiles []string
}

func (v *varFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&v.vars, "var", nil, "set a variable, given as `name=value` (repeatable; later wins)")
	cmd.Flags().StringArrayVar(&v.varFiles, "var-file", nil, "read variable values from an HCL `FILE` (repeatable; later wins)")
}

// options turns the flags into config options, reading var files from disk.
func (v *varFlags) options(a *App) (config.Options, error) {
	o := config.Options{Registry: a.Registry, Env: envMap(a.environ())}
	for _, kv := range v.vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return o, fmt.Errorf("--var %q must be name=value", kv)
		}
		o.Vars = append(o.Vars, config.VarAssignment{Name: name, Value: value})
	}
	for _, path := range v.varFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			return o, fmt.Errorf("--var-file: %w", err)
		}
		o.VarFiles = append(o.VarFiles, config.File{Name: path, Src: src})
	}
	return o, nil
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// dirArg returns the directory argument, default the current directory.
func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

// loadConfig loads dir and prints its diagnostics; it returns an error
// (already reported) when there are errors.
func (a *App) loadConfig(dir string, o config.Options) (*config.Config, error) {
	if err := checkTopologyDir(dir); err != nil {
		return nil, err
	}
	cfg, diags := config.LoadDir(dir, o)
	if err := a.reportDiags(diags, filesOf(cfg)); err != nil {
		return cfg, err
	}
	if len(cfg.Modules) == 0 && len(cfg.Files) == 0 {
		return cfg, fmt.Errorf("%s holds no *.nexus.hcl or *.nexus.json files", dir)
	}
	return cfg, nil
}

// checkTopologyDir says what is wrong when dir is not a directory.
func checkTopologyDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("there is no directory %s: give the directory of a topology (its *.nexus.hcl files)", dir)
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s is a file: give the directory of a topology (the one that holds its *.nexus.hcl files)", dir)
	}
	return nil
}

// reportDiags prints diagnostics to stderr and returns a silent exit error
// when any is an error.
func (a *App) reportDiags(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	if len(diags) == 0 {
		return nil
	}
	_ = views.Diagnostics(a.Stderr, diags, files, 0, a.color(a.Stderr))
	if diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}

func filesOf(cfg *config.Config) map[string]*hcl.File {
	if cfg == nil {
		return nil
	}
	return cfg.Files
}
