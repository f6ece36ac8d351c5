package executor

import (
	"time"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// EventType names an apply event. The names are part of the NDJSON stream
// `nexus apply -json` prints and the daemon's /v1/apply answers.
type EventType string

// The event types.
const (
	EventApplyStart         EventType = "apply_start"
	EventTransitionStart    EventType = "transition_start"
	EventTransitionComplete EventType = "transition_complete"
	EventTransitionErrored  EventType = "transition_errored"
	EventTransitionSkipped  EventType = "transition_skipped"
	EventApplyComplete      EventType = "apply_complete"
)

// Event is one thing that happened during an apply.
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"`
	// Address, ID, Action and Wave identify the change (empty for apply_*).
	Address    string             `json:"address,omitempty"`
	ID         string             `json:"id,omitempty"`
	Action     planner.Action     `json:"action,omitempty"`
	Wave       int                `json:"wave,omitempty"`
	Transition modules.Transition `json:"transition,omitempty"`
	// Duration is the transition's (complete, errored) or the apply's.
	Duration time.Duration `json:"duration,omitempty"`
	Error    string        `json:"error,omitempty"`
	// Cause is, for a skipped step, the address whose failure skipped it.
	Cause string `json:"cause,omitempty"`
	// Changes is the number of changes (apply_start); Summary comes with
	// apply_complete.
	Changes int      `json:"changes,omitempty"`
	Summary *Summary `json:"summary,omitempty"`
}
