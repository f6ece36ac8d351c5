package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/nexus-run/nexus/internal/api"
)

// ApplyView renders an apply's stream of messages.
type ApplyView interface {
	Message(m api.Message)
	// Close finishes the display (stops a progress display).
	Close()
}

// NewApplyJSON writes each message as one JSON line: the NDJSON stream
// `nexus apply --json` prints.
func NewApplyJSON(w io.Writer) ApplyView { return &applyJSON{enc: json.NewEncoder(w)} }

type applyJSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (a *applyJSON) Message(m api.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.enc.Encode(m)
}

func (a *applyJSON) Close() {}

// NewApplyPlain writes one line per finished transition, for logs and CI:
// completions, failures, skips, and the closing summary with each root
// cause once.
func NewApplyPlain(w io.Writer, color bool) ApplyView {
	return &applyPlain{w: w, c: palette{on: color}}
}

type applyPlain struct {
	mu sync.Mutex
	w  io.Writer
	c  palette
}

func (a *applyPlain) Message(m api.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if line := plainLine(m, a.c); line != "" {
		fmt.Fprintln(a.w, line)
	}
}

func (a *applyPlain) Close() {}

// plainLine is the one-line form of a message ("" for messages that do not
// get a line of their own, like transition starts).
func plainLine(m api.Message, c palette) string {
	switch m.Type {
	case "apply_start":
		return c.bold(m.Text + "...")
	case "transition_complete":
		return m.Hook.Address + ": " + strings.TrimPrefix(m.Text, m.Hook.Address+": ")
	case "transition_errored":
		return c.red(m.Hook.Address+": "+string(m.Hook.Transition)+" failed") + ": " + m.Hook.Error
	case "transition_skipped":
		return c.yellow(m.Hook.Address+": skipped") + " (" + m.Hook.Cause + " failed)"
	case "apply_complete":
		return summaryText(m, c)
	}
	return ""
}

func summaryText(m api.Message, c palette) string {
	s := m.Summary
	if s == nil {
		return m.Text
	}
	var b strings.Builder
	b.WriteString("\n")
	if s.Failed == 0 && s.NotStarted == 0 {
		fmt.Fprintf(&b, "%s %d changed in %s (%d transitions). State serial %d.",
			c.green("Apply complete!"), s.Succeeded, elapsed(s.ElapsedMS), s.Transitions, s.Serial)
		return b.String()
	}
	head := "Apply failed."
	if s.Failed == 0 {
		head = "Apply interrupted."
	}
	fmt.Fprintf(&b, "%s %d changed, %d failed, %d skipped, %d not started. State serial %d.",
		c.red(head), s.Succeeded, s.Failed, s.Skipped, s.NotStarted, s.Serial)
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "\n  %s %s", c.red("Error:"), e)
	}
	return b.String()
}

func elapsed(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%dms", ms)
	}
	return fmt.Sprintf("%.2fs", float64(ms)/1000)
}
