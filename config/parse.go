package config

import (
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

type fileKind int

const (
	fileNone fileKind = iota
	fileHCL
	fileJSON
	fileAutoVars
)

func kindOfFile(name string) fileKind {
	switch {
	case strings.HasSuffix(name, AutoVarsFileSuffix):
		return fileAutoVars
	case strings.HasSuffix(name, FileSuffix):
		return fileHCL
	case strings.HasSuffix(name, JSONFileSuffix):
		return fileJSON
	}
	return fileNone
}

// fileSet is a parsed configuration: topology files and auto var files,
// each sorted by name.
type fileSet struct {
	config   []*hcl.File
	autoVars []*hcl.File
}

// parseFiles parses every file, records it in Config.Files and reports
// whether all parsed without error. Files are parsed in parallel: parsing is
// most of the time a large topology takes to load.
func (l *loader) parseFiles(files map[string][]byte) (fileSet, bool) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	type result struct {
		f     *hcl.File
		diags hcl.Diagnostics
	}
	results := make([]result, len(names))
	parallel(len(names), func(i int) {
		if kind := kindOfFile(names[i]); kind != fileNone && names[i] == baseName(names[i]) {
			results[i].f, results[i].diags = parseSource(l.fileName(names[i]), files[names[i]], kind == fileJSON)
		}
	})
	var set fileSet
	ok := true
	for i, base := range names {
		kind := kindOfFile(base)
		if kind == fileNone || base != baseName(base) {
			l.diags = l.diags.Append(errorDiag(nil, "Invalid configuration file name",
				"%q is not the name of a configuration file: names are plain file names ending in %s, %s or %s.",
				base, FileSuffix, JSONFileSuffix, AutoVarsFileSuffix))
			ok = false
			continue
		}
		f := l.record(l.fileName(base), results[i].f, results[i].diags)
		if results[i].diags.HasErrors() {
			ok = false
		}
		switch {
		case f == nil:
		case kind == fileAutoVars:
			set.autoVars = append(set.autoVars, f)
		default:
			set.config = append(set.config, f)
		}
	}
	return set, ok
}

// parse parses one source and records it (see record).
func (l *loader) parse(name string, src []byte, json bool) (*hcl.File, hcl.Diagnostics) {
	f, diags := parseSource(name, src, json)
	return l.record(name, f, diags), diags
}

// record appends a parse's diagnostics and records the file in
// Config.Files, for snippets. It returns nil when nothing could be parsed.
func (l *loader) record(name string, f *hcl.File, diags hcl.Diagnostics) *hcl.File {
	l.diags = l.diags.Extend(diags)
	if f == nil || f.Body == nil {
		return nil
	}
	if _, dup := l.cfg.Files[name]; !dup {
		l.cfg.Files[name] = f
	}
	return f
}

// parseSource parses native HCL or, when json is set, HCL's JSON syntax.
func parseSource(name string, src []byte, json bool) (*hcl.File, hcl.Diagnostics) {
	if json {
		return hcljson.Parse(src, name)
	}
	return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
}

// parallel calls fn(0), ..., fn(n-1) on up to GOMAXPROCS goroutines and
// returns once all calls have returned.
func parallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// baseName is name after its last slash or backslash: a file set from a
// client must not name paths.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// topSchema is the top level of a topology file.
var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "nexus"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "module", LabelNames: []string{"group", "name"}},
	},
}

// declare records the blocks of one topology file.
func (l *loader) declare(f *hcl.File) {
	content, diags := f.Body.Content(topSchema)
	l.diags = l.diags.Extend(diags)
	for _, b := range content.Blocks {
		switch b.Type {
		case "nexus":
			l.declareNexus(b)
		case "variable":
			l.declareVariable(b)
		case "locals":
			l.declareLocals(b)
		case "module":
			l.declareModule(b)
		}
	}
}
