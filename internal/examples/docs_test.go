package examples_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// readDoc reads a file of the repository.
func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text of a Markdown document from the heading that
// starts with heading to the next heading of the same level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no %q heading", heading)
	}
	rest := doc[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// functionRow is one row of the language reference's function table.
type functionRow struct {
	name, example, result string
	checked               bool // the result is a literal the test can evaluate
}

var codeSpan = regexp.MustCompile("^`([^`]*)`$")

func functionTable(t *testing.T) []functionRow {
	t.Helper()
	var rows []functionRow
	for _, line := range strings.Split(section(t, readDoc(t, "docs/language.md"), "## Functions"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 4 {
			t.Fatalf("function table row %q has %d cells, want 4", line, len(cells))
		}
		name := codeSpan.FindStringSubmatch(strings.TrimSpace(cells[0]))
		example := codeSpan.FindStringSubmatch(strings.TrimSpace(cells[2]))
		if name == nil || example == nil {
			t.Fatalf("function table row %q: the function and the example must be code", line)
		}
		row := functionRow{name: name[1], example: example[1]}
		if result := codeSpan.FindStringSubmatch(strings.TrimSpace(cells[3])); result != nil {
			row.result, row.checked = result[1], true
		}
		rows = append(rows, row)
	}
	return rows
}

// evalExample evaluates an HCL expression the way a topology would: as a
// config value of a module, encoded with jsonencode so any type compares.
func evalExample(t *testing.T, expr string) (string, hcl.Diagnostics) {
	t.Helper()
	src := "module \"doc\" \"example\" {\n  kind = \"exec\"\n  config {\n    command = [\"true\"]\n    env     = { V = jsonencode(" + expr + ") }\n  }\n}\n"
	cfg, diags := config.Load("", map[string][]byte{"main.nexus.hcl": []byte(src)}, config.Options{Registry: builtin.Registry(), Env: map[string]string{}})
	if diags.HasErrors() {
		return "", diags
	}
	env := cfg.Modules[0].Spec.Config.Get("env")
	return env.Index(cty.StringVal("V")).AsString(), nil
}

// TestDocs_functionExamplesGiveTheirResults evaluates every example of the
// language reference's function table and compares it with the result the
// table shows.
func TestDocs_functionExamplesGiveTheirResults(t *testing.T) {
	for _, row := range functionTable(t) {
		if !row.checked {
			continue
		}
		t.Run(row.name, func(t *testing.T) {
			got, diags := evalExample(t, row.example)
			if diags.HasErrors() {
				t.Fatalf("%s: %v", row.example, diags)
			}
			want, diags := evalExample(t, row.result)
			if diags.HasErrors() {
				t.Fatalf("the documented result %s does not parse: %v", row.result, diags)
			}
			if got != want {
				t.Errorf("%s\ngot:  %s\nwant: %s (as documented: %s)", row.example, got, want, row.result)
			}
		})
	}
}

// TestDocs_everyFunctionDocumented compares the table with the functions
// config offers (the keys of its functions map).
func TestDocs_everyFunctionDocumented(t *testing.T) {
	documented := map[string]bool{}
	for _, row := range functionTable(t) {
		if documented[row.name] {
			t.Errorf("%s is documented twice", row.name)
		}
		documented[row.name] = true
		if !strings.Contains(row.example, row.name+"(") {
			t.Errorf("the example of %s, %s, does not call it", row.name, row.example)
		}
	}
	offered := functionNames(t)
	for name := range offered {
		if !documented[name] {
			t.Errorf("the function %s is not in the language reference's table", name)
		}
	}
	for name := range documented {
		if !offered[name] {
			t.Errorf("the language reference documents %s, which config does not offer", name)
		}
	}
}

// functionNames reads the keys of the map config/functions.go's functions
// method returns.
func functionNames(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot(), "config", "functions.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "functions" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if lit, ok := kv.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					names[s] = true
				}
			}
			return true
		})
	}
	if len(names) < 50 {
		t.Fatalf("found %d functions in config/functions.go; the parse of its functions map broke", len(names))
	}
	return names
}

