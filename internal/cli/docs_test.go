package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nexus-run/nexus/internal/builtin"
)

// repoDocs is the checked-in docs directory.
const repoDocs = "../../docs"

var updateDocs = flag.Bool("update", false, "rewrite the checked-in reference under docs/")

func testApp(stdin string) (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &App{Registry: builtin.Registry(), Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}, &out, &errb
}

// TestDocs_referenceIsCurrent fails when a command, a flag, a help text or
// a kind's manifest changed without the reference being regenerated.
func TestDocs_referenceIsCurrent(t *testing.T) {
	a, _, _ := testApp("")
	files := docFiles(a.rootCommand(), a.Registry)
	if *updateDocs {
		if err := writeDocFiles(repoDocs, files); err != nil {
			t.Fatal(err)
		}
	}
	const fix = "run `go generate ./internal/cli` (or `bin/nexus docs docs`) and commit the result"
	for _, rel := range sortedFileNames(files) {
		got, err := os.ReadFile(filepath.Join(repoDocs, rel))
		if err != nil {
			t.Errorf("docs/%s is missing: %s", rel, fix)
			continue
		}
		if string(got) != files[rel] {
			t.Errorf("docs/%s is out of date: %s\n%s", rel, fix, firstDifference(string(got), files[rel]))
		}
	}
	onDisk, err := filepath.Glob(filepath.Join(repoDocs, docsCLIDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range onDisk {
		rel, _ := filepath.Rel(repoDocs, p)
		if _, ok := files[rel]; !ok {
			t.Errorf("docs/%s documents no command of this build: %s", rel, fix)
		}
	}
}

func sortedFileNames(files map[string]string) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// firstDifference shows the first line where checked-in and generated text
// part, so the failure says what changed.
func firstDifference(checkedIn, generated string) string {
	a, b := strings.Split(checkedIn, "\n"), strings.Split(generated, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + "\ngot (checked in): " + x + "\nwant (generated): " + y
		}
	}
	return ""
}

// TestDocs_everyCommandExplainsItself checks the help texts a newcomer reads:
// every command has a short line written as a phrase, and every top-level
// command a long description.
func TestDocs_everyCommandExplainsItself(t *testing.T) {
	a, _, _ := testApp("")
	root := a.rootCommand()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !documented(c) {
			return
		}
		path := c.CommandPath()
		switch {
		case c.Short == "":
			t.Errorf("%s: no Short help", path)
		case strings.HasSuffix(c.Short, "."):
			t.Errorf("%s: Short %q ends with a period; the help adds punctuation where it needs it", path, c.Short)
		case !unicode.IsUpper([]rune(c.Short)[0]):
			t.Errorf("%s: Short %q does not start with a capital letter", path, c.Short)
		}
		if c.Parent() == root && c.Long == "" && c.Name() != "version" && c.Name() != "completion" {
			t.Errorf("%s: no Long help", path)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Usage == "" {
				t.Errorf("%s --%s: no usage text", path, f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestHelpMarkdown_indentedLinesBecomeCode(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"paragraphs": {
			in:   "One line\nwraps here.\n\nSecond paragraph.",
			want: "One line\nwraps here.\n\nSecond paragraph.\n",
		},
		"indented block": {
			in:   "Start here:\n  nexus up DIR    run it\n  nexus plan DIR  plan it\n\nThen more.",
			want: "Start here:\n\n```\nnexus up DIR    run it\nnexus plan DIR  plan it\n```\n\nThen more.\n",
		},
		"markup escaped": {
			in:   "Reads *.nexus.hcl files; logs to <data dir>/daemon.log.",
			want: "Reads \\*.nexus.hcl files; logs to &lt;data dir&gt;/daemon.log.\n",
		},
		"blank lines inside a block": {
			in:   "Run:\n  a\n\n  b\nDone.",
			want: "Run:\n\n```\na\n\nb\n```\nDone.\n",
		},
		"block at the end": {
			in:   "Example:\n  nexus fmt -",
			want: "Example:\n\n```\nnexus fmt -\n```\n",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := helpMarkdown(tt.in); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestDocsCommand_writesTheReferenceAndPrunesStalePages(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "cli", "nexus_gone.md")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, out, errb := testApp("")
	if code := a.Run([]string{"docs", dir}); code != 0 {
		t.Fatalf("got: exit %d\n%s", code, errb)
	}
	if !strings.Contains(out.String(), "reference pages") {
		t.Errorf("got: %q\nwant: a line saying what was written", out)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("got: %s kept (%v)\nwant: removed, no command documents it", stale, err)
	}
	for _, want := range []string{"cli/README.md", "cli/nexus.md", "cli/nexus_plan.md", "cli/nexus_state_list.md", "cli/nexus_completion_bash.md", "kinds.md"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("got: no %s (%v)", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cli", "nexus_docs.md")); !os.IsNotExist(err) {
		t.Errorf("got: a page for the hidden docs command (%v)\nwant: none", err)
	}
	kinds, _ := os.ReadFile(filepath.Join(dir, "kinds.md"))
	for _, want := range []string{"## exec", "| `command` | list of string | required | replace |", "`heartbeat.send`", "| `interval` | string | `\"10s\"` | in place |"} {
		if !strings.Contains(string(kinds), want) {
			t.Errorf("kinds.md lacks %q", want)
		}
	}
}

func TestRootHelp_groupsEveryCommand(t *testing.T) {
	a, out, errb := testApp("")
	if code := a.Run([]string{"--help"}); code != 0 {
		t.Fatalf("got: exit %d\n%s", code, errb)
	}
	help := out.String()
	for _, g := range commandGroups {
		if !strings.Contains(help, g.title) {
			t.Errorf("help lacks the group %q", g.title)
		}
		for _, c := range g.commands {
			if !strings.Contains(help, "\n  "+c+" ") {
				t.Errorf("help lacks the command %q", c)
			}
		}
	}
	if strings.Contains(help, "Additional Commands") || strings.Contains(help, "  docs ") {
		t.Errorf("got:\n%s\nwant: every command in a group, docs hidden", help)
	}
}

func TestUsageHints_sayWhereToLook(t *testing.T) {
	tests := map[string]struct {
		args []string
		want []string
	}{
		"too many args": {[]string{"plan", "a", "b"}, []string{"nexus plan: accepts at most 1 arg(s), received 2", "Usage: nexus plan [DIR] [flags]", "'nexus plan --help'"}},
		"missing arg":   {[]string{"state", "show"}, []string{"nexus state show: accepts 1 arg(s), received 0", "Usage: nexus state show ADDR"}},
		"unknown flag":  {[]string{"validate", "--jsn"}, []string{"unknown flag: --jsn", "Run 'nexus validate --help' to see its flags."}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a, _, errb := testApp("")
			if code := a.Run(tt.args); code != 1 {
				t.Fatalf("got: exit %d, want 1\n%s", code, errb)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("got:\n%s\nwant: %q in it", errb, w)
				}
			}
		})
	}
}

func TestCompletion_scripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_nexus", "zsh": "#compdef nexus", "fish": "complete -c nexus"} {
		t.Run(shell, func(t *testing.T) {
			a, out, errb := testApp("")
			if code := a.Run([]string{"completion", shell}); code != 0 {
				t.Fatalf("got: exit %d\n%s", code, errb)
			}
			if !strings.Contains(out.String(), marker) {
				t.Errorf("got a %s script without %q", shell, marker)
			}
		})
	}
}

// complete asks for completions as the shell scripts do, in dir.
func complete(t *testing.T, dir string, args ...string) (values []string, directive string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	a, out, errb := testApp("")
	if code := a.Run(append([]string{cobra.ShellCompRequestCmd}, args...)); code != 0 {
		t.Fatalf("got: exit %d\n%s", code, errb)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletion_arguments(t *testing.T) {
	dir := t.TempDir()
	topo := "module \"web\" \"api\" { kind = \"target\" }\nmodule \"web\" \"db\" {\n  kind = \"target\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.nexus.hcl"), []byte(topo), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args          []string
		want          []string
		wantDirective string
	}{
		"enumerated flag": {[]string{"graph", "--format", ""}, []string{"dot", "mermaid"}, ":4"},
		"global flag":     {[]string{"status", "--log-level", ""}, []string{"debug", "info", "warn", "error"}, ":4"},
		"directory":       {[]string{"validate", ""}, nil, ":16"},
		"var file":        {[]string{"plan", "--var-file", ""}, []string{"hcl", "json"}, ":8"},
		"target address":  {[]string{"plan", "--target", "module.web.a"}, []string{"module.web.api"}, ":4"},
		"no arguments":    {[]string{"status", ""}, nil, ":4"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, directive := complete(t, dir, tt.args...)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || directive != tt.wantDirective {
				t.Errorf("got: %q %s\nwant: %q %s", got, directive, tt.want, tt.wantDirective)
			}
		})
	}
}
