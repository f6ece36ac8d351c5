package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/modules"
)

// handleAudit answers the audit records since ?since= (a duration, like
// "24h", or an RFC 3339 time; default the last 24 hours).
func (d *Daemon) handleAudit(w http.ResponseWriter, r *http.Request, _ string) {
	since := d.now().Add(-24 * time.Hour)
	if s := r.URL.Query().Get("since"); s != "" {
		if dur, err := time.ParseDuration(s); err == nil {
			since = d.now().Add(-dur)
		} else if t, err := time.Parse(time.RFC3339, s); err == nil {
			since = t
		} else {
			writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: fmt.Sprintf("since %q: use a duration like 24h or an RFC 3339 time", s)})
			return
		}
	}
	f, err := os.Open(d.cfg.Audit.Path)
	if err != nil {
		writeError(w, http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: err.Error()})
		return
	}
	defer f.Close()
	recs, err := audit.Read(f, since, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: err.Error()})
		return
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	writeJSON(w, http.StatusOK, api.AuditResponse{Records: recs})
}

// auditSecretRead records every secret read: provider and path, never the value.
func (d *Daemon) auditSecretRead(ctx context.Context, ref modules.SecretRef, err error) {
	rec := audit.Record{Type: "secret.read", Principal: "nexus", Outcome: outcome(err),
		Details: map[string]string{"provider": ref.Provider, "path": ref.Path}}
	if ref.Key != "" {
		rec.Details["key"] = ref.Key
	}
	if err != nil {
		rec.Details["error"] = err.Error()
	}
	d.auditEvent(ctx, rec)
}
