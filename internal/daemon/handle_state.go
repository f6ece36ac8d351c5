package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// projectParam returns ?project=, default "default".
func projectParam(r *http.Request) string {
	if p := r.URL.Query().Get("project"); p != "" {
		return p
	}
	return "default"
}

// handleState answers the project's document, redacted: what `nexus state
// pull` writes and `nexus plan --state` reads.
func (d *Daemon) handleState(w http.ResponseWriter, r *http.Request, principal string) {
	doc, err := d.store.Get(r.Context(), projectParam(r))
	d.auditStateRead(r, principal, "read", err)
	if errors.Is(err, state.ErrNotFound) {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("project %q has no state yet: nothing was applied", projectParam(r))})
		return
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, doc.Redacted())
}

// auditStateRead records who read a project's state: it holds no secret
// values, but every module's config and the daemon's view of the host.
func (d *Daemon) auditStateRead(r *http.Request, principal, operation string, err error) {
	rec := audit.Record{Type: "state.read", Principal: principal, RequestID: requestID(r), Outcome: outcome(err),
		Details: map[string]string{"project": projectParam(r), "operation": operation}}
	if err != nil {
		rec.Details["error"] = err.Error()
	}
	d.auditEvent(r.Context(), rec)
}

func (d *Daemon) handleStateHistory(w http.ResponseWriter, r *http.Request, principal string) {
	n := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = min(v, maxHistory)
		}
	}
	entries, err := d.store.History(r.Context(), projectParam(r), n)
	d.auditStateRead(r, principal, "history", err)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if entries == nil {
		entries = []state.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, api.StateHistoryResponse{Project: projectParam(r), Entries: entries})
}

// maxHistory bounds ?limit= of GET /v1/state/history.
const maxHistory = 1000

// writeStoreError answers a failure to read or lock a project's state.
func writeStoreError(w http.ResponseWriter, err error) {
	status, body := storeError(err)
	writeError(w, status, body)
}

// storeError is the answer to a state store failure: 400 for a project
// name no store accepts (like "../x"), 409 for a lock someone else holds,
// else 503.
func storeError(err error) (int, api.Error) {
	switch {
	case errors.Is(err, state.ErrInvalidProject):
		return http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()}
	case errors.Is(err, state.ErrLocked):
		return http.StatusConflict, api.Error{Code: api.CodeLocked, Message: err.Error()}
	}
	return http.StatusServiceUnavailable, api.Error{Code: api.CodeUnavailable, Message: err.Error()}
}

// withLock runs fn holding the project's lock for operation, answering a
// held lock with 409 naming the holder. A refused or failed edit is
// audited here; fn audits its success.
func (d *Daemon) withLock(w http.ResponseWriter, r *http.Request, principal, project, operation string, fn func(ctx context.Context, p *project) error) {
	fail := func(status int, body api.Error) {
		d.auditEvent(r.Context(), audit.Record{Type: "state.edit", Principal: principal, RequestID: requestID(r), Outcome: "error",
			Details: map[string]string{"project": project, "operation": strings.TrimPrefix(operation, "state "), "error": body.Message}})
		writeError(w, status, body)
	}
	p, err := d.project(r.Context(), project)
	if err != nil {
		fail(storeError(err))
		return
	}
	info := state.LockInfo{ID: uuid.NewString(), Operation: operation, Who: principal, Node: d.node, Created: d.now().UTC()}
	if err := state.WaitLock(r.Context(), d.store, project, info, 5*time.Second); err != nil {
		fail(http.StatusConflict, api.Error{Code: api.CodeLocked, Message: err.Error()})
		return
	}
	defer d.store.Unlock(context.WithoutCancel(r.Context()), project, info.ID)
	if err := p.rec.reload(r.Context()); err != nil {
		fail(storeError(err))
		return
	}
	if err := fn(r.Context(), p); err != nil {
		var he *httpError
		if errors.As(err, &he) {
			fail(he.status, he.body)
			return
		}
		fail(http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: err.Error()})
	}
}

type httpError struct {
	status int
	body   api.Error
}

func (e *httpError) Error() string { return e.body.Message }

