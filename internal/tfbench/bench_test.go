package tfbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeTool returns scripted trials: the i-th call gets trials[i] (the last
// one once they run out) scaled by nothing, and records what it was asked.
type fakeTool struct {
	name   string
	trials []Trial
	err    error
	calls  []string // "n=<N> ops=<ops>"
}

func (f *fakeTool) Name() string                            { return f.name }
func (f *fakeTool) Version(context.Context) (string, error) { return "0.0.0-" + f.name, nil }
func (f *fakeTool) Trial(_ context.Context, dir string, w *Workload, ops []Op, _ time.Duration) (Trial, error) {
	if _, err := os.Stat(dir); err != nil {
		return Trial{}, fmt.Errorf("got: no trial directory: %w", err)
	}
	f.calls = append(f.calls, fmt.Sprintf("n=%d ops=%v", w.N, ops))
	t := f.trials[min(len(f.calls)-1, len(f.trials)-1)]
	if f.err != nil && len(f.calls) == len(f.trials) {
		return t, f.err
	}
	return t, nil
}

var _ Tool = (*fakeTool)(nil)

func trialOf(plan, apply, replan time.Duration, peak int64) Trial {
	return Trial{Ops: map[Op]Usage{
		Plan:   {Wall: plan, CPU: plan / 2, MaxRSS: peak},
		Apply:  {Wall: apply, CPU: apply / 2, MaxRSS: peak},
		Replan: {Wall: replan, CPU: replan / 2, MaxRSS: peak},
	}, Peak: peak}
}

func testOptions(t *testing.T) Options {
	o := DefaultOptions()
	o.Sizes, o.TerraformMaxN, o.WorkDir = []int{3}, 3, t.TempDir()
	return o
}

func TestRun_mediansOfRepeatedTrials(t *testing.T) {
	ms := time.Millisecond
	nexus := &fakeTool{name: "nexus", trials: []Trial{
		trialOf(30*ms, 300*ms, 30*ms, 50<<20),
		trialOf(10*ms, 100*ms, 10*ms, 40<<20),
		trialOf(20*ms, 200*ms, 20*ms, 60<<20),
	}}
	tf := &fakeTool{name: "Terraform", trials: []Trial{trialOf(time.Second, time.Minute, time.Second, 200<<20)}}
	res, err := Run(context.Background(), nexus, tf, testOptions(t))
	if err != nil {
		t.Fatalf("got: %v\nwant: no error", err)
	}
	if len(nexus.calls) != 3 {
		t.Errorf("got: %d nexus trials\nwant: 3 (each under RepeatUnder)", len(nexus.calls))
	}
	if len(tf.calls) != 1 {
		t.Errorf("got: %d Terraform trials\nwant: 1 (the first took over RepeatUnder)", len(tf.calls))
	}
	row := res.Rows[0]
	if got, want := row.Nexus.Ops[Apply].Wall, 200*ms; got != want {
		t.Errorf("got: nexus apply %v\nwant: the median %v", got, want)
	}
	if got, want := row.Nexus.Peak, int64(50<<20); got != want {
		t.Errorf("got: nexus peak %d\nwant: the median %d", got, want)
	}
	if row.Nexus.Runs != 3 || row.Terraform.Runs != 1 {
		t.Errorf("got: runs %d, %d\nwant: 3, 1", row.Nexus.Runs, row.Terraform.Runs)
	}
	if row.Edges != 3 {
		t.Errorf("got: %d edges\nwant: 3", row.Edges)
	}
	if leftovers, _ := os.ReadDir(testOptionsDir(res)); len(leftovers) != 0 {
		t.Errorf("got: %d trial directories left\nwant: none", len(leftovers))
	}
}

func testOptionsDir(r *Result) string { return r.Options.WorkDir }

func TestRun_terraformSkippedAboveItsLimits(t *testing.T) {
	ms := time.Millisecond
	tests := map[string]struct {
		apply    time.Duration // Terraform's apply at N=2
		wantSkip string
	}{
		"extrapolated over the limit":  {apply: 6 * time.Minute, wantSkip: "skipped: > 10 min"},
		"extrapolated under the limit": {apply: ms, wantSkip: "not run: N > 2"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			nexus := &fakeTool{name: "nexus", trials: []Trial{trialOf(ms, ms, ms, 1<<20)}}
			tf := &fakeTool{name: "Terraform", trials: []Trial{trialOf(ms, tt.apply, ms, 1<<20)}}
			o := testOptions(t)
			o.Sizes, o.Runs, o.TerraformMaxN, o.TerraformPlanMaxN = []int{2, 4, 8}, 1, 2, 4
			res, err := Run(context.Background(), nexus, tf, o)
			if err != nil {
				t.Fatalf("got: %v\nwant: no error", err)
			}
			want := []string{"n=2 ops=[plan apply no-op re-plan]", "n=4 ops=[plan]"}
			if strings.Join(tf.calls, "; ") != strings.Join(want, "; ") {
				t.Errorf("got: Terraform calls %q\nwant: %q", tf.calls, want)
			}
			if _, ok := res.Rows[1].Terraform.Ops[Plan]; !ok {
				t.Errorf("got: no N=4 plan\nwant: measured")
			}
			if got := res.Rows[1].Terraform.Skipped[Apply]; got != tt.wantSkip {
				t.Errorf("got: N=4 apply %q\nwant: %q", got, tt.wantSkip)
			}
			if got := res.Rows[1].Terraform.PeakOf; got != "plan only" {
				t.Errorf("got: N=4 peak of %q\nwant: plan only", got)
			}
			// The plan at N=4 took a millisecond: N=8's is not over the limit.
			wantN8 := map[Op]string{Plan: "not run: N > 2", Apply: tt.wantSkip, Replan: tt.wantSkip}
			for _, op := range Ops {
				if got := res.Rows[2].Terraform.Skipped[op]; got != wantN8[op] {
					t.Errorf("got: N=8 %s %q\nwant: %q", op, got, wantN8[op])
				}
			}
			note := res.skipNote()
			if hasNote := note != ""; hasNote != (tt.wantSkip != "not run: N > 2") {
				t.Errorf("got: note %q\nwant: a note exactly when a cell says it is over the limit", note)
			}
		})
	}
}

