package views

import (
	"encoding/json"
	"io"

	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/planner"
)

// JSONPlan is the machine-readable plan `nexus plan -json` prints. Its
// format_version changes only when a field changes meaning or goes away.
type JSONPlan struct {
	FormatVersion string       `json:"format_version"`
	Project       string       `json:"project"`
	Lineage       string       `json:"lineage,omitempty"`
	Serial        uint64       `json:"serial"`
	ConfigDigest  string       `json:"config_digest"`
	HasChanges    bool         `json:"has_changes"`
	Summary       JSONSummary  `json:"summary"`
	SummaryLine   string       `json:"summary_line"`
	Changes       []JSONChange `json:"changes"`
}

// JSONSummary counts changes by action.
type JSONSummary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Replace   int `json:"replace"`
	Destroy   int `json:"destroy"`
	Start     int `json:"start"`
	Stop      int `json:"stop"`
	Restart   int `json:"restart"`
	Unchanged int `json:"unchanged"`
}

// JSONChange is one change. Config values show secret references as
// "(secret: provider path#key)" and sensitive values as "(sensitive value)".
type JSONChange struct {
	Address     string         `json:"address"`
	ID          string         `json:"id"`
	Kind        string         `json:"kind"`
	Version     string         `json:"version,omitempty"`
	Action      string         `json:"action"`
	Marker      string         `json:"marker"`
	Reason      string         `json:"reason,omitempty"`
	Wave        int            `json:"wave"`
	Transitions []string       `json:"transitions"`
	Changed     []string       `json:"changed,omitempty"`
	Before      map[string]any `json:"before,omitempty"`
	After       map[string]any `json:"after,omitempty"`
	Secrets     []string       `json:"secrets,omitempty"`
	Permissions []string       `json:"permissions,omitempty"`
}

// NewJSONPlan converts a plan to its JSON view.
func NewJSONPlan(p *planner.Plan) *JSONPlan {
	s := p.Summary()
	out := &JSONPlan{
		FormatVersion: planner.FormatVersion,
		Project:       p.Project, Lineage: p.Lineage, Serial: p.Serial, ConfigDigest: p.ConfigDigest,
		HasChanges: p.HasChanges(),
		Summary: JSONSummary{Create: s.Create, Update: s.Update, Replace: s.Replace, Destroy: s.Destroy,
			Start: s.Start, Stop: s.Stop, Restart: s.Restart, Unchanged: p.Unchanged},
		SummaryLine: SummaryLine(p),
		Changes:     make([]JSONChange, 0, len(p.Changes)),
	}
	for _, c := range p.Changes {
		spec := c.Spec()
		jc := JSONChange{
			Address: c.Address, ID: c.ID, Kind: spec.Kind, Version: spec.Version,
			Action: c.Action.String(), Marker: c.Action.Marker(), Reason: c.Reason, Wave: c.Wave,
			Changed: c.ChangedAttrs, Permissions: c.Permissions,
		}
		for _, t := range c.Transitions {
			jc.Transitions = append(jc.Transitions, string(t))
		}
		r := redact.New(hiddenPaths(c))
		if c.Before != nil {
			jc.Before = r.Object(c.Before.Config.Value())
		}
		if c.After != nil {
			jc.After = r.Object(c.After.Config.Value())
		}
		for _, ref := range spec.Secrets {
			jc.Secrets = append(jc.Secrets, ref.String())
		}
		out.Changes = append(out.Changes, jc)
	}
	return out
}

// PlanJSON writes the JSON view of a plan.
func PlanJSON(w io.Writer, p *planner.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewJSONPlan(p))
}