// handleStateRm forgets modules. A module the runtime still runs is
// refused: forgetting it would leave a process no one supervises.
func (d *Daemon) handleStateRm(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.StateRmRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Project == "" {
		req.Project = "default"
	}
	if len(req.Addresses) == 0 {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "name at least one address to remove from the state"})
		return
	}
	d.withLock(w, r, principal, req.Project, "state rm", func(ctx context.Context, p *project) error {
		doc := p.rec.snapshot()
		for _, a := range req.Addresses {
			if doc.Modules[a] == nil {
				return &httpError{http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("the state of project %q has no %s (nexus state list shows what it has)", req.Project, a)}}
			}
			if st, ok := p.rt.Status(a); ok && (st.State == modules.StateStarted || !st.RestartAt.IsZero()) {
				return &httpError{http.StatusConflict, api.Error{Code: api.CodeBadRequest, Message: fmt.Sprintf("%s is running; stop it first (state = \"stopped\" and apply) or destroy it, then remove it from the state", a)}}
			}
		}
		for _, a := range req.Addresses {
			_ = p.rt.Do(ctx, &doc.Modules[a].Spec, modules.TransitionUnload)
		}
		if err := p.rec.commit(ctx, state.Change{Delete: req.Addresses}, "state rm"); err != nil {
			return err
		}
		_, serial := p.rec.serial()
		d.auditEvent(ctx, audit.Record{Type: "state.edit", Principal: principal, RequestID: requestID(r), Outcome: "ok",
			Details: map[string]string{"project": req.Project, "operation": "rm", "addresses": fmt.Sprint(req.Addresses), "serial": fmt.Sprint(serial)}})
		writeJSON(w, http.StatusOK, api.StateRmResponse{Removed: req.Addresses, Serial: serial})
		return nil
	})
}

// handleStatePush replaces a project's document: the lineage must match and
// the serial be newer, unless forced.
func (d *Daemon) handleStatePush(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.StatePushRequest
	if !decode(w, r, &req) {
		return
	}
	if req.State == nil {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "the request holds no state"})
		return
	}
	if err := req.State.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
		return
	}
	d.withLock(w, r, principal, req.State.Project, "state push", func(ctx context.Context, p *project) error {
		lineage, serial := p.rec.serial()
		if !req.Force && lineage != "" && req.State.Lineage != lineage {
			return &httpError{http.StatusConflict, api.Error{Code: api.CodeBadRequest, Message: fmt.Sprintf("the pushed state has lineage %s, the project's is %s: it is another project's state (use --force to replace it anyway)", req.State.Lineage, lineage)}}
		}
		if !req.Force && req.State.Serial <= serial {
			return &httpError{http.StatusConflict, api.Error{Code: api.CodeBadRequest, Message: fmt.Sprintf("the pushed state has serial %d, not newer than the project's %d (use --force to replace it anyway)", req.State.Serial, serial)}}
		}
		doc := req.State.Clone()
		cur := p.rec.snapshot()
		keepRedacted(doc, cur)
		err := d.policy().Authorize(principal, d.pushNeeds(cur, doc))
		d.metrics.Authz(err == nil)
		if err != nil {
			return &httpError{http.StatusForbidden, deniedError(err)}
		}
		if lineage != "" {
			doc.Lineage = lineage
		}
		doc.Serial = serial + 1
		if err := d.store.Put(ctx, doc, serial, "push"); err != nil {
			return err
		}
		if err := p.rec.reload(ctx); err != nil {
			return err
		}
		d.auditEvent(ctx, audit.Record{Type: "state.edit", Principal: principal, RequestID: requestID(r), Outcome: "ok",
			Details: map[string]string{"project": doc.Project, "operation": "push", "force": fmt.Sprint(req.Force), "serial": fmt.Sprint(doc.Serial)}})
		writeJSON(w, http.StatusOK, map[string]any{"serial": doc.Serial, "lineage": doc.Lineage})
		return nil
	})
}

// handleForceUnlock releases a lock by id: for a holder that cannot release
// it itself. Locks of dead processes are taken over without it.
func (d *Daemon) handleForceUnlock(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.ForceUnlockRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Project == "" {
		req.Project = "default"
	}
	if req.ID == "" {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "name the lock id to release (a blocked apply's error shows it)"})
		return
	}
	holder, herr := d.store.LockHolder(r.Context(), req.Project)
	err := d.store.Unlock(r.Context(), req.Project, req.ID)
	rec := audit.Record{Type: "state.edit", Principal: principal, RequestID: requestID(r), Outcome: outcome(err),
		Details: map[string]string{"project": req.Project, "operation": "force-unlock", "lock_id": req.ID}}
	if herr == nil {
		rec.Details["holder"] = holder.String()
	}
	d.auditEvent(r.Context(), rec)
	if errors.Is(err, state.ErrNotLocked) {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("project %q holds no lock with id %s", req.Project, req.ID)})
		return
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unlocked": req.ID})
}
