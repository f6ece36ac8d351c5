package modules

import (
	"encoding/json"
	"fmt"
	"time"
)

// Spec is the desired description of one module instance, as the config
// package decodes it from a module block and as plans and the state carry it.
// It is pure data: JSON round-trips it exactly.
type Spec struct {
	// Address is the instance's address: module.<group>.<name>, with
	// ["key"] or [index] for for_each and count instances.
	Address string `json:"address"`
	// ID is the instance's id: <group>/<name>, with [key] or [index].
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Version string `json:"version,omitempty"`
	// Config holds secret placeholders, never secret values.
	Config Config `json:"config"`
	// Secrets lists every secret the config references, sorted.
	Secrets []SecretRef `json:"secrets,omitempty"`
	// DependsOn lists the addresses of hard dependencies: explicit
	// depends_on and every module the config refers to. Sorted.
	DependsOn []string `json:"depends_on,omitempty"`
	// After lists soft dependencies: ordering only. Sorted.
	After []string `json:"after,omitempty"`
	// Permissions are the block's own `permissions`; the kind's manifest
	// adds its own at authorization time.
	Permissions []string `json:"permissions,omitempty"`
	// Sensitive hides every config value wherever the spec is shown;
	// SensitivePaths hides those that came from sensitive variables
	// ("config.env.TOKEN"). Sorted.
	Sensitive      bool           `json:"sensitive,omitempty"`
	SensitivePaths []string       `json:"sensitive_paths,omitempty"`
	DesiredState   DesiredState   `json:"desired_state"`
	OnSecretChange OnSecretChange `json:"on_secret_change"`
	Health         *HealthCheck   `json:"health,omitempty"`
	Restart        RestartPolicy  `json:"restart"`
	Limits         Limits         `json:"limits"`
	Timeouts       Timeouts       `json:"timeouts"`
}

// DesiredState is a module block's `state`: whether it should run.
type DesiredState string

// The desired states.
const (
	DesiredStarted DesiredState = "started"
	DesiredStopped DesiredState = "stopped"
)

// OnSecretChange says what happens when a referenced secret rotates.
type OnSecretChange string

// The on_secret_change values.
const (
	OnSecretRestart OnSecretChange = "restart"
	OnSecretReload  OnSecretChange = "reload"
	OnSecretNoop    OnSecretChange = "noop"
)

// HealthCheck is a module block's `health` block. Exactly one of HTTP, TCP
// and Exec is set.
type HealthCheck struct {
	HTTP             string   `json:"http,omitempty"`
	TCP              string   `json:"tcp,omitempty"`
	Exec             []string `json:"exec,omitempty"`
	Interval         Duration `json:"interval"`
	Timeout          Duration `json:"timeout"`
	FailureThreshold int      `json:"failure_threshold"`
}

// Health check defaults.
const (
	DefaultHealthInterval         = 10 * time.Second
	DefaultHealthTimeout          = 2 * time.Second
	DefaultHealthFailureThreshold = 3
)

// RestartMode is a restart block's `policy`.
type RestartMode string

// The restart policies.
const (
	RestartNever     RestartMode = "never"
	RestartOnFailure RestartMode = "on-failure"
	RestartAlways    RestartMode = "always"
)

// RestartPolicy is a module block's `restart` block. After MaxAttempts
// restarts within Window the module is marked failed. Backoff doubles per
// attempt, capped at MaxBackoff.
type RestartPolicy struct {
	Policy      RestartMode `json:"policy"`
	MaxAttempts int         `json:"max_attempts"`
	Window      Duration    `json:"window"`
	Backoff     Duration    `json:"backoff"`
	MaxBackoff  Duration    `json:"max_backoff"`
}

// DefaultRestartPolicy is used when a module block has no restart block.
var DefaultRestartPolicy = RestartPolicy{
	Policy:      RestartOnFailure,
	MaxAttempts: 5,
	Window:      Duration(10 * time.Minute),
	Backoff:     Duration(time.Second),
	MaxBackoff:  Duration(time.Minute),
}

// Limits is a module block's `limits` block; zero means no limit.
type Limits struct {
	MemoryMB   int `json:"memory_mb,omitempty"`
	CPUPercent int `json:"cpu_percent,omitempty"`
}

// Timeouts is a module block's `timeouts` block: the bound on each
// transition. Start covers init, load and start; Stop covers stop and unload.
type Timeouts struct {
	Start Duration `json:"start"`
	Stop  Duration `json:"stop"`
}

// DefaultTimeouts is used when a module block has no timeouts block.
var DefaultTimeouts = Timeouts{Start: Duration(30 * time.Second), Stop: Duration(10 * time.Second)}

// Usage is a module's resource use, as state, status and metrics report it.
type Usage struct {
	CPUSeconds    float64 `json:"cpu_seconds"`
	MemoryMB      float64 `json:"memory_mb"`
	RequestsTotal uint64  `json:"requests_total"`
	ErrorsTotal   uint64  `json:"errors_total"`
}

// Duration is a time.Duration that reads and writes as a Go duration string
// ("10s", "1m30s") in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
