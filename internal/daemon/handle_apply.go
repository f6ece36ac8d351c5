package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/nexus-run/nexus/executor"
	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/rbac"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/telemetry"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// handleApply authorizes the whole plan, takes the project's lock, refuses
// a stale plan, and then streams the executor's events as NDJSON while the
// plan is applied. A refusal comes before the stream, as an error status.
func (d *Daemon) handleApply(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.ApplyRequest
	if !decode(w, r, &req) {
		return
	}
	p := req.Plan
	if p == nil || p.FormatVersion != planner.FormatVersion {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "the request holds no plan of format " + planner.FormatVersion})
		return
	}
	if err := checkPlanShape(p); err != nil {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
		return
	}
	opts, err := applyOptions(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
		return
	}
	rid := requestID(r)
	if err := d.authorizePlan(principal, p, nil); err != nil {
		d.metrics.Authz(false)
		d.metrics.ApplyRefused(telemetry.ApplyDenied)
		d.denyApply(w, r, principal, err)
		return
	}
	proj, err := d.project(r.Context(), p.Project)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	lock := state.LockInfo{ID: uuid.NewString(), Operation: "apply", Who: principal, Node: d.node, Created: d.now().UTC()}
	if err := state.WaitLock(r.Context(), d.store, p.Project, lock, opts.lockTimeout); err != nil {
		d.metrics.ApplyRefused(telemetry.ApplyLocked)
		code, status := api.CodeUnavailable, http.StatusServiceUnavailable
		if errors.Is(err, state.ErrLocked) {
			code, status = api.CodeLocked, http.StatusConflict
		}
		writeError(w, status, api.Error{Code: code, Message: fmt.Sprintf("%v (waited %s; pass --lock-timeout to wait longer)", err, opts.lockTimeout)})
		return
	}
	defer func() {
		if err := d.store.Unlock(context.WithoutCancel(r.Context()), p.Project, lock.ID); err != nil {
			d.log.Error("unlock state", "project", p.Project, "error", err)
		}
	}()
	if err := proj.rec.reload(r.Context()); err != nil {
		writeStoreError(w, err)
		return
	}
	// Again with what the project runs: the plan came from the client.
	err = proj.rec.check(func(doc *state.State) error { return d.authorizePlan(principal, p, doc) })
	d.metrics.Authz(err == nil)
	if err != nil {
		d.metrics.ApplyRefused(telemetry.ApplyDenied)
		d.denyApply(w, r, principal, err)
		return
	}
	if err := proj.rec.check(p.CheckFresh); err != nil {
		d.metrics.ApplyRefused(telemetry.ApplyStale)
		d.auditEvent(r.Context(), audit.Record{Type: "apply", Principal: principal, RequestID: rid, Outcome: "error",
			Details: map[string]string{"project": p.Project, "error": "stale plan"}})
		writeError(w, http.StatusConflict, api.Error{Code: api.CodeStalePlan, Message: err.Error()})
		return
	}
	if err := d.seal.unseal(p); err != nil {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
		return
	}
	// An apply may outlast the server's read timeout; the client hanging up
	// still cancels the request's context, which stops new transitions.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	d.runApply(w, r, principal, proj, p, opts)
}

var allTransitions = []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart,
	modules.TransitionStop, modules.TransitionUnload, modules.TransitionReconfigure}

type applyOpts struct {
	exec        executor.Options
	lockTimeout time.Duration
}

func applyOptions(req api.ApplyRequest) (applyOpts, error) {
	o := applyOpts{exec: executor.Options{Parallelism: req.Parallelism}}
	switch req.Strategy {
	case "", string(executor.StrategyEager):
		o.exec.Strategy = executor.StrategyEager
	case string(executor.StrategyWaves):
		o.exec.Strategy = executor.StrategyWaves
	default:
		return o, fmt.Errorf("strategy %q: use eager or waves", req.Strategy)
	}
	if req.LockTimeout != "" {
		d, err := time.ParseDuration(req.LockTimeout)
		if err != nil || d < 0 {
			return o, fmt.Errorf("lock_timeout %q: use a duration like \"30s\"", req.LockTimeout)
		}
		o.lockTimeout = d
	}
	return o, nil
}

