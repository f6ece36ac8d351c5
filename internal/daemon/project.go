package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// project is one state namespace the daemon runs: its runtime and the
// recorder that persists its state.
type project struct {
	name string
	d    *Daemon
	rt   *runtime.Runtime
	rec  *recorder

	// base holds, per address, the uptime and restarts the state recorded
	// before this daemon process started, added to what the runtime counts.
	mu   sync.Mutex
	base map[string]history
}

type history struct {
	uptime   float64
	restarts int
}

// project returns the named project, creating it (with no modules) if the
// daemon does not run it yet.
func (d *Daemon) project(ctx context.Context, name string) (*project, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.projects[name]; p != nil {
		return p, nil
	}
	doc, err := d.store.Get(ctx, name)
	switch {
	case errors.Is(err, state.ErrNotFound):
		doc = nil
	case err != nil:
		return nil, fmt.Errorf("read the state of project %q: %w", name, err)
	}
	p := &project{name: name, d: d, base: map[string]history{}}
	p.rec = newRecorder(d.store, name, doc, d.now)
	p.rec.scrub = d.scrub
	var sdk *modules.MetricsFactory
	if d.sdkMetrics != nil {
		// Module ids are unique within a project only.
		sdk = modules.NewMetricsFactory(prometheus.WrapRegistererWith(prometheus.Labels{"project": name}, d.sdkMetrics))
	}
	p.rt = runtime.New(runtime.Options{
		Registry:    d.reg,
		Secrets:     resolver{next: d.secrets, s: d.scrub},
		Fingerprint: d.fp.Fingerprint,
		Node:        d.node,
		DataDir:     filepath.Join(d.cfg.DataDir, "projects", name),
		Logger:      d.log.With("project", name),
		Metrics:     sdk,
		Blob:        p.blob,
		Now:         d.now,
		OnEvent:     p.onEvent,
	})
	if doc != nil {
		for addr, m := range doc.Modules {
			p.base[addr] = history{uptime: m.UptimeSeconds, restarts: m.Restarts}
		}
	}
	d.projects[name] = p
	if err := d.rememberProject(name); err != nil {
		d.log.Warn("remember project", "project", name, "error", err)
	}
	return p, nil
}

