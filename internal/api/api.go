package api

import (
	"time"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// MaxRequestBytes bounds a request body; a topology's files and a plan fit
// easily, a 100 MB body does not.
const MaxRequestBytes = 32 << 20

// PlanRequest is POST /v1/plan: the configuration's files and what they
// read from the client's machine, and plan's selection flags.
type PlanRequest struct {
	// Dir is the directory's name on the client, for messages only.
	Dir   string            `json:"dir,omitempty"`
	Files map[string][]byte `json:"files"`
	// Inputs are the env() and file() values the client's load read.
	Inputs   config.Inputs          `json:"inputs"`
	Vars     []config.VarAssignment `json:"vars,omitempty"`
	VarFiles []config.File          `json:"var_files,omitempty"`
	Targets  []string               `json:"targets,omitempty"`
	Replace  []string               `json:"replace,omitempty"`
	Destroy  bool                   `json:"destroy,omitempty"`
}

// PlanResponse carries the plan, or the diagnostics that prevented one
// (with status 422). Warnings may come with a plan.
type PlanResponse struct {
	Plan        *planner.Plan `json:"plan,omitempty"`
	Diagnostics []Diagnostic  `json:"diagnostics,omitempty"`
}

// Diagnostic is an HCL diagnostic on the wire.
type Diagnostic struct {
	Severity string `json:"severity"` // error | warning
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Range    *Range `json:"range,omitempty"`
}

// Range is a source range; lines and columns start at 1, bytes at 0.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Pos is a position in a file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// ApplyRequest is POST /v1/apply. The answer is a stream of Message lines
// (application/x-ndjson) once the apply has started; a refusal before that
// (stale plan, lock held, permission denied) is an Error with a 4xx status.
type ApplyRequest struct {
	Plan        *planner.Plan `json:"plan"`
	Parallelism int           `json:"parallelism,omitempty"`
	Strategy    string        `json:"strategy,omitempty"`
	// LockTimeout is how long to wait for the project's lock ("0s": fail at once).
	LockTimeout string `json:"lock_timeout,omitempty"`
}

// CancelRequest is POST /v1/apply/cancel: stop the apply whose request id
// (X-Request-Id) is ID from starting new transitions; with Abort, cancel the
// running ones too (a second Ctrl-C).
type CancelRequest struct {
	ID    string `json:"id"`
	Abort bool   `json:"abort,omitempty"`
}

// Message is one line of the apply stream, in the shape of Terraform's
// `apply -json` messages.
type Message struct {
	Level     string          `json:"@level"`
	Text      string          `json:"@message"`
	Module    string          `json:"@module"`
	Timestamp time.Time       `json:"@timestamp"`
	Type      string          `json:"type"`
	Hook      *Hook           `json:"hook,omitempty"`
	Summary   *ApplySummary   `json:"changes,omitempty"`
	Event     *executor.Event `json:"-"`
}

// Hook describes the transition an apply message is about.
type Hook struct {
	Address    string `json:"address"`
	ID         string `json:"id"`
	Action     string `json:"action"`
	Transition string `json:"transition,omitempty"`
	Wave       int    `json:"wave,omitempty"`
	ElapsedMS  int64  `json:"elapsed_ms,omitempty"`
	Error      string `json:"error,omitempty"`
	Cause      string `json:"cause,omitempty"`
}

// ApplySummary closes the apply stream.
type ApplySummary struct {
	Changes     int      `json:"changes"`
	Succeeded   int      `json:"succeeded"`
	Failed      int      `json:"failed"`
	Skipped     int      `json:"skipped"`
	NotStarted  int      `json:"not_started"`
	Transitions int      `json:"transitions"`
	ElapsedMS   int64    `json:"elapsed_ms"`
	Errors      []string `json:"errors,omitempty"`
	Serial      uint64   `json:"serial"`
}

// Error is every non-2xx answer's body.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Missing lists, for a permission denial, each module's missing permissions.
	Missing []Missing `json:"missing,omitempty"`
}

// Missing is one missing permission.
type Missing struct {
	Module     string `json:"module,omitempty"`
	Permission string `json:"permission"`
}

// Error codes.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauth           = "unauthenticated"
	CodeDenied           = "permission_denied"
	CodeNotFound         = "not_found"
	CodeStalePlan        = "stale_plan"
	CodeLocked           = "locked"
	CodeInvalid          = "invalid_config"
	CodeTooLarge         = "request_too_large"
	CodeUnsupported      = "unsupported_media_type"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
)

// StatusResponse is GET /v1/status.
type StatusResponse struct {
	Node     string          `json:"node"`
	Version  string          `json:"version"`
	Ready    bool            `json:"ready"`
	Projects []ProjectStatus `json:"projects"`
}

// ProjectStatus is one project's modules.
type ProjectStatus struct {
	Project string         `json:"project"`
	Serial  uint64         `json:"serial"`
	Ready   bool           `json:"ready"`
	Modules []ModuleStatus `json:"modules"`
}

// ModuleStatus is one module as status and /v1/modules/{id} show it.
type ModuleStatus struct {
	Project       string         `json:"project"`
	Address       string         `json:"address"`
	ID            string         `json:"id"`
	Kind          string         `json:"kind"`
	Version       string         `json:"version,omitempty"`
	State         modules.State  `json:"state"`
	Desired       string         `json:"desired_state"`
	Health        modules.Health `json:"health"`
	StartedAt     *time.Time     `json:"started_at,omitempty"`
	StoppedAt     *time.Time     `json:"stopped_at,omitempty"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Restarts      int            `json:"restarts"`
	LastError     string         `json:"last_error,omitempty"`
	Usage         modules.Usage  `json:"usage"`
	DependsOn     []string       `json:"depends_on,omitempty"`
	// Config is shown by /v1/modules/{id}: secret references as
	// "(secret: …)", all values "(sensitive value)" for a sensitive module.
	Config map[string]any `json:"config,omitempty"`
}

// StateRmRequest is POST /v1/state/rm.
type StateRmRequest struct {
	Project   string   `json:"project"`
	Addresses []string `json:"addresses"`
}

// StateRmResponse lists what was removed.
type StateRmResponse struct {
	Removed []string `json:"removed"`
	Serial  uint64   `json:"serial"`
}

// StatePushRequest is POST /v1/state/push: it replaces the project's
// document, refused unless the lineage matches and the serial is newer, or
// Force is set.
type StatePushRequest struct {
	State *state.State `json:"state"`
	Force bool         `json:"force,omitempty"`
}

// StateHistoryResponse is GET /v1/state/history.
type StateHistoryResponse struct {
	Project string               `json:"project"`
	Entries []state.HistoryEntry `json:"entries"`
}

// ForceUnlockRequest is POST /v1/force-unlock.
type ForceUnlockRequest struct {
	Project string `json:"project"`
	ID      string `json:"id"`
}

// SecretRequest is POST /v1/secrets (put, with Value) and DELETE /v1/secrets.
type SecretRequest struct {
	Provider string `json:"provider"`
	Path     string `json:"path"`
	Key      string `json:"key,omitempty"`
	Value    string `json:"value,omitempty"`
}

// SecretsListResponse is GET /v1/secrets?provider=&prefix=: paths only.
type SecretsListResponse struct {
	Provider string   `json:"provider"`
	Paths    []string `json:"paths"`
}

// AuditResponse is GET /v1/audit?since=DURATION.
type AuditResponse struct {
	Records []audit.Record `json:"records"`
}