// checkPlanShape refuses a plan the executor could not run as written:
// unknown transitions, addresses listed twice, changes without a spec.
// (Authorization goes by the transitions each change performs, so a change
// cannot hide a stop behind an "update" label.)
func checkPlanShape(p *planner.Plan) error {
	seen := map[string]bool{}
	for _, c := range p.Changes {
		if c == nil || c.Address == "" || seen[c.Address] {
			return errors.New("the plan lists a change without an address, or one address twice")
		}
		seen[c.Address] = true
		for _, t := range c.Transitions {
			if !slices.Contains(allTransitions, t) {
				return fmt.Errorf("change %s: unknown transition %q", c.Address, t)
			}
		}
		if c.After == nil && c.Action != planner.Destroy || c.Before == nil && c.After == nil {
			return fmt.Errorf("change %s: no spec", c.Address)
		}
		for _, spec := range []*modules.Spec{c.Before, c.After} {
			if spec != nil && spec.Address != c.Address {
				return fmt.Errorf("change %s: its spec is of %s; plan again rather than editing the plan", c.Address, spec.Address)
			}
		}
	}
	return nil
}

// authorizePlan checks, before anything runs, that the principal holds the
// verb of every action and every permission every touched module requires:
// its kind's manifest (from this daemon's registry, not the plan) and its
// block's own, for the module as it is and as it will be. The client sends
// the plan, so given the project's document (nil before it is read), the
// recorded spec of each touched module counts too: an edited kind or
// permissions list in the plan cannot hide what a running module requires.
func (d *Daemon) authorizePlan(principal string, p *planner.Plan, doc *state.State) error {
	needs := make([]rbac.Need, 0, len(p.Changes))
	for _, c := range p.Changes {
		perms := c.Verbs()
		specs := []*modules.Spec{c.Before, c.After}
		if doc != nil && doc.Modules[c.Address] != nil {
			specs = append(specs, &doc.Modules[c.Address].Spec)
		}
		for _, spec := range specs {
			if spec == nil {
				continue
			}
			if m, ok := d.reg.Manifest(spec.Kind); ok {
				perms = append(perms, m.Permissions...)
			}
			perms = append(perms, spec.Permissions...)
		}
		needs = append(needs, rbac.Need{Module: c.Address, Permissions: perms})
	}
	return d.policy().Authorize(principal, needs)
}

// deniedError is the answer to an authorization failure, listing each
// missing permission.
func deniedError(err error) api.Error {
	var denied *rbac.DeniedError
	e := api.Error{Code: api.CodeDenied, Message: err.Error()}
	if errors.As(err, &denied) {
		for _, m := range denied.Missing {
			e.Missing = append(e.Missing, api.Missing{Module: m.Module, Permission: m.Permission})
		}
	}
	return e
}

func (d *Daemon) denyApply(w http.ResponseWriter, r *http.Request, principal string, err error) {
	e := deniedError(err)
	d.auditEvent(r.Context(), audit.Record{Type: "denied", Principal: principal, RequestID: requestID(r), Outcome: "denied",
		Details: map[string]string{"route": "POST /v1/apply", "reason": err.Error()}})
	writeError(w, http.StatusForbidden, e)
}

