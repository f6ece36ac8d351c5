package tfbench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Terraform runs Terraform with the local backend: terraform init, then the
// measured plan, apply and re-plan, each a process of its own.
type Terraform struct {
	// Bin is the terraform binary.
	Bin string
}

// Name returns "Terraform".
func (*Terraform) Name() string { return "Terraform" }

// Version returns terraform_version from `terraform version -json`.
func (tf *Terraform) Version(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, tf.Bin, "version", "-json")
	cmd.Env = tf.env()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", tf.Bin, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("%s version -json: unexpected output %q", tf.Bin, out)
	}
	return v.Version, nil
}

// env is a hermetic environment: no TF_* variables of the caller, no
// version check over the network, automation mode, and an empty CLI config
// so that no ~/.terraformrc (plugin cache, credentials) changes what runs.
func (tf *Terraform) env() []string {
	return environ([]string{"TF_", "CHECKPOINT_"},
		"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE="+os.DevNull)
}

// Trial writes the workload's *.tf files into dir, runs terraform init
// (not measured), then times ops. Each operation's Wall, CPU and MaxRSS
// are the terraform process's, children included; Peak is the largest
// MaxRSS of the measured operations.
func (tf *Terraform) Trial(ctx context.Context, dir string, w *Workload, ops []Op, limit time.Duration) (Trial, error) {
	t := Trial{Ops: make(map[Op]Usage)}
	if err := writeFiles(dir, w.Terraform); err != nil {
		return t, err
	}
	c := command{dir: dir, env: tf.env(), log: filepath.Join(dir, "terraform.log")}
	c.args = []string{tf.Bin, "init", "-input=false", "-no-color"}
	if _, err := tf.run(ctx, c, limit); err != nil {
		return t, fmt.Errorf("terraform init: %w", err)
	}
	par := "-parallelism=" + strconv.Itoa(Parallelism)
	for _, op := range ops {
		switch op {
		case Plan, Replan:
			c.args = []string{tf.Bin, "plan", "-input=false", "-no-color", par, "-detailed-exitcode"}
			c.ok = []int{map[Op]int{Plan: 2, Replan: 0}[op]}
		case Apply:
			c.args = []string{tf.Bin, "apply", "-input=false", "-no-color", par, "-auto-approve"}
			c.ok = nil
		}
		u, err := tf.run(ctx, c, limit)
		if err != nil {
			return t, fmt.Errorf("terraform %s: %w", op, err)
		}
		t.Ops[op] = u
		t.Peak = max(t.Peak, u.MaxRSS)
	}
	return t, nil
}

func (tf *Terraform) run(ctx context.Context, c command, limit time.Duration) (Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	u, _, err := run(ctx, c)
	return u, err
}

var _ Tool = (*Terraform)(nil)
