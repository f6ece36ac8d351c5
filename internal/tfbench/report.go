package tfbench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Markdown renders the run: where and when it ran, the wall-clock and
// memory table with ratios, the CPU table, the issues' targets, and the
// errors of failed trials.
func (r *Result) Markdown(command string) string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Made by `%s` on %s (took %s).\n\n", command, r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %d logical CPUs (%s), %s RAM, Linux %s; load average %s before, %s after (1, 5, 15 min).\n",
		m.Cores, orUnknown(m.CPU), fmtGiB(m.MemTotal), orUnknown(m.Kernel), orUnknown(m.LoadBefore), orUnknown(m.LoadAfter))
	fmt.Fprintf(&b, "- Versions: nexus %s, Terraform %s, Go %s.\n", r.NexusVersion, r.TerraformVersion, strings.TrimPrefix(m.GoVersion, "go"))
	fmt.Fprintf(&b, "- Graph: seed %d; every module but the first two depends on two random earlier ones. Medians of up to %d trials (one when a trial takes over %s); the \"runs\" column says how many.\n\n",
		r.Options.Seed, r.Options.Runs, fmtLimit(r.Options.RepeatUnder))
	b.WriteString("### Wall-clock time and peak memory\n\n")
	b.WriteString(r.table(func(u Usage) time.Duration { return u.Wall }, true))
	b.WriteString("\n" + r.verdict() + "\n\n")
	if note := r.skipNote(); note != "" {
		b.WriteString(note + "\n\n")
	}
	b.WriteString("### CPU time (user + system of every process involved)\n\n")
	b.WriteString(r.table(func(u Usage) time.Duration { return u.CPU }, false))
	if t := r.targets(); t != "" {
		b.WriteString("\n### Targets quoted in the issues\n\n" + t)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n### Failed trials\n\n")
		for _, err := range r.Errors {
			fmt.Fprintf(&b, "```\n%v\n```\n\n", err)
		}
	}
	return b.String()
}

// table renders one row per size and operation with the metric of pick,
// plus a peak memory row per size when withPeak.
func (r *Result) table(pick func(Usage) time.Duration, withPeak bool) string {
	var b strings.Builder
	b.WriteString("| N | operation | nexus | Terraform | ratio (Terraform / nexus) | runs (nexus, Terraform) |\n")
	b.WriteString("|---:|---|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		runs := fmt.Sprintf("%d, %d", row.Nexus.Runs, row.Terraform.Runs)
		for _, op := range Ops {
			nx, nok := row.Nexus.Ops[op]
			tf, tok := row.Terraform.Ops[op]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", fmtCount(row.N), op,
				cellText(nok, fmtDuration(pick(nx)), row.Nexus.Skipped[op]),
				cellText(tok, fmtDuration(pick(tf)), row.Terraform.Skipped[op]),
				ratio(nok && tok, float64(pick(tf)), float64(pick(nx))), runs)
		}
		if withPeak {
			tfPeak := fmtBytes(row.Terraform.Peak)
			if row.Terraform.PeakOf != "" {
				tfPeak += " (" + row.Terraform.PeakOf + ")"
			}
			nok, tok := row.Nexus.Peak > 0, row.Terraform.Peak > 0
			fmt.Fprintf(&b, "| %s | peak memory | %s | %s | %s | %s |\n", fmtCount(row.N),
				cellText(nok, fmtBytes(row.Nexus.Peak), peakSkipped(row.Nexus)),
				cellText(tok, tfPeak, peakSkipped(row.Terraform)),
				ratio(nok && tok && row.Terraform.PeakOf == "", float64(row.Terraform.Peak), float64(row.Nexus.Peak)), runs)
		}
	}
	return b.String()
}