func (d *Daemon) projectList() []*project {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*project, 0, len(d.projects))
	for _, p := range d.projects {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// blob hands a module the blob its record holds.
func (p *project) blob(addr string) []byte {
	if m := p.rec.module(addr); m != nil {
		return m.Blob
	}
	return nil
}

// recordStatus persists what the runtime now knows of a module, on top of
// its record, adding the history from before this daemon process.
func (p *project) recordStatus(ctx context.Context, st runtime.ModuleStatus) error {
	m := p.rec.module(st.Spec.Address)
	if m == nil {
		return nil // not applied through this daemon, or destroyed meanwhile
	}
	p.fill(m, st)
	return p.rec.commit(ctx, state.Change{Set: []*state.Module{m}}, "runtime")
}

// fill copies a runtime status into a record, keeping the record's spec
// (the desired one) and adding the history from before this process.
func (p *project) fill(m *state.Module, st runtime.ModuleStatus) {
	p.mu.Lock()
	b := p.base[st.Spec.Address]
	p.mu.Unlock()
	fillFromStatus(m, st)
	m.UptimeSeconds += b.uptime
	m.Restarts += b.restarts
	m.UpdatedAt = p.d.now().UTC()
}

// onEvent persists the changes the runtime makes on its own (an exit, a
// restart, a failure, a rotated secret) and audits them.
func (p *project) onEvent(ev runtime.Event) {
	if ev.Kind == runtime.EventHealthChanged {
		return // health is served live from the runtime, not persisted
	}
	ctx := context.Background()
	if err := p.recordStatus(ctx, ev.Status); err != nil {
		p.d.log.Error("persist runtime event", "project", p.name, "module_id", ev.Status.Spec.ID, "event", ev.Kind, "error", err)
	}
	rec := audit.Record{Type: "module." + string(ev.Kind), Principal: "nexus", Module: ev.Status.Spec.Address, Outcome: "ok",
		Details: map[string]string{"project": p.name}}
	if ev.Err != nil {
		rec.Outcome = "error"
		rec.Details["error"] = ev.Err.Error()
	}
	if ev.Kind == runtime.EventExited || ev.Kind == runtime.EventSecretRotated || ev.Kind == runtime.EventFailed || ev.Kind == runtime.EventRestarted {
		p.d.auditEvent(ctx, rec)
	}
}

// recoverProject brings the project's modules back to what its state says,
// in two passes: every recorded module is initialized and loaded again (no
// ordering needed), then those recorded as started are started, dependencies
// first. A module that cannot be rebuilt is recorded absent with its error,
// so the next plan creates it; one whose start was skipped because a
// dependency failed is recorded loaded, so the next plan starts it.
func (d *Daemon) recoverProject(ctx context.Context, name string) error {
	p, err := d.project(ctx, name)
	if err != nil {
		return err
	}
	// Recovery is an apply of sorts: it holds the project's lock, so no
	// apply runs against half-recovered modules.
	lock := state.LockInfo{ID: uuid.NewString(), Operation: "recover", Who: unixPrincipal(d.uid), Node: d.node, Created: d.now().UTC()}
	if err := state.WaitLock(ctx, d.store, name, lock, time.Minute); err != nil {
		return fmt.Errorf("bring back project %q: %w", name, err)
	}
	defer d.store.Unlock(context.WithoutCancel(ctx), name, lock.ID)
	if err := p.rec.reload(ctx); err != nil {
		return err
	}
	doc := p.rec.snapshot()
	load, start := recoveryPlans(doc)
	if len(load.Changes) == 0 {
		return nil
	}
	d.log.Info("bringing modules back", "project", name, "modules", len(load.Changes), "to_start", len(start.Changes))
	opts := executor.Options{Parallelism: executor.DefaultParallelism}
	_, loadErr := executor.Apply(ctx, load, p.rt, recoveryRecorder{p: p, doc: doc}, nil, opts)
	skipped := executor.ObserverFunc(func(e executor.Event) {
		if e.Type != executor.EventTransitionSkipped {
			return
		}
		if st, ok := p.rt.Status(e.Address); ok {
			m := doc.Modules[e.Address].Clone()
			p.fill(m, st)
			m.LastError = "not started when the daemon started: dependency " + e.Cause + " failed"
			if err := p.rec.commit(ctx, state.Change{Set: []*state.Module{m}}, "recover"); err != nil {
				d.log.Error("record skipped start", "module_id", m.Spec.ID, "error", err)
			}
		}
	})
	started := start.Changes[:0:0]
	for _, c := range start.Changes {
		if _, ok := p.rt.Status(c.Address); ok {
			started = append(started, c)
		}
	}
	start.Changes = started
	_, startErr := executor.Apply(ctx, start, p.rt, &applyRecorder{rec: p.rec, rt: p.rt, project: p}, skipped, opts)
	if err := errors.Join(loadErr, startErr); err != nil {
		return fmt.Errorf("bring back project %q: %w (see the daemon log and nexus status)", name, err)
	}
	return nil
}

// recoveryPlans turns a state document into the changes that rebuild its
// modules in a fresh runtime: one plan that initializes and loads them (with
// no dependencies, since nothing runs yet), one that starts those recorded
// as started (with their dependencies).
func recoveryPlans(doc *state.State) (load, start *planner.Plan) {
	mk := func() *planner.Plan {
		return &planner.Plan{FormatVersion: planner.FormatVersion, Project: doc.Project, Lineage: doc.Lineage, Serial: doc.Serial}
	}
	load, start = mk(), mk()
	for _, addr := range doc.Addresses() {
		m := doc.Modules[addr]
		var ts []modules.Transition
		switch m.State {
		case modules.StateStarted, modules.StateStopped, modules.StateLoaded, modules.StateFailed:
			ts = []modules.Transition{modules.TransitionInit, modules.TransitionLoad}
		case modules.StateInitialized:
			ts = []modules.Transition{modules.TransitionInit}
		default:
			continue
		}
		bare := m.Spec
		bare.DependsOn, bare.After = nil, nil
		load.Changes = append(load.Changes, &planner.Change{Address: addr, ID: bare.ID, Action: planner.Create, After: &bare, Transitions: ts})
		if m.State == modules.StateStarted {
			spec := m.Spec
			start.Changes = append(start.Changes, &planner.Change{Address: addr, ID: spec.ID, Action: planner.Start, After: &spec,
				Transitions: []modules.Transition{modules.TransitionStart}})
		}
	}
	return load, start
}

// recoveryRecorder records only the failures of rebuilding instances: the
// module is then absent, with its error, under its recorded spec.
type recoveryRecorder struct {
	p   *project
	doc *state.State
}

func (r recoveryRecorder) Record(ctx context.Context, res executor.Result) error {
	if res.Err == nil {
		return nil
	}
	m := r.doc.Modules[res.Change.Address].Clone()
	m.State = modules.StateAbsent
	m.LastError = res.Err.Error()
	m.UpdatedAt = r.p.d.now().UTC()
	return r.p.rec.commit(ctx, state.Change{Set: []*state.Module{m}}, "recover")
}

// shutdown stops the project's modules and persists their final records:
// the state they should come back in (started stays started), with
// stopped_at, uptime, usage and blob.
func (p *project) shutdown(ctx context.Context) error {
	before := map[string]modules.State{}
	for _, st := range p.rt.Snapshot() {
		before[st.Spec.Address] = st.State
	}
	err := p.rt.Shutdown(ctx)
	var change state.Change
	for _, st := range p.rt.Snapshot() {
		m := p.rec.module(st.Spec.Address)
		if m == nil {
			continue
		}
		p.fill(m, st)
		if before[st.Spec.Address] == modules.StateStarted {
			m.State = modules.StateStarted // to be brought back on the next start
		}
		if m.StoppedAt == nil {
			now := p.d.now().UTC()
			m.StoppedAt = &now
		}
		change.Set = append(change.Set, m)
	}
	if len(change.Set) > 0 {
		if cerr := p.rec.commit(ctx, change, "shutdown"); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// knownProjects lists the projects this daemon runs: those it has applied,
// from its data directory (a shared PostgreSQL or Redis store may hold other
// hosts' projects too, which this daemon must not start), and, with the
// file store, which is this host's alone, every project the store holds, so
// a data dir restored without projects.json loses nothing.
func (d *Daemon) knownProjects() ([]string, error) {
	var names []string
	buf, err := os.ReadFile(filepath.Join(d.cfg.DataDir, "projects.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read known projects: %w", err)
	default:
		if err := json.Unmarshal(buf, &names); err != nil {
			return nil, fmt.Errorf("read known projects %s: %w", filepath.Join(d.cfg.DataDir, "projects.json"), err)
		}
	}
	if d.cfg.State.Type == "file" {
		entries, err := os.ReadDir(d.cfg.State.Path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("list the file store's projects: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && state.CheckProject(e.Name()) == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return compactStrings(names), nil
}

// rememberProject adds a project to the known list (called with d.mu held).
func (d *Daemon) rememberProject(name string) error {
	names := make([]string, 0, len(d.projects))
	for n := range d.projects {
		names = append(names, n)
	}
	if old, err := d.knownProjects(); err == nil {
		names = append(names, old...)
	}
	sort.Strings(names)
	names = compactStrings(names)
	buf, _ := json.Marshal(names)
	path := filepath.Join(d.cfg.DataDir, "projects.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// notReady lists, as "project:address", the modules whose state says they
// should run and that are not ready now. It reads the runtime's cached
// health only, so /readyz stays cheap however many exec modules run.
func (p *project) notReady() []string {
	var want []string
	_ = p.rec.check(func(doc *state.State) error {
		if doc != nil {
			for addr, m := range doc.Modules {
				if m.Spec.DesiredState == modules.DesiredStarted {
					want = append(want, addr)
				}
			}
		}
		return nil
	})
	var out []string
	for _, addr := range want {
		if !p.rt.Ready(addr) {
			out = append(out, p.name+":"+addr)
		}
	}
	sort.Strings(out)
	return out
}
