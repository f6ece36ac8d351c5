package cli

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
)

// fmtExitUnformatted is fmt --check's exit code when a file needs
// formatting; 3, as terraform fmt -check uses, so CI scripts carry over.
const fmtExitUnformatted = 3

func (a *App) fmtCommand() *cobra.Command {
	var check, diff, recursive bool
	cmd := &cobra.Command{
		Use:   "fmt [DIR|FILE|-]",
		Short: "Rewrite topology files in the canonical style",
		Long: `Fmt rewrites *.nexus.hcl and *.nexusvars.hcl files in the canonical HCL
style (hclwrite). With --check it changes nothing and exits 3 when a file
needs formatting; --diff prints what would change; - reads stdin and writes
stdout. Files with syntax errors are reported and left alone.`,
		Example: `  nexus fmt --check --diff .    # in CI: exit 3 and show what to change
  nexus fmt --recursive         # rewrite every topology under the current directory
  nexus fmt - < main.nexus.hcl  # from an editor: stdin to stdout`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := dirArg(args)
			if target == "-" {
				return a.fmtStdin()
			}
			files, err := fmtFiles(target, recursive)
			if err != nil {
				return err
			}
			unformatted := false
			for _, f := range files {
				changed, err := a.fmtFile(f, check, diff)
				if err != nil {
					return err
				}
				unformatted = unformatted || changed
			}
			if check && unformatted {
				return exitCode(fmtExitUnformatted)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; exit 3 if a file needs formatting")
	cmd.Flags().BoolVar(&diff, "diff", false, "print the changes as a unified diff")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "also format sub-directories")
	return cmd
}

func isFmtFile(name string) bool {
	return strings.HasSuffix(name, ".nexus.hcl") || strings.HasSuffix(name, ".nexusvars.hcl")
}

// fmtFiles lists the files fmt handles under target, sorted.
func fmtFiles(target string, recursive bool) ([]string, error) {
	fi, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{target}, nil
	}
	var out []string
	err = filepath.WalkDir(target, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != target && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if isFmtFile(d.Name()) {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// format returns src in canonical style, or the syntax diagnostics that
// stop it from being formatted.
func format(name string, src []byte) ([]byte, hcl.Diagnostics) {
	_, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}

func (a *App) fmtFile(path string, check, diff bool) (bool, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	out, diags := format(path, src)
	if diags.HasErrors() {
		return false, a.reportDiags(diags, map[string]*hcl.File{path: {Bytes: src}})
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	fmt.Fprintln(a.Stdout, path)
	if diff {
		if err := writeDiff(a.Stdout, path, src, out); err != nil {
			return true, err
		}
	}
	if !check {
		fi, err := os.Stat(path)
		if err != nil {
			return true, err
		}
		if err := os.WriteFile(path, out, fi.Mode().Perm()); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (a *App) fmtStdin() error {
	src, err := io.ReadAll(a.Stdin)
	if err != nil {
		return err
	}
	out, diags := format("<stdin>", src)
	if diags.HasErrors() {
		return a.reportDiags(diags, map[string]*hcl.File{"<stdin>": {Bytes: src}})
	}
	_, err = a.Stdout.Write(out)
	return err
}

func writeDiff(w io.Writer, name string, a, b []byte) error {
	return difflib.WriteUnifiedDiff(w, difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "old/" + name, ToFile: "new/" + name, Context: 3,
	})
}