// runApply streams the apply. Each event becomes one NDJSON line, flushed.
func (d *Daemon) runApply(w http.ResponseWriter, r *http.Request, principal string, proj *project, p *planner.Plan, opts applyOpts) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	rid := requestID(r)
	soft, stop := context.WithCancel(r.Context())
	hard, abort := context.WithCancel(context.WithoutCancel(r.Context()))
	defer stop()
	defer abort()
	s := &stream{enc: json.NewEncoder(w), rc: rc, timeout: d.streamTimeout, scrub: d.scrub, gone: func(err error) {
		d.log.Warn("the client stopped reading the apply stream or hung up; interrupting the apply",
			"project", p.Project, "principal", principal, "request_id", rid, "error", err)
		stop()
	}}
	defer s.close()
	// Transition records are audited off the executor's path (the log
	// group-commits them) and awaited before the apply is reported done.
	var audits sync.WaitGroup
	obs := executor.ObserverFunc(func(e executor.Event) {
		switch e.Type {
		case executor.EventTransitionComplete, executor.EventTransitionErrored:
			var terr error
			if e.Error != "" {
				terr = errors.New(e.Error)
			}
			d.metrics.Transition(p.Project, e.ID, e.Transition, e.Duration, terr)
			if terr == nil && e.Transition == modules.TransitionUnload && e.Action == planner.Destroy {
				d.metrics.ForgetModule(p.Project, e.ID)
			}
			rec := audit.Record{Type: "transition", Principal: principal, RequestID: rid, Module: e.Address, Outcome: "ok",
				Details: map[string]string{"project": p.Project, "transition": string(e.Transition), "action": e.Action.String()}}
			if e.Error != "" {
				rec.Outcome, rec.Details["error"] = "error", e.Error
			}
			audits.Add(1)
			go func() { defer audits.Done(); d.auditEvent(r.Context(), rec) }()
		}
		if e.Type != executor.EventApplyComplete {
			s.send(message(e))
		}
	})
	d.auditEvent(r.Context(), audit.Record{Type: "apply", Principal: principal, RequestID: rid, Outcome: "started",
		Details: map[string]string{"project": p.Project, "changes": fmt.Sprint(len(p.Changes)), "serial": fmt.Sprint(p.Serial)}})
	d.applies.Store(rid, &running{stop: stop, abort: abort})
	defer d.applies.Delete(rid)
	opts.exec.Abort = hard
	sum, err := executor.Apply(soft, p, proj.rt, &applyRecorder{rec: proj.rec, rt: proj.rt, project: proj}, obs, opts.exec)
	audits.Wait()
	result := telemetry.ApplyOK
	switch {
	case errors.Is(err, executor.ErrInterrupted):
		result = telemetry.ApplyInterrupted
	case err != nil:
		result = telemetry.ApplyError
	}
	var took time.Duration
	if sum != nil {
		took = sum.Duration
	}
	d.metrics.ApplyDone(result, took)
	_, serial := proj.rec.serial()
	final := completeMessage(p, sum, err, serial, d.now())
	s.send(final)
	d.auditEvent(r.Context(), audit.Record{Type: "apply", Principal: principal, RequestID: rid, Outcome: result,
		Details: map[string]string{"project": p.Project, "summary": final.Text, "serial": fmt.Sprint(serial)}})
	d.log.Info("apply finished", "project", p.Project, "principal", principal, "request_id", rid, "result", result, "serial", serial)
}

// stream serialises writes of NDJSON lines from the executor's goroutines.
// A line the client does not take within timeout (it stopped reading: a
// suspended CI runner) breaks the stream: gone is called once and later
// lines are dropped, so a stuck client can neither stall the apply nor hold
// the project's lock.
type stream struct {
	mu      sync.Mutex
	enc     *json.Encoder
	rc      *http.ResponseController
	timeout time.Duration
	scrub   *scrubber
	gone    func(error)
	broken  bool
}

func (s *stream) send(m api.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return
	}
	if s.scrub.active() {
		m.Text = s.scrub.scrub(m.Text)
		if m.Hook != nil {
			h := *m.Hook
			h.Error = s.scrub.scrub(h.Error)
			m.Hook = &h
		}
		if m.Summary != nil {
			sum := *m.Summary
			sum.Errors = slices.Clone(sum.Errors)
			for i, e := range sum.Errors {
				sum.Errors[i] = s.scrub.scrub(e)
			}
			m.Summary = &sum
		}
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	err := s.enc.Encode(m)
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		s.broken = true
		s.gone(err)
	}
}

// close lifts the write deadline for what the connection serves next.
func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.rc.SetWriteDeadline(time.Time{})
}

// running is an apply in progress that a client may interrupt.
type running struct{ stop, abort context.CancelFunc }

// handleApplyCancel interrupts a running apply: no new transition starts;
// with abort, the running ones are cancelled too.
func (d *Daemon) handleApplyCancel(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.CancelRequest
	if !decode(w, r, &req) {
		return
	}
	v, ok := d.applies.Load(req.ID)
	if !ok {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "no running apply " + req.ID})
		return
	}
	run := v.(*running)
	run.stop()
	if req.Abort {
		run.abort()
	}
	d.log.Warn("apply interrupted", "request_id", req.ID, "principal", principal, "abort", req.Abort)
	writeJSON(w, http.StatusOK, map[string]any{"interrupted": req.ID, "abort": req.Abort})
}
