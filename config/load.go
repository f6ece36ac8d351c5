package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The file name suffixes of a configuration directory.
const (
	// FileSuffix ends a topology file in HCL's native syntax.
	FileSuffix = ".nexus.hcl"
	// JSONFileSuffix ends a topology file in HCL's JSON syntax.
	JSONFileSuffix = ".nexus.json"
	// AutoVarsFileSuffix ends a variable values file loaded automatically,
	// in name order, after NEXUS_VAR_* and before -var-file.
	AutoVarsFileSuffix = ".auto.nexusvars.hcl"
)

// LoadDir reads every *.nexus.hcl, *.nexus.json and *.auto.nexusvars.hcl file
// of dir (not recursive, see ReadDir) and loads them with Load. file() reads
// relative to dir unless opts.ReadFile is set.
func LoadDir(dir string, opts Options) (*Config, hcl.Diagnostics) {
	files, err := ReadDir(dir)
	if err != nil {
		cfg := newConfig(dir)
		return cfg, hcl.Diagnostics{errorDiag(nil, "Failed to read configuration directory",
			"%s. Check that the directory exists and is readable.", err)}
	}
	return Load(dir, files, opts)
}

// ReadDir returns the files LoadDir would load, by base name: the regular
// files (or links to them) of dir whose names end in FileSuffix,
// JSONFileSuffix or AutoVarsFileSuffix, except names starting with "." or "#"
// (editor and lock files). It does not descend into subdirectories. The CLI
// sends these files to the daemon.
func ReadDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read config dir: %w", err)
	}
	files := make(map[string][]byte)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || kindOfFile(name) == fileNone {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := os.Stat(path) // follows links
		if err != nil {
			return nil, fmt.Errorf("read config dir: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config dir: %w", err)
		}
		files[name] = src
	}
	return files, nil
}

// Load loads an in-memory file set (base name → source), as the daemon does
// with the files a client sent. dir names the directory the files came from:
// diagnostics and Config.Files name each file dir/name (just name when dir is
// ""), and file() reads relative to dir unless opts.ReadFile is set.
//
// Load never returns a nil Config. Alongside errors it holds Files (for
// diagnostic snippets) and every module instance that loaded without error,
// so one run reports every mistake it can find. Load does not modify files or
// opts and may be called concurrently.
func Load(dir string, files map[string][]byte, opts Options) (*Config, hcl.Diagnostics) {
	l := newLoader(dir, opts)
	l.run(files)
	return l.cfg, tidyDiagnostics(l.diags)
}

// loader holds the state of one Load. Its phases run in order (see run);
// each appends to diags and goes on, so that one run reports every error.
type loader struct {
	opts  Options
	dir   string
	cfg   *Config
	diags hcl.Diagnostics
	funcs map[string]function.Function

	nexusBlock *hcl.Block
	variables  map[string]*variable
	varObj     cty.Value // the `var` object: every variable's value
	locals     map[string]*local
	localObj   cty.Value // the `local` object: every local value
	// staticCtx is the context of expressions that may refer to variables
	// and locals only (kind, version), set once locals are evaluated.
	staticCtx  *hcl.EvalContext
	blocks     []*moduleBlock
	byName     map[blockName]*moduleBlock
	kindSchema map[string]*hcl.BodySchema
}

func newConfig(dir string) *Config {
	return &Config{Dir: dir, Project: DefaultProject, Files: make(map[string]*hcl.File)}
}

func newLoader(dir string, opts Options) *loader {
	l := &loader{
		opts:       opts,
		dir:        dir,
		cfg:        newConfig(dir),
		variables:  make(map[string]*variable),
		locals:     make(map[string]*local),
		byName:     make(map[blockName]*moduleBlock),
		kindSchema: make(map[string]*hcl.BodySchema),
	}
	l.funcs = l.functions()
	return l
}

// run loads files into l.cfg: parse, declare, assign variables, evaluate
// locals, decode module blocks, order them by dependency and evaluate them,
// dependencies first.
func (l *loader) run(files map[string][]byte) {
	set, ok := l.parseFiles(files)
	if !ok {
		return // syntax errors: decoding a partial file only adds confusing errors
	}
	if len(set.config) == 0 {
		l.diags = l.diags.Append(errorDiag(nil, "No configuration files",
			"The directory %q holds no %s or %s files. Give the directory of a topology, or create a %s file.",
			l.dirName(), "*"+FileSuffix, "*"+JSONFileSuffix, "main"+FileSuffix))
		return
	}
	for _, f := range set.config {
		l.declare(f)
	}
	l.assignVariables(set.autoVars)
	l.evalLocals()
	l.staticCtx = &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": l.varObj, "local": l.localObj},
		Functions: l.funcs,
	}
	for _, b := range l.blocks {
		l.decodeModule(b)
	}
	for _, b := range l.moduleOrder() {
		l.evalBlock(b)
	}
	l.collect()
}

func (l *loader) dirName() string {
	if l.dir == "" {
		return "."
	}
	return l.dir
}

// fileName is the name a file of the configuration goes by in ranges and in
// Config.Files.
func (l *loader) fileName(base string) string {
	if l.dir == "" {
		return base
	}
	return filepath.Join(l.dir, base)
}

// collect fills the Config's variables and modules, sorted.
func (l *loader) collect() {
	for _, v := range l.variables {
		l.cfg.Variables = append(l.cfg.Variables, v.output())
	}
	sort.Slice(l.cfg.Variables, func(i, j int) bool { return l.cfg.Variables[i].Name < l.cfg.Variables[j].Name })
	for _, b := range l.blocks {
		for _, inst := range b.instances {
			if inst.module != nil {
				l.cfg.Modules = append(l.cfg.Modules, inst.module)
			}
		}
	}
	sort.Slice(l.cfg.Modules, func(i, j int) bool { return l.cfg.Modules[i].Spec.Address < l.cfg.Modules[j].Spec.Address })
}
