package tfbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Options configure a benchmark run. The zero value of a field means its
// default, as DefaultOptions has it.
type Options struct {
	// Sizes are the DAG sizes N, in the order they run.
	Sizes []int
	// Seed fixes the random DAG of every size.
	Seed int64
	// Runs is how many trials a tool gets at a size when one trial is
	// quicker than RepeatUnder; the table shows medians.
	Runs int
	// RepeatUnder is the trial time (all operations) under which a tool
	// is run Runs times at a size; a slower first trial is the only one.
	RepeatUnder time.Duration
	// TerraformMaxN is the largest N at which Terraform runs every
	// operation; up to TerraformPlanMaxN it runs plan only, and above
	// that nothing. Terraform's apply of 1,000 resources takes over a
	// minute, so ten times that graph would take over Limit.
	TerraformMaxN, TerraformPlanMaxN int
	// Limit is the longest a single command may run before it is killed
	// and its measurement reported as skipped.
	Limit time.Duration
	// WorkDir holds the trials' temporary directories ("" for the
	// system's temporary directory). Each is removed after its trial,
	// unless the trial failed.
	WorkDir string
	// Progress receives a line per trial (nil for none).
	Progress io.Writer
}

// DefaultOptions are the sizes and limits docs/BENCHMARKS.md is made with.
func DefaultOptions() Options {
	return Options{
		Sizes:             []int{100, 1000, 10000},
		Seed:              1,
		Runs:              3,
		RepeatUnder:       30 * time.Second,
		TerraformMaxN:     1000,
		TerraformPlanMaxN: 10000,
		Limit:             10 * time.Minute,
	}
}

// Cell is one tool's numbers at one size: the medians of its trials.
type Cell struct {
	// Runs is how many trials the medians are of.
	Runs int
	// Ops are the median Wall, CPU and MaxRSS of each measured operation,
	// each the median of its own.
	Ops map[Op]Usage
	// Peak is the median of the trials' peak memory, in bytes; 0 when no
	// trial finished an operation.
	Peak int64
	// PeakOf names the operations Peak covers when they are not all of
	// them ("plan only").
	PeakOf string
	// Skipped says why an operation has no number: "skipped: > 10 min",
	// "not run: N > 1,000", "failed".
	Skipped map[Op]string
	// Tried are the operations the tool was asked to run.
	Tried []Op
}

// Row is one size: both tools' cells.
type Row struct {
	// N is the number of modules; Edges the number of dependencies.
	N, Edges int
	// Nexus and Terraform are the two tools' numbers.
	Nexus, Terraform Cell
}

// Result is a whole benchmark run.
type Result struct {
	Rows []Row
	// NexusVersion and TerraformVersion are what the tools report.
	NexusVersion, TerraformVersion string
	// Machine describes where the run happened.
	Machine Machine
	// Started is when the run began, Elapsed how long it took.
	Started time.Time
	Elapsed time.Duration
	// Options are the options the run used, defaults filled in.
	Options Options
	// Errors are the failed trials' errors, each naming tool and size.
	Errors []error
}

