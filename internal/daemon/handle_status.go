package daemon

import (
	"maps"
	"net/http"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/redact"
	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/internal/telemetry"
	"github.com/nexus-run/nexus/internal/version"
	"github.com/nexus-run/nexus/modules"
)

// handleStatus lists every project's modules (or ?project=NAME's): what the
// runtime knows, and for modules the runtime does not hold, what the state
// records.
func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request, _ string) {
	resp := api.StatusResponse{Node: d.node, Version: version.Version, Ready: d.ready.Load(), Projects: []api.ProjectStatus{}}
	only := r.URL.Query().Get("project")
	for _, p := range d.projectList() {
		if only != "" && p.name != only {
			continue
		}
		ps := p.status(false)
		resp.Ready = resp.Ready && ps.Ready
		resp.Projects = append(resp.Projects, ps)
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleModule shows one module by id ("vitals/heartbeat") or address.
func (d *Daemon) handleModule(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	only := r.URL.Query().Get("project")
	for _, p := range d.projectList() {
		if only != "" && p.name != only {
			continue
		}
		for _, m := range p.status(true).Modules {
			if m.ID == id || m.Address == id {
				writeJSON(w, http.StatusOK, m)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "no module " + id + " (nexus status lists the ids)"})
}

// status builds the project's module list, sorted by address.
func (p *project) status(withConfig bool) api.ProjectStatus {
	doc := p.rec.snapshot()
	live := map[string]runtime.ModuleStatus{}
	for _, st := range p.rt.Snapshot() {
		live[st.Spec.Address] = st
	}
	ps := api.ProjectStatus{Project: p.name, Serial: doc.Serial, Ready: true, Modules: []api.ModuleStatus{}}
	for _, addr := range doc.Addresses() {
		rec := doc.Modules[addr]
		ms := api.ModuleStatus{Project: p.name, Address: addr, ID: rec.Spec.ID, Kind: rec.Spec.Kind, Version: rec.Spec.Version,
			State: rec.State, Desired: string(rec.Spec.DesiredState), Restarts: rec.Restarts, LastError: rec.LastError,
			UptimeSeconds: rec.UptimeSeconds, Usage: rec.Usage, DependsOn: rec.Spec.DependsOn,
			StartedAt: rec.StartedAt, StoppedAt: rec.StoppedAt,
			Health: modules.Health{Status: modules.StatusUnhealthy, Details: map[string]string{"state": string(rec.State)}}}
		spec := rec.Spec
		if _, ok := live[addr]; !ok {
			ms.StartedAt = nil
			ms.Health.Details["runtime"] = "not running in this daemon"
		}
		if st, ok := live[addr]; ok {
			m := rec.Clone()
			p.fill(m, st)
			ms.State, ms.Health, ms.Restarts, ms.LastError = st.State, st.Health, m.Restarts, st.LastError
			ms.UptimeSeconds, ms.Usage, ms.StartedAt, ms.StoppedAt = m.UptimeSeconds, st.Usage, m.StartedAt, m.StoppedAt
			spec = st.Spec
		}
		if withConfig {
			ms.Config = redact.New(nil, spec.Sensitive).Object(spec.Config.Value())
		}
		if spec.DesiredState == modules.DesiredStarted && !ms.Health.Ready {
			ps.Ready = false
		}
		if s := p.d.scrub; s.active() {
			ms.LastError = s.scrub(ms.LastError)
			ms.Health.Details = maps.Clone(ms.Health.Details)
			s.scrubMap(ms.Health.Details)
		}
		ps.Modules = append(ps.Modules, ms)
	}
	return ps
}

// moduleSamples feeds the per-module metrics at scrape time, sorted by
// project and address.
func (d *Daemon) moduleSamples() []telemetry.ModuleSample {
	projects := d.projectList()
	per := make([][]runtime.Sample, len(projects))
	n := 0
	for i, p := range projects {
		per[i] = p.rt.Samples()
		n += len(per[i])
	}
	out := make([]telemetry.ModuleSample, 0, n)
	for i, p := range projects {
		samples := per[i]
		p.mu.Lock()
		for _, s := range samples {
			out = append(out, telemetry.ModuleSample{Project: p.name, ID: s.ID, Kind: s.Kind, State: s.State,
				Ready: s.Ready, Restarts: s.Restarts + p.base[s.Address].restarts, Usage: s.Usage})
		}
		p.mu.Unlock()
	}
	return out
}