// schemaNames collects the block types and attribute names a package's
// HCL schemas declare: hcl.AttributeSchema{Name: ...},
// hcl.BlockHeaderSchema{Type: ...}, arguments of calls to attrSchema, and
// gohcl struct tags (labels excepted).
func schemaNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, filepath.Join(repoRoot(), dir), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	str := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			names[s] = true
		}
	}
	tag := regexp.MustCompile(`hcl:"([a-z_]+)(,[a-z]+)?"`)
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					lits := []*ast.CompositeLit{n}
					if arr, ok := n.Type.(*ast.ArrayType); ok && isSchemaType(arr.Elt) {
						lits = nil // []hcl.AttributeSchema{{Name: ...}}: the elements' types are elided
						for _, el := range n.Elts {
							if cl, ok := el.(*ast.CompositeLit); ok {
								lits = append(lits, cl)
							}
						}
					} else if !isSchemaType(n.Type) {
						return true
					}
					for _, cl := range lits {
						for _, el := range cl.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok {
								if k, ok := kv.Key.(*ast.Ident); ok && (k.Name == "Name" || k.Name == "Type") {
									str(kv.Value)
								}
							}
						}
					}
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "attrSchema" {
						for _, a := range n.Args {
							str(a)
						}
					}
				case *ast.Field:
					if n.Tag != nil {
						if m := tag.FindStringSubmatch(n.Tag.Value); m != nil && m[2] != ",label" {
							names[m[1]] = true
						}
					}
				}
				return true
			})
		}
	}
	return names
}

// isSchemaType reports whether e is hcl.AttributeSchema or
// hcl.BlockHeaderSchema.
func isSchemaType(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && (sel.Sel.Name == "AttributeSchema" || sel.Sel.Name == "BlockHeaderSchema")
}

// documents reports whether doc shows name as code: `name`, or a code span
// that starts with it, like `role "<name>"`.
func documents(doc, name string) bool {
	return strings.Contains(doc, "`"+name+"`") || strings.Contains(doc, "`"+name+" ")
}

// TestDocs_everyBlockAndArgumentDocumented checks that each block type and
// argument the topology language's schemas declare appears, as code, in the
// language reference.
func TestDocs_everyBlockAndArgumentDocumented(t *testing.T) {
	doc := readDoc(t, "docs/language.md")
	names := schemaNames(t, "config")
	if len(names) < 30 {
		t.Fatalf("found %d names in config's schemas; the search broke", len(names))
	}
	for _, n := range sortedKeys(names) {
		if !documents(doc, n) {
			t.Errorf("docs/language.md does not document `%s`", n)
		}
	}
}

// TestDocs_everyDaemonSettingDocumented does the same for nexusd.hcl.
func TestDocs_everyDaemonSettingDocumented(t *testing.T) {
	doc := readDoc(t, "docs/daemon-config.md")
	names := schemaNames(t, "internal/daemoncfg")
	if len(names) < 25 {
		t.Fatalf("found %d names in daemoncfg's schemas; the search broke", len(names))
	}
	for _, n := range sortedKeys(names) {
		if !documents(doc, n) {
			t.Errorf("docs/daemon-config.md does not document `%s`", n)
		}
	}
}

// TestDocs_everyRouteAndErrorCodeDocumented checks the API reference
// against the daemon's routes and the API's error codes.
func TestDocs_everyRouteAndErrorCodeDocumented(t *testing.T) {
	doc := readDoc(t, "docs/api.md")
	route := regexp.MustCompile(`"((GET|POST|PUT|DELETE) /[^"]*)"`)
	src := readDoc(t, "internal/daemon/http.go")
	routes := route.FindAllStringSubmatch(src, -1)
	if len(routes) < 10 {
		t.Fatalf("found %d routes in internal/daemon/http.go; the search broke", len(routes))
	}
	for _, m := range routes {
		r := strings.ReplaceAll(m[1], "...}", "}")
		if !strings.Contains(doc, "`"+r+"`") {
			t.Errorf("docs/api.md does not document the route `%s`", r)
		}
	}
	code := regexp.MustCompile(`Code[A-Za-z]+ += "([a-z_]+)"`)
	codes := code.FindAllStringSubmatch(readDoc(t, "internal/api/api.go"), -1)
	if len(codes) < 8 {
		t.Fatalf("found %d error codes in internal/api/api.go; the search broke", len(codes))
	}
	for _, m := range codes {
		if !strings.Contains(doc, "`"+m[1]+"`") {
			t.Errorf("docs/api.md does not document the error code `%s`", m[1])
		}
	}
}

