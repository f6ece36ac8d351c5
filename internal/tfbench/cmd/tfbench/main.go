// Command tfbench benchmarks nexus against Terraform on the same random DAG
// and prints the comparison as Markdown; with -out it also rewrites
// docs/BENCHMARKS.md. make bench-terraform runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/nexus-run/nexus/internal/tfbench"
)

func main() {
	tfbench.LauncherMain() // a measured command is run through this binary
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tfbench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := tfbench.DefaultOptions()
	fs := flag.NewFlagSet("tfbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		nexusBin = fs.String("nexus", "bin/nexus", "the nexus binary (make build writes it)")
		tfBin    = fs.String("terraform", "", "the terraform binary (default: $(go env GOPATH)/bin/terraform, else terraform on PATH)")
		tfWant   = fs.String("terraform-version", "1.5.7", "the Terraform version the comparison is about; refuse another (\"\" accepts any)")
		sizes    = fs.String("sizes", joinInts(d.Sizes), "comma-separated DAG sizes N")
		out      = fs.String("out", "", "also write the full benchmark document here (docs/BENCHMARKS.md); not written when a trial fails")
		command  = fs.String("command", "", "the command to quote in the document (default: this command line)")
		o        = d
	)
	fs.IntVar(&o.Runs, "runs", d.Runs, "trials per tool and size when a trial is quicker than -repeat-under; the table shows medians")
	fs.DurationVar(&o.RepeatUnder, "repeat-under", d.RepeatUnder, "repeat a tool's trials at a size only when one takes less than this")
	fs.Int64Var(&o.Seed, "seed", d.Seed, "seed of the random DAG")
	fs.IntVar(&o.TerraformMaxN, "terraform-max", d.TerraformMaxN, "largest N at which Terraform runs plan, apply and re-plan")
	fs.IntVar(&o.TerraformPlanMaxN, "terraform-plan-max", d.TerraformPlanMaxN, "largest N at which Terraform runs plan only (above -terraform-max)")
	fs.DurationVar(&o.Limit, "limit", d.Limit, "time limit of a single command; one over it is killed and reported as skipped")
	fs.StringVar(&o.WorkDir, "workdir", "", "directory for the trials' temporary directories (default: the system's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.Sizes, err = parseInts(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	if *command == "" {
		*command = shellJoin(append([]string{"tfbench"}, args...))
	}
	if *tfBin == "" {
		if *tfBin, err = findTerraform(); err != nil {
			return err
		}
	}
	if _, err := os.Stat(*nexusBin); err != nil {
		return fmt.Errorf("the nexus binary: %w (run make build, or pass -nexus)", err)
	}
	abs, err := filepath.Abs(*nexusBin) // trials run in their own directories
	if err != nil {
		return err
	}
	tf := &tfbench.Terraform{Bin: *tfBin}
	if *tfWant != "" {
		v, err := tf.Version(ctx)
		if err != nil {
			return err
		}
		if v != *tfWant {
			return fmt.Errorf("%s is Terraform %s, and the benchmark compares against %s: install it with %s, or pass -terraform-version %s", *tfBin, v, *tfWant, installHint, v)
		}
	}
	o.Progress = stderr
	res, err := tfbench.Run(ctx, &tfbench.Nexus{Bin: abs}, tf, o)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Markdown(*command))
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d trial(s) failed (see above); %s left as it was", len(res.Errors), orNone(*out))
	}
	if *out != "" {
		if err := os.WriteFile(*out, res.Document(*command), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	return nil
}

// findTerraform looks for terraform in $(go env GOPATH)/bin, where
// go install puts 1.5.7, then on PATH.
func findTerraform() (string, error) {
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath != "" {
		p := filepath.Join(filepath.SplitList(gopath)[0], "bin", "terraform")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	return "", errors.New("no terraform in $(go env GOPATH)/bin or on PATH; install Terraform 1.5.7 with: " + installHint)
}

const installHint = "go install github.com/hashicorp/terraform@v1.5.7"

func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// shellJoin joins args into a command line a shell reads back the same.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

func orNone(out string) string {
	if out == "" {
		return "no document"
	}
	return out
}
