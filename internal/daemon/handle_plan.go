package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

var emptyObject = cty.EmptyObjectVal

// handlePlan loads the files the client sent with this daemon's kinds and
// secret providers, checks that every referenced secret exists, and diffs
// against the project's state.
func (d *Daemon) handlePlan(w http.ResponseWriter, r *http.Request, principal string) {
	var req api.PlanRequest
	if !decode(w, r, &req) {
		return
	}
	cfg, diags := config.Load(req.Dir, req.Files, config.Options{
		Registry:        d.reg,
		Vars:            req.Vars,
		VarFiles:        req.VarFiles,
		Env:             req.Inputs.Env,
		ReadFile:        sentFile(req.Inputs.Files),
		SecretProviders: d.secrets.Names(),
	})
	if !diags.HasErrors() {
		diags = append(diags, d.checkSecrets(r.Context(), cfg)...)
	}
	if diags.HasErrors() {
		d.auditEvent(r.Context(), audit.Record{Type: "plan", Principal: principal, RequestID: requestID(r), Outcome: "error",
			Details: map[string]string{"diagnostics": fmt.Sprint(len(diags))}})
		writeJSON(w, http.StatusUnprocessableEntity, api.PlanResponse{Diagnostics: wireDiags(diags)})
		return
	}
	doc, err := d.store.Get(r.Context(), cfg.Project)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		writeError(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeUnavailable, Message: err.Error()})
		return
	}
	p, pdiags := planner.Make(cfg, doc, planner.Options{Targets: req.Targets, Replace: req.Replace, Destroy: req.Destroy, Now: d.now()})
	diags = append(diags, pdiags...)
	if pdiags.HasErrors() {
		writeJSON(w, http.StatusUnprocessableEntity, api.PlanResponse{Diagnostics: wireDiags(diags)})
		return
	}
	if err := d.seal.seal(p); err != nil {
		writeError(w, http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: err.Error()})
		return
	}
	s := p.Summary()
	d.auditEvent(r.Context(), audit.Record{Type: "plan", Principal: principal, RequestID: requestID(r), Outcome: "ok",
		Details: map[string]string{"project": p.Project, "serial": fmt.Sprint(p.Serial),
			"changes": fmt.Sprint(len(p.Changes)), "create": fmt.Sprint(s.Create), "destroy": fmt.Sprint(s.Destroy)}})
	writeJSON(w, http.StatusOK, api.PlanResponse{Plan: p, Diagnostics: wireDiags(diags)})
}

// sentFile serves file() from what the client read and sent.
func sentFile(files map[string][]byte) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if b, ok := files[path]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%w: the client did not send %s (file() paths must be known when the client loads the configuration)", fs.ErrNotExist, path)
	}
}

// checkSecrets asks each provider whether every referenced secret exists,
// without the value leaving the provider.
func (d *Daemon) checkSecrets(ctx context.Context, cfg *config.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]error{}
	for _, m := range cfg.Modules {
		for _, ref := range m.Spec.Secrets {
			err, done := seen[ref.String()]
			if !done {
				err = d.secrets.Check(ctx, ref)
				seen[ref.String()] = err
			}
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Secret not available",
					Detail: fmt.Sprintf("%s uses secret(%q, %q%s), which the daemon cannot read: %v. %s",
						m.Spec.Address, ref.Provider, ref.Path, keyArg(ref.Key), err, d.secretHint(ref)),
					Subject: m.DeclRange.Ptr(),
				})
			}
		}
	}
	return diags
}

// secretHint says how to create a missing secret.
func (d *Daemon) secretHint(ref modules.SecretRef) string {
	p, ok := d.secrets.Provider(ref.Provider)
	if _, writable := p.(secrets.Writer); ok && writable {
		return fmt.Sprintf("Create it with: printf %%s \"$VALUE\" | nexus secrets put %s %s %s", ref.Provider, ref.Path, ref.Key)
	}
	return "Create it in that provider, or fix the reference."
}

func keyArg(k string) string {
	if k == "" {
		return ""
	}
	return fmt.Sprintf(", %q", k)
}

// wireDiags converts diagnostics for the API.
func wireDiags(diags hcl.Diagnostics) []api.Diagnostic {
	out := make([]api.Diagnostic, 0, len(diags))
	for _, d := range diags {
		wd := api.Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			wd.Severity = "warning"
		}
		if s := d.Subject; s != nil {
			wd.Range = &api.Range{Filename: s.Filename,
				Start: api.Pos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte},
				End:   api.Pos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte}}
		}
		out = append(out, wd)
	}
	return out
}