// TestDocs_everyMetricDocumented checks that each metric nexus exports is
// in the operations guide's metrics table.
func TestDocs_everyMetricDocumented(t *testing.T) {
	doc := readDoc(t, "docs/operations.md")
	metric := regexp.MustCompile(`"(nexus_[a-z_]+)"`)
	found := map[string]bool{}
	for _, dir := range []string{"internal/telemetry", "modules"} {
		files, err := filepath.Glob(filepath.Join(repoRoot(), dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			for _, m := range metric.FindAllStringSubmatch(string(b), -1) {
				found[m[1]] = true
			}
		}
	}
	if len(found) < 10 {
		t.Fatalf("found %d metric names; the search broke", len(found))
	}
	for _, name := range sortedKeys(found) {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/operations.md does not document the metric `%s`", name)
		}
	}
}

// markdownFiles lists the repository's documentation: README.md, docs/ and
// the examples' READMEs.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, dir := range []string{"docs", "examples"} {
		err := filepath.WalkDir(filepath.Join(repoRoot(), dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".nexus" {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".md") {
				rel, _ := filepath.Rel(repoRoot(), path)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

var fence = regexp.MustCompile("(?s)\n```([a-z]*)[^\n]*\n(.*?)\n```")

// TestDocs_hclSnippetsAreValid checks every ```hcl block of the docs:
// each parses; one made only of topology blocks loads as a topology with
// the built-in kinds, and one made only of daemon config blocks loads as a
// daemon config.
func TestDocs_hclSnippetsAreValid(t *testing.T) {
	topology := map[string]bool{"nexus": true, "variable": true, "locals": true, "module": true}
	daemon := map[string]bool{"daemon": true, "listener": true, "state": true, "secrets": true, "role": true, "principal": true, "audit": true}
	n := 0
	for _, file := range markdownFiles(t) {
		for _, m := range fence.FindAllStringSubmatch("\n"+readDoc(t, file), -1) {
			if m[1] != "hcl" {
				continue
			}
			n++
			src := []byte(m[2] + "\n")
			f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
			if diags.HasErrors() {
				t.Errorf("%s: an hcl block does not parse: %v\n%s", file, diags, src)
				continue
			}
			body := f.Body.(*hclsyntax.Body)
			kinds := map[string]bool{}
			for _, b := range body.Blocks {
				switch {
				case topology[b.Type]:
					kinds["topology"] = true
				case daemon[b.Type]:
					kinds["daemon"] = true
				default:
					kinds["other"] = true
				}
			}
			if len(body.Attributes) > 0 || len(kinds) != 1 {
				continue // a fragment or a variable values file: syntax only
			}
			switch {
			case kinds["topology"]:
				_, diags = config.Load("", map[string][]byte{"snippet.nexus.hcl": src}, config.Options{
					Registry: builtin.Registry(), AllowUnknownKinds: true, Env: map[string]string{"REGION": "eu-west-1"},
					ReadFile: func(string) ([]byte, error) { return []byte("text"), nil },
				})
			case kinds["daemon"]:
				_, _, diags = daemoncfg.Load("nexusd.hcl", src, func(string) (string, bool) { return "x", true })
			}
			if diags.HasErrors() {
				t.Errorf("%s: an hcl block does not load: %v\n%s", file, diags, src)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d hcl blocks in the docs; the search broke", n)
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
)

// slug is GitHub's anchor for a heading.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	doc = fence.ReplaceAllString("\n"+doc, "\n")
	for _, m := range mdHeading.FindAllStringSubmatch(doc, -1) {
		h := strings.NewReplacer("`", "", "*", "").Replace(m[1])
		base := slug(h)
		s := base
		for i := 1; out[s]; i++ {
			s = base + "-" + strconv.Itoa(i)
		}
		out[s] = true
	}
	return out
}

// TestDocs_linksResolve follows every relative link of the docs to a file,
// and every #anchor to a heading of the Markdown file it names.
func TestDocs_linksResolve(t *testing.T) {
	for _, file := range markdownFiles(t) {
		doc := readDoc(t, file)
		text := fence.ReplaceAllString("\n"+doc, "\n")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(filepath.Join(repoRoot(), target)); err != nil {
					t.Errorf("%s: the link %s leads nowhere", file, link)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(target, ".md") && !anchors(readDoc(t, target))[anchor] {
				t.Errorf("%s: the link %s names no heading of %s", file, link, target)
			}
		}
	}
}
