package cli

import (
	"errors"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/planner"
)

// defaultAddress is where a local daemon with the embedded defaults listens.
var defaultAddress = "unix://" + filepath.Join(daemoncfg.DefaultDataDir, daemoncfg.DefaultSocketName)

// client returns a client for --address / NEXUS_ADDR and --token /
// NEXUS_TOKEN; an https:// daemon is checked against NEXUS_CACERT and, for
// mutual TLS, shown NEXUS_CLIENT_CERT and NEXUS_CLIENT_KEY.
func (a *App) client() (*client.Client, error) {
	addr := a.global.address
	if addr == "" {
		addr = a.getenv("NEXUS_ADDR")
	}
	if addr == "" {
		addr = defaultAddress
	}
	tok := a.global.token
	if tok == "" {
		tok = a.getenv("NEXUS_TOKEN")
	}
	return client.NewTLS(addr, tok, client.TLS{
		CAFile: a.getenv("NEXUS_CACERT"), CertFile: a.getenv("NEXUS_CLIENT_CERT"), KeyFile: a.getenv("NEXUS_CLIENT_KEY"),
	})
}

// remotePlan loads the configuration locally (to read the files and the
// env() and file() values it needs), then asks the daemon to plan it with
// its own kinds, secret providers and state.
func (a *App) remotePlan(cmd *cobra.Command, dir string, f *planFlags) (*planner.Plan, error) {
	req, files, err := a.planRequest(dir, &f.vars, &f.sel)
	if err != nil {
		return nil, err
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.Plan(cmd.Context(), req)
	if resp != nil && len(resp.Diagnostics) > 0 {
		if derr := a.reportDiags(hclDiags(resp.Diagnostics), files); derr != nil {
			return nil, derr
		}
	}
	if err != nil {
		return nil, a.explain(err)
	}
	return resp.Plan, nil
}

// planRequest builds a plan request from a directory and the flags, after a
// local load that reports mistakes without a round trip.
func (a *App) planRequest(dir string, vf *varFlags, sel *selectFlags) (*api.PlanRequest, map[string]*hcl.File, error) {
	o, err := vf.options(a)
	if err != nil {
		return nil, nil, err
	}
	o.AllowUnknownKinds = true
	cfg, err := a.loadConfig(dir, o)
	if err != nil {
		return nil, nil, err
	}
	srcs, err := config.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	req := &api.PlanRequest{
		Dir: dir, Files: srcs, Inputs: cfg.Inputs, Vars: o.Vars, VarFiles: o.VarFiles,
		Targets: sel.targets, Replace: sel.replace, Destroy: sel.destroy,
	}
	return req, cfg.Files, nil
}

// hclDiags turns wire diagnostics back into HCL's, for the text writer.
func hclDiags(ds []api.Diagnostic) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(ds))
	for _, d := range ds {
		hd := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: d.Summary, Detail: d.Detail}
		if d.Severity == "warning" {
			hd.Severity = hcl.DiagWarning
		}
		if r := d.Range; r != nil {
			hd.Subject = &hcl.Range{Filename: r.Filename,
				Start: hcl.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:   hcl.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte}}
		}
		out = append(out, hd)
	}
	return out
}

// explain words a client error for the user; a refusal's message from the
// daemon is already written for them.
func (a *App) explain(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		if len(ce.Body.Missing) > 0 {
			return &exitError{code: 1, err: errors.New(ce.Body.Message)}
		}
		return errors.New(ce.Body.Message)
	}
	return err
}
