package daemon

import (
	"errors"
	"net/http"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/modules"
)

// handleSecretsPut writes a secret through a writable provider (file). The
// value goes to the provider and nowhere else: the audit record names the
// path only.
func (d *Daemon) handleSecretsPut(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.SecretRequest
	if !decode(w, r, &req) {
		return
	}
	ref := modules.SecretRef{Provider: req.Provider, Path: req.Path, Key: req.Key}
	err := ref.Validate()
	if err == nil {
		err = d.secrets.Put(r.Context(), ref, req.Value)
	}
	d.auditSecretWrite(r, principal, "put", ref, err)
	if err != nil {
		writeSecretError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"written": ref.String()})
}

func (d *Daemon) handleSecretsDelete(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.SecretRequest
	if !decode(w, r, &req) {
		return
	}
	ref := modules.SecretRef{Provider: req.Provider, Path: req.Path, Key: req.Key}
	err := ref.Validate()
	if err == nil {
		err = d.secrets.Delete(r.Context(), ref)
	}
	d.auditSecretWrite(r, principal, "rm", ref, err)
	if err != nil {
		writeSecretError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": ref.String()})
}

func (d *Daemon) handleSecretsList(w http.ResponseWriter, r *http.Request, _ string) {
	provider := r.URL.Query().Get("provider")
	if provider == "" {
		provider = "file"
	}
	paths, err := d.secrets.List(r.Context(), provider, r.URL.Query().Get("prefix"))
	if err != nil {
		writeSecretError(w, err)
		return
	}
	if paths == nil {
		paths = []string{}
	}
	writeJSON(w, http.StatusOK, api.SecretsListResponse{Provider: provider, Paths: paths})
}

func (d *Daemon) auditSecretWrite(r *http.Request, principal, op string, ref modules.SecretRef, err error) {
	rec := audit.Record{Type: "secret.write", Principal: principal, RequestID: requestID(r), Outcome: outcome(err),
		Details: map[string]string{"operation": op, "provider": ref.Provider, "path": ref.Path}}
	if ref.Key != "" {
		rec.Details["key"] = ref.Key
	}
	d.auditEvent(r.Context(), rec)
}

func writeSecretError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()})
	case errors.Is(err, secrets.ErrInvalidPath), errors.Is(err, secrets.ErrUnsupported):
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
	case errors.Is(err, secrets.ErrDenied):
		writeError(w, http.StatusForbidden, api.Error{Code: api.CodeDenied, Message: err.Error()})
	default:
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
	}
}
