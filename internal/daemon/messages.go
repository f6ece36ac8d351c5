package daemon

import (
	"fmt"
	"time"

	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/planner"
)

// message turns an executor event into an apply stream line, worded like
// Terraform's apply -json messages.
func message(e executor.Event) api.Message {
	m := api.Message{Level: "info", Module: "nexus.ui", Timestamp: e.Time.UTC(), Type: string(e.Type)}
	if e.Address != "" {
		m.Hook = &api.Hook{Address: e.Address, ID: e.ID, Action: e.Action.String(), Transition: string(e.Transition),
			Wave: e.Wave, ElapsedMS: e.Duration.Milliseconds(), Error: e.Error, Cause: e.Cause}
	}
	switch e.Type {
	case executor.EventApplyStart:
		m.Text = fmt.Sprintf("Applying %d changes", e.Changes)
	case executor.EventTransitionStart:
		m.Text = fmt.Sprintf("%s: %s...", e.Address, e.Transition)
	case executor.EventTransitionComplete:
		m.Text = fmt.Sprintf("%s: %s complete after %s", e.Address, e.Transition, roundDuration(e.Duration))
	case executor.EventTransitionErrored:
		m.Level = "error"
		m.Text = fmt.Sprintf("%s: %s failed: %s", e.Address, e.Transition, e.Error)
	case executor.EventTransitionSkipped:
		m.Level = "warn"
		m.Text = fmt.Sprintf("%s: skipped because %s failed", e.Address, e.Cause)
	}
	return m
}

// completeMessage is the stream's last line.
func completeMessage(p *planner.Plan, sum *executor.Summary, err error, serial uint64, now time.Time) api.Message {
	m := api.Message{Level: "info", Module: "nexus.ui", Timestamp: now.UTC(), Type: string(executor.EventApplyComplete)}
	s := &api.ApplySummary{Changes: len(p.Changes), Serial: serial}
	if sum != nil {
		s.Succeeded, s.Failed, s.Skipped, s.NotStarted = sum.Succeeded, sum.Failed, sum.Skipped, sum.NotStarted
		s.Transitions, s.ElapsedMS = sum.Transitions, sum.Duration.Milliseconds()
		for _, e := range sum.Errors {
			s.Errors = append(s.Errors, e.Error())
		}
	}
	m.Summary = s
	m.Text = fmt.Sprintf("Apply complete! %d changed, %d failed, %d skipped.", s.Succeeded, s.Failed, s.Skipped)
	if err != nil {
		m.Level = "error"
		m.Text = fmt.Sprintf("Apply failed: %v. %d changed, %d failed, %d skipped, %d not started.", err, s.Succeeded, s.Failed, s.Skipped, s.NotStarted)
	}
	return m
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d
}
