package views

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/modules"
)

// Status renders the modules of every project as a table: module, kind,
// state, health, uptime (since the module last started, as of now),
// restarts.
func Status(w io.Writer, s *api.StatusResponse, color bool, now time.Time) error {
	return StatusTable(w, s, StatusOptions{Color: color, Now: now})
}

// StatusOptions tune StatusTable.
type StatusOptions struct {
	Color bool
	// Wide adds each module's resource use: CPU time and resident memory
	// (measured for process kinds like exec, "-" for in-process kinds),
	// and the operations it tracked and how many failed.
	Wide bool
	// Now is the time uptimes are counted to.
	Now time.Time
}

// StatusTable renders the status table Status does, with the usage columns
// CPU, MEM, REQS and ERRS when o.Wide.
func StatusTable(w io.Writer, s *api.StatusResponse, o StatusOptions) error {
	c := palette{on: o.Color}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	multi := len(s.Projects) > 1
	header := "MODULE\tKIND\tSTATE\tHEALTH\tUPTIME\tRESTARTS"
	if multi {
		header = "PROJECT\t" + header
	}
	if o.Wide {
		header += "\tCPU\tMEM\tREQS\tERRS"
	}
	fmt.Fprintln(tw, header)
	n := 0
	for _, p := range s.Projects {
		for _, m := range p.Modules {
			n++
			row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d", m.ID, m.Kind, stateCell(string(m.State), c), healthCell(m, c),
				uptime(m, o.Now), m.Restarts)
			if multi {
				row = p.Project + "\t" + row
			}
			if o.Wide {
				row += "\t" + usageCells(m.Usage)
			}
			fmt.Fprintln(tw, row)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		_, err := fmt.Fprintln(w, "No modules. Apply a topology with: nexus apply DIR")
		return err
	}
	ready := c.green("ready")
	if !s.Ready {
		ready = c.yellow("not ready")
	}
	_, err := fmt.Fprintf(w, "\n%d modules on %s, %s.\n", n, s.Node, ready)
	return err
}

// StatusJSON writes the status document.
func StatusJSON(w io.Writer, s *api.StatusResponse) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func stateCell(s string, c palette) string {
	switch s {
	case "started":
		return c.green(s)
	case "failed":
		return c.red(s)
	}
	return s
}

func healthCell(m api.ModuleStatus, c palette) string {
	h := string(m.Health.Status)
	if h == "" {
		h = "unknown"
	}
	switch m.Health.Status {
	case "healthy":
		h = c.green(h)
	case "degraded":
		h = c.yellow(h)
	case "unhealthy":
		h = c.red(h)
	}
	if m.State == "started" && !m.Health.Ready {
		h += " (not ready)"
	}
	return h
}

func uptime(m api.ModuleStatus, now time.Time) string {
	if m.State != "started" || m.StartedAt == nil {
		return "-"
	}
	return formatDuration(max(0, now.Sub(*m.StartedAt)))
}

// usageCells renders CPU time, memory, requests and errors; CPU and memory
// are "-" when not measured (in-process kinds).
func usageCells(u modules.Usage) string {
	cpu, mem := "-", "-"
	if u.CPUSeconds > 0 {
		cpu = cpuTime(u.CPUSeconds)
	}
	if u.MemoryMB > 0 {
		mem = memory(u.MemoryMB)
	}
	return fmt.Sprintf("%s\t%s\t%d\t%d", cpu, mem, u.RequestsTotal, u.ErrorsTotal)
}

func cpuTime(sec float64) string {
	if sec < 60 {
		return fmt.Sprintf("%.2fs", sec)
	}
	return formatDuration(time.Duration(sec * float64(time.Second)))
}

func memory(mb float64) string {
	switch {
	case mb < 1:
		return fmt.Sprintf("%.0fKiB", mb*1024)
	case mb < 1024:
		return fmt.Sprintf("%.1fMiB", mb)
	}
	return fmt.Sprintf("%.2fGiB", mb/1024)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