// verdict says whether nexus is ahead on every row both tools measured,
// naming the rows where it is not.
func (r *Result) verdict() string {
	var behind []string
	compared := 0
	for _, row := range r.Rows {
		for _, op := range Ops {
			nx, nok := row.Nexus.Ops[op]
			tf, tok := row.Terraform.Ops[op]
			if nok && tok {
				compared++
				if tf.Wall <= nx.Wall {
					behind = append(behind, fmt.Sprintf("N=%s %s", fmtCount(row.N), op))
				}
			}
		}
		if row.Nexus.Peak > 0 && row.Terraform.Peak > 0 && row.Terraform.PeakOf == "" {
			compared++
			if row.Terraform.Peak <= row.Nexus.Peak {
				behind = append(behind, fmt.Sprintf("N=%s peak memory", fmtCount(row.N)))
			}
		}
	}
	switch {
	case compared == 0:
		return "No row has numbers from both tools."
	case len(behind) == 0:
		return fmt.Sprintf("nexus is ahead of Terraform on every row measured for both (%d of them: wall-clock time and peak memory).", compared)
	}
	return fmt.Sprintf("nexus is NOT ahead of Terraform on %d of %d rows measured for both: %s.", len(behind), compared, strings.Join(behind, "; "))
}

// skipNote justifies each "skipped: > limit" of a Terraform plan or apply
// the run did not attempt with the same operation at a smaller size, scaled
// linearly.
func (r *Result) skipNote() string {
	over := fmt.Sprintf("skipped: > %s", fmtLimit(r.Options.Limit))
	var notes []string
	for _, row := range r.Rows {
		for _, op := range []Op{Plan, Apply} {
			if row.Terraform.Skipped[op] != over || slices.Contains(row.Terraform.Tried, op) {
				continue // measured, or timed out for real
			}
			ref, est := r.estimate(op, row.N)
			if ref == nil || est <= r.Options.Limit {
				continue
			}
			notes = append(notes, fmt.Sprintf("Terraform's %s at N = %s was not run: at N = %s it took %s here, so %s× the graph needs about %s even if the time grew only linearly, past the %s limit.",
				op, fmtCount(row.N), fmtCount(ref.N), fmtDuration(ref.Terraform.Ops[op].Wall), fmtRatio(float64(row.N)/float64(ref.N)), fmtLimit(est.Round(time.Minute)), fmtLimit(r.Options.Limit)))
		}
	}
	return strings.Join(notes, " ")
}

// targets checks the numbers the issues quote, when the run has N=1,000.
func (r *Result) targets() string {
	var row *Row
	for i := range r.Rows {
		if r.Rows[i].N == 1000 {
			row = &r.Rows[i]
		}
	}
	if row == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("| target (N = 1,000) | quoted | measured here | met |\n|---|---:|---:|---|\n")
	if u, ok := row.Nexus.Ops[Apply]; ok {
		fmt.Fprintf(&b, "| `nexus apply -auto-approve`, end to end through the daemon | < 1 s | %s | %s |\n", fmtDuration(u.Wall), yesNo(u.Wall < time.Second))
	}
	if u, ok := row.Terraform.Ops[Apply]; ok {
		fmt.Fprintf(&b, "| `terraform apply -auto-approve` of the same graph | ~66 s | %s | (reference) |\n", fmtDuration(u.Wall))
	}
	if u, ok := row.Terraform.Ops[Plan]; ok {
		fmt.Fprintf(&b, "| `terraform plan` | ~2.8 s | %s | (reference) |\n", fmtDuration(u.Wall))
	}
	return b.String()
}

func peakSkipped(c Cell) string {
	for _, op := range Ops {
		if why, ok := c.Skipped[op]; ok {
			return why
		}
	}
	return "not measured"
}

func cellText(ok bool, text, skipped string) string {
	switch {
	case ok:
		return text
	case skipped != "":
		return skipped
	}
	return "not measured"
}

func ratio(ok bool, tf, nx float64) string {
	if !ok || nx <= 0 {
		return "—"
	}
	q := tf / nx
	if q < 10 {
		return fmt.Sprintf("%.2f×", q)
	}
	return fmt.Sprintf("%.0f×", q)
}

// fmtRatio is a size ratio: 10, 2.5.
func fmtRatio(q float64) string { return strconv.FormatFloat(q, 'g', 3, 64) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// fmtDuration shows three significant digits: 4.2 ms, 523 ms, 5.76 s, 66.2 s.
func fmtDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 0.01:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	case s < 100:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// fmtLimit is a time setting as the text says it: "10 min", "30 s".
func fmtLimit(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return d.String()
}

func fmtBytes(n int64) string {
	mib := float64(n) / (1 << 20)
	if mib < 10 {
		return fmt.Sprintf("%.1f MiB", mib)
	}
	return fmt.Sprintf("%.0f MiB", mib)
}

func fmtGiB(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// fmtCount writes n with thousands separators: 10,000.
func fmtCount(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