// Run benchmarks nexus and terraform on a random DAG of each size in
// opts.Sizes, interleaving the two tools' trials so that a change in the
// machine's load hits both. A failed trial does not stop the run: its
// operations show as failed and its error is in Result.Errors. Run returns
// an error only when it cannot start (a tool does not report a version,
// the DAG cannot be generated) or ctx ends.
func Run(ctx context.Context, nexus, terraform Tool, opts Options) (*Result, error) {
	opts = withDefaults(opts)
	res := &Result{Started: time.Now(), Options: opts, Machine: ReadMachine()}
	var err error
	if res.NexusVersion, err = nexus.Version(ctx); err != nil {
		return nil, err
	}
	if res.TerraformVersion, err = terraform.Version(ctx); err != nil {
		return nil, err
	}
	for _, n := range opts.Sizes {
		w, err := NewWorkload(n, opts.Seed)
		if err != nil {
			return nil, err
		}
		cells := []*cellRun{
			{tool: nexus, ops: Ops},
			{tool: terraform, ops: opts.terraformOps(n)},
		}
		for r := 0; r < opts.Runs; r++ {
			for _, c := range cells {
				if !c.wants(r, opts.RepeatUnder) {
					continue
				}
				if err := c.trial(ctx, w, opts); err != nil {
					res.Errors = append(res.Errors, err)
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
		}
		row := Row{N: n, Edges: w.DAG.Edges(), Nexus: cells[0].cell(), Terraform: cells[1].cell()}
		for _, op := range Ops[len(cells[1].ops):] {
			row.Terraform.Skipped[op] = res.sizeSkip(n, op)
		}
		res.Rows = append(res.Rows, row)
	}
	res.Elapsed = time.Since(res.Started)
	res.Machine.LoadAfter = readLoad()
	return res, nil
}

// sizeSkip says why Terraform does not run op at size n: over the time
// limit when the same operation at the largest size measured so far,
// scaled linearly to n, exceeds it (Terraform grows at least linearly with
// the graph), else just the -terraform-max setting. A re-plan needs the
// apply before it, so it shares the apply's reason.
func (r *Result) sizeSkip(n int, op Op) string {
	if op == Replan {
		op = Apply
	}
	if ref, est := r.estimate(op, n); ref != nil && est > r.Options.Limit {
		return fmt.Sprintf("skipped: > %s", fmtLimit(r.Options.Limit))
	}
	return fmt.Sprintf("not run: N > %s", fmtCount(r.Options.TerraformMaxN))
}

// estimate is Terraform's time for op at size n, scaled linearly from the
// largest smaller size where op was measured, and that size's row (nil
// when there is none).
func (r *Result) estimate(op Op, n int) (*Row, time.Duration) {
	var ref *Row
	for i, row := range r.Rows {
		if _, ok := row.Terraform.Ops[op]; ok && row.N < n && (ref == nil || row.N > ref.N) {
			ref = &r.Rows[i]
		}
	}
	if ref == nil {
		return nil, 0
	}
	return ref, time.Duration(float64(ref.Terraform.Ops[op].Wall) * float64(n) / float64(ref.N))
}

func withDefaults(o Options) Options {
	d := DefaultOptions()
	if len(o.Sizes) == 0 {
		o.Sizes = d.Sizes
	}
	if o.Runs <= 0 {
		o.Runs = d.Runs
	}
	if o.RepeatUnder <= 0 {
		o.RepeatUnder = d.RepeatUnder
	}
	if o.Limit <= 0 {
		o.Limit = d.Limit
	}
	if o.TerraformMaxN <= 0 {
		o.TerraformMaxN = d.TerraformMaxN
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// terraformOps are the operations Terraform runs at size n.
func (o Options) terraformOps(n int) []Op {
	switch {
	case n <= o.TerraformMaxN:
		return Ops
	case n <= o.TerraformPlanMaxN:
		return Ops[:1]
	}
	return nil
}

// cellRun collects one tool's trials at one size.
type cellRun struct {
	tool   Tool
	ops    []Op
	trials []Trial
	first  time.Duration // the first trial's total wall time
	stop   bool          // no more trials: one failed or timed out
	failed map[Op]string
}

// wants reports whether trial r (0-based) should run.
func (c *cellRun) wants(r int, repeatUnder time.Duration) bool {
	if len(c.ops) == 0 || c.stop {
		return false
	}
	return r == 0 || c.first < repeatUnder
}

// trial runs one trial in a fresh temporary directory.
func (c *cellRun) trial(ctx context.Context, w *Workload, opts Options) error {
	dir, err := os.MkdirTemp(opts.WorkDir, fmt.Sprintf("tfbench-%s-n%d-", c.tool.Name(), w.N))
	if err != nil {
		c.stop = true
		return err
	}
	t, err := c.tool.Trial(ctx, dir, w, c.ops, opts.Limit)
	var total time.Duration
	for _, u := range t.Ops {
		total += u.Wall
	}
	if len(c.trials) == 0 {
		c.first = total
	}
	fmt.Fprintf(opts.Progress, "n=%d %s trial %d: %s\n", w.N, c.tool.Name(), len(c.trials)+1, t.summary(err))
	c.trials = append(c.trials, t)
	if err != nil {
		c.stop = true
		c.failed = make(map[Op]string)
		reason := "failed"
		if errors.Is(err, ErrTimeout) {
			reason = fmt.Sprintf("skipped: > %s", fmtLimit(opts.Limit))
		}
		for _, op := range c.ops {
			if _, ok := t.Ops[op]; !ok {
				c.failed[op] = reason
			}
		}
		if reason == "failed" {
			return fmt.Errorf("%s, N=%d (files kept in %s): %w", c.tool.Name(), w.N, dir, err)
		}
	}
	return os.RemoveAll(dir)
}

// cell reduces the trials to medians. An operation that failed in any
// trial is reported as failed rather than as the median of the others.
func (c *cellRun) cell() Cell {
	cell := Cell{Runs: len(c.trials), Ops: make(map[Op]Usage), Skipped: make(map[Op]string), Tried: c.ops}
	for op, why := range c.failed {
		cell.Skipped[op] = why
	}
	var peaks []int64
	for _, t := range c.trials {
		if t.Peak > 0 {
			peaks = append(peaks, t.Peak)
		}
	}
	for _, op := range c.ops {
		if _, bad := cell.Skipped[op]; bad {
			continue
		}
		var us []Usage
		for _, t := range c.trials {
			if u, ok := t.Ops[op]; ok {
				us = append(us, u)
			}
		}
		if len(us) > 0 {
			cell.Ops[op] = medianUsage(us)
		}
	}
	if len(cell.Skipped) == 0 && len(peaks) > 0 {
		cell.Peak = median(peaks)
		if len(c.ops) < len(Ops) {
			cell.PeakOf = "plan only"
		}
	}
	return cell
}

// medianUsage takes the median of each field on its own.
func medianUsage(us []Usage) Usage {
	walls, cpus, rss := make([]time.Duration, len(us)), make([]time.Duration, len(us)), make([]int64, len(us))
	for i, u := range us {
		walls[i], cpus[i], rss[i] = u.Wall, u.CPU, u.MaxRSS
	}
	return Usage{Wall: median(walls), CPU: median(cpus), MaxRSS: median(rss)}
}

// median is the middle value; of an even count, the mean of the middle two.
func median[T ~int64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

// summary is a progress line's measurements.
func (t Trial) summary(err error) string {
	var b []byte
	for _, op := range Ops {
		if u, ok := t.Ops[op]; ok {
			b = fmt.Appendf(b, "%s %s (cpu %s), ", op, fmtDuration(u.Wall), fmtDuration(u.CPU))
		}
	}
	if t.Peak > 0 {
		b = fmt.Appendf(b, "peak %s", fmtBytes(t.Peak))
	}
	if err != nil {
		b = fmt.Appendf(b, "; error: %v", err)
	}
	return string(b)
}
