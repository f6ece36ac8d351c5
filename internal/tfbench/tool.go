package tfbench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nexus-run/nexus/config/configtest"
)

// Parallelism is how many operations both tools run at once during an
// apply: Terraform's default -parallelism, and nexus's.
const Parallelism = 10

// Op is one measured operation of a trial.
type Op int

// The operations, in the order a trial runs them.
const (
	// Plan plans the whole DAG against an empty state.
	Plan Op = iota
	// Apply applies the DAG with auto-approve, end to end: both tools plan
	// again first, then create every module or resource.
	Apply
	// Replan plans again after the apply; it must find no changes.
	Replan
)

// Ops are all the operations, in trial order.
var Ops = []Op{Plan, Apply, Replan}

// String is the operation's name as the table shows it.
func (o Op) String() string {
	switch o {
	case Plan:
		return "plan"
	case Apply:
		return "apply"
	case Replan:
		return "no-op re-plan"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Workload is one generated DAG in both tools' languages.
type Workload struct {
	// N is the number of modules (and of terraform_data resources).
	N int
	// DAG is the graph both file sets describe.
	DAG *DAG
	// Nexus are the *.nexus.hcl files by base name.
	Nexus map[string][]byte
	// Terraform are the *.tf files by base name.
	Terraform map[string][]byte
}

// NewWorkload generates a random DAG of n target modules with
// configtest.GenerateDAG and translates it for Terraform.
func NewWorkload(n int, seed int64) (*Workload, error) {
	files := configtest.GenerateDAG(n, seed)
	dag, err := ReadNexus(files)
	if err != nil {
		return nil, fmt.Errorf("translate the generated DAG: %w", err)
	}
	return &Workload{N: n, DAG: dag, Nexus: files, Terraform: dag.Terraform()}, nil
}

// Trial is the outcome of one tool's run of some operations on a fresh
// copy of a workload.
type Trial struct {
	// Ops are the measured operations; an operation that was not run, or
	// did not finish, is missing.
	Ops map[Op]Usage
	// Peak is the trial's peak memory in bytes, as the tool defines it.
	Peak int64
}

// Tool is one side of the comparison.
type Tool interface {
	// Name is the tool's name in the table.
	Name() string
	// Version reports the tool's version.
	Version(ctx context.Context) (string, error)
	// Trial runs ops in order on a fresh copy of w in the empty directory
	// dir, each command within limit. It returns what it measured even when
	// it fails; a command over the limit gives an error wrapping ErrTimeout.
	Trial(ctx context.Context, dir string, w *Workload, ops []Op, limit time.Duration) (Trial, error)
}

// writeFiles writes files into dir, which it creates.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// environ is the process environment without the variables that start
// with one of prefixes, plus extra: a hermetic base for a tool.
func environ(prefixes []string, extra ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