func TestRun_failedAndTimedOutTrials(t *testing.T) {
	partial := Trial{Ops: map[Op]Usage{Plan: {Wall: time.Millisecond}}}
	tests := map[string]struct {
		err        error
		wantSkip   string
		wantErrors int
	}{
		"failure": {err: errors.New("nexus apply: exited with code 1"), wantSkip: "failed", wantErrors: 1},
		"timeout": {err: fmt.Errorf("terraform apply: %w", ErrTimeout), wantSkip: "skipped: > 10 min", wantErrors: 0},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			nexus := &fakeTool{name: "nexus", trials: []Trial{partial}, err: tt.err}
			tf := &fakeTool{name: "Terraform", trials: []Trial{trialOf(1, 1, 1, 1)}}
			res, err := Run(context.Background(), nexus, tf, testOptions(t))
			if err != nil {
				t.Fatalf("got: %v\nwant: no error from Run", err)
			}
			if len(res.Errors) != tt.wantErrors {
				t.Errorf("got: %d errors %v\nwant: %d", len(res.Errors), res.Errors, tt.wantErrors)
			}
			if len(nexus.calls) != 1 {
				t.Errorf("got: %d nexus trials\nwant: 1 (no repeat after a failure)", len(nexus.calls))
			}
			cell := res.Rows[0].Nexus
			if _, ok := cell.Ops[Plan]; !ok {
				t.Errorf("got: no plan number\nwant: the plan measured before the failure")
			}
			if got := cell.Skipped[Apply]; got != tt.wantSkip {
				t.Errorf("got: apply %q\nwant: %q", got, tt.wantSkip)
			}
			if cell.Peak != 0 {
				t.Errorf("got: peak %d\nwant: none for an incomplete trial", cell.Peak)
			}
		})
	}
}

func TestResult_markdownGolden(t *testing.T) {
	ms := time.Millisecond
	cell := func(runs int, plan, apply, replan time.Duration, peak int64) Cell {
		t := trialOf(plan, apply, replan, peak)
		return Cell{Runs: runs, Ops: t.Ops, Peak: peak, Skipped: map[Op]string{}}
	}
	o := DefaultOptions()
	res := &Result{
		Rows: []Row{
			{N: 100, Edges: 197, Nexus: cell(3, 40*ms, 150*ms, 35*ms, 60<<20), Terraform: cell(3, 900*ms, 6*time.Second, 950*ms, 150<<20)},
			{N: 1000, Edges: 1997, Nexus: cell(3, 200*ms, 1500*ms, 180*ms, 300<<20), Terraform: cell(1, 2800*ms, 66*time.Second, 3*time.Second, 250<<20)},
			{N: 10000, Edges: 19997, Nexus: cell(1, 2*time.Second, 15*time.Second, 1800*ms, 900<<20),
				Terraform: Cell{Runs: 1, Ops: map[Op]Usage{Plan: {Wall: 163 * time.Second, CPU: 134 * time.Second}},
					Peak: 675 << 20, PeakOf: "plan only", Tried: []Op{Plan},
					Skipped: map[Op]string{Apply: "skipped: > 10 min", Replan: "skipped: > 10 min"}}},
		},
		NexusVersion: "0.1.0", TerraformVersion: "1.5.7",
		Machine: Machine{CPU: "Test CPU", Cores: 2, MemTotal: 24 << 30, Kernel: "6.1.0",
			LoadBefore: "1.00 0.50 0.25", LoadAfter: "2.00 1.00 0.50", GoVersion: "go1.26.0"},
		Started: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), Elapsed: 5 * time.Minute, Options: o,
	}
	got := res.Document("make bench-terraform")
	golden := filepath.Join("testdata", "benchmarks.golden.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("got: %v\nwant: a golden file (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(string(got), "NOT ahead of Terraform on 1 of 9 rows measured for both: N=1,000 peak memory.") {
		t.Errorf("got: a verdict that misses the peak memory row where nexus is behind\nwant: it named")
	}
}

func TestFmt_units(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtDuration(4200 * time.Microsecond), "4.2 ms"},
		{fmtDuration(523 * time.Millisecond), "523 ms"},
		{fmtDuration(5764 * time.Millisecond), "5.76 s"},
		{fmtDuration(66200 * time.Millisecond), "66.2 s"},
		{fmtDuration(125 * time.Second), "125 s"},
		{fmtBytes(64848 << 10), "63 MiB"},
		{fmtBytes(5 << 19), "2.5 MiB"},
		{fmtCount(100), "100"},
		{fmtCount(10000), "10,000"},
		{fmtCount(1234567), "1,234,567"},
		{fmtLimit(10 * time.Minute), "10 min"},
		{fmtLimit(90 * time.Second), "90 s"},
		{fmtLimit(1500 * time.Millisecond), "1.5s"},
		{ratio(true, 66, 1.5), "44×"},
		{ratio(true, 3, 2), "1.50×"},
		{ratio(false, 3, 2), "—"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got: %q\nwant: %q", tt.got, tt.want)
		}
	}
}
