package planner

import (
	"errors"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// FormatVersion is the version of the plan JSON format (plan files and
// `nexus plan -json`).
const FormatVersion = "1.0"

// ErrStalePlan is returned when a saved plan's base state (lineage and
// serial) is not the current state.
var ErrStalePlan = errors.New("Saved plan is stale")

// Plan is the set of changes that brings the state to the config.
type Plan struct {
	FormatVersion string `json:"format_version"`
	Project       string `json:"project"`
	// Lineage and Serial identify the state the plan was made against;
	// StateDigest is the digest of what it assumed of each module (see
	// StateDigest), so that the daemon's own bookkeeping writes (uptime,
	// restarts) do not make a plan stale, while any apply or lifecycle
	// change does.
	Lineage     string `json:"lineage"`
	Serial      uint64 `json:"serial"`
	StateDigest string `json:"state_digest"`
	// ConfigDigest is the digest of the configuration's files and variables.
	ConfigDigest string    `json:"config_digest"`
	CreatedAt    time.Time `json:"created_at"`
	// Destroy, Targets and Replace record how the plan was asked for.
	Destroy bool     `json:"destroy,omitempty"`
	Targets []string `json:"targets,omitempty"`
	Replace []string `json:"replace,omitempty"`
	// Changes are the actions, sorted by wave then address. Modules that
	// need nothing are not listed; Unchanged counts them.
	Changes   []*Change `json:"changes"`
	Unchanged int       `json:"unchanged"`
}

// Change is one action on one module instance.
type Change struct {
	Address string `json:"address"`
	ID      string `json:"id"`
	Action  Action `json:"action"`
	// Reason says why, for actions a reviewer might not expect: a replace
	// ("config.command cannot change in place"), a cascade restart ("hard
	// dependency module.synapse.bus is replaced"), a -replace request.
	Reason string `json:"reason,omitempty"`
	// Wave is the 1-based position in the order of application.
	Wave int `json:"wave"`
	// Before is the spec the state records (nil for a create); BeforeState
	// is the module's recorded lifecycle state.
	Before      *modules.Spec `json:"before,omitempty"`
	BeforeState modules.State `json:"before_state,omitempty"`
	// After is the desired spec (nil for a destroy).
	After *modules.Spec `json:"after,omitempty"`
	// ChangedAttrs lists what differs between Before and After: config
	// attributes as "config.<name>", other fields by block name. Sorted.
	ChangedAttrs []string `json:"changed_attrs,omitempty"`
	// Permissions are the permissions the module requires of whoever
	// applies it: its kind's manifest plus the block's own.
	Permissions []string `json:"permissions,omitempty"`
	// SealedConfig holds, for a sensitive module planned by the daemon, the
	// config encrypted with a key only the daemon holds; After.Config is
	// then empty, so the plan a client sees and saves shows none of it.
	SealedConfig []byte `json:"sealed_config,omitempty"`
	// Transitions are the lifecycle transitions, in order. They are the
	// action's (Action.Transitions) adjusted to where the module is and is
	// to be: a module created with state = "stopped" is only initialized
	// and loaded, a destroyed module that is stopped is only unloaded.
	Transitions []modules.Transition `json:"transitions"`
}

// Spec returns the desired spec, or the recorded one for a destroy.
func (c *Change) Spec() *modules.Spec {
	if c.After != nil {
		return c.After
	}
	return c.Before
}

// Verbs returns the permissions applying c needs beside "apply": its
// action's verbs and the verb of each transition it performs (init and load
// need module.load, start module.start, stop module.stop, unload
// module.unload, reconfigure module.reconfigure). Sorted, de-duplicated.
func (c *Change) Verbs() []string {
	set := map[string]bool{}
	for _, v := range c.Action.Verbs() {
		set[v] = true
	}
	for _, t := range c.Transitions {
		set[transitionVerbs[t]] = true
	}
	delete(set, "")
	return sortedKeys(set)
}

var transitionVerbs = map[modules.Transition]string{
	modules.TransitionInit:        "module.load",
	modules.TransitionLoad:        "module.load",
	modules.TransitionStart:       "module.start",
	modules.TransitionStop:        "module.stop",
	modules.TransitionUnload:      "module.unload",
	modules.TransitionReconfigure: "module.reconfigure",
}

// Summary counts a plan's changes the way its summary line reports them.
type Summary struct {
	Create, Update, Replace, Destroy, Start, Stop, Restart int
}

// Summary counts the plan's changes by action.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Replace:
			s.Replace++
		case Destroy:
			s.Destroy++
		case Start:
			s.Start++
		case Stop:
			s.Stop++
		case Restart:
			s.Restart++
		}
	}
	return s
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }
