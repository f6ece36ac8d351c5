package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/planner"
)

// fleet is a topology of n modules: a target "module.base.root" and n-1
// exec modules, except that module.fleet.m25 is a heartbeat (its kind
// requires heartbeat.send, which the narrow role lacks).
func fleet(n int) string {
	var b strings.Builder
	b.WriteString("module \"base\" \"root\" {\n  kind = \"target\"\n}\n")
	for i := 1; i < n; i++ {
		if i == 25 {
			b.WriteString("module \"fleet\" \"m25\" {\n  kind = \"heartbeat\"\n  config {\n    target   = \"http://127.0.0.1:1/beat\"\n    interval = \"1h\"\n  }\n}\n")
			continue
		}
		fmt.Fprintf(&b, "module \"fleet\" \"m%02d\" {\n  kind = \"exec\"\n  config { command = [\"sleep\", \"2001.%02d\"] }\n  depends_on = [module.base.root]\n}\n", i, i)
	}
	return b.String()
}

// TestApply_fiftyModulesOneMissingPermission: the whole plan is authorized
// before anything runs, so one module's missing permission refuses all 50,
// names exactly that module and permission, and changes nothing.
func TestApply_fiftyModulesOneMissingPermission(t *testing.T) {
	h := startHarness(t, nil)
	admin, narrow := h.admin(), h.tokenClient(narrowToken)
	ctx := context.Background()
	if _, err := apply(t, admin, plan(t, admin, "module \"base\" \"root\" {\n  kind = \"target\"\n}\n")); err != nil {
		t.Fatal(err)
	}
	before, err := admin.State(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}

	p := plan(t, narrow, fleet(50))
	if got := len(p.Plan.Changes); got != 49 {
		t.Fatalf("got: %d changes, want: 49 creates (the base module exists)", got)
	}
	var msgs []api.Message
	sum, err := narrow.Apply(ctx, "", &api.ApplyRequest{Plan: p.Plan, LockTimeout: "30s"}, func(m api.Message) { msgs = append(msgs, m) })
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Body.Code != api.CodeDenied {
		t.Fatalf("got: %v %+v\nwant: a 403 permission_denied refusal", err, sum)
	}
	if want := []api.Missing{{Module: "module.fleet.m25", Permission: "heartbeat.send"}}; !slices.Equal(ce.Body.Missing, want) {
		t.Errorf("got: missing %+v\nwant: %+v", ce.Body.Missing, want)
	}
	for _, s := range []string{"narrow@example.com", "heartbeat.send", "module.fleet.m25"} {
		if !strings.Contains(ce.Body.Message, s) {
			t.Errorf("got: message %q\nwant: it to name %s", ce.Body.Message, s)
		}
	}
	if len(msgs) != 0 {
		t.Errorf("got: %d stream messages from a refused apply, want: none", len(msgs))
	}

	after, err := admin.State(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if after.Serial != before.Serial || after.Lineage != before.Lineage || len(after.Modules) != 1 {
		t.Errorf("got: serial %d with %d modules\nwant: serial %d with 1 module (nothing changed)", after.Serial, len(after.Modules), before.Serial)
	}
	st, err := admin.Status(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range st.Projects {
		for _, m := range ps.Modules {
			if m.Address != "module.base.root" {
				t.Errorf("module %s is known to the runtime after a refused apply", m.Address)
			}
		}
	}
	if pids := processesMatching("sleep 2001."); len(pids) > 0 {
		t.Errorf("processes of the refused plan run: %v", pids)
	}
	var denied []audit.Record
	for _, r := range auditRecords(t, h) {
		if r.Type == audit.TypeDenied && r.Principal == "narrow@example.com" {
			denied = append(denied, r)
		}
		if r.Type == audit.TypeTransition && r.Principal == "narrow@example.com" {
			t.Errorf("audited a transition of the refused apply: %+v", r)
		}
	}
	if len(denied) != 1 || !strings.Contains(denied[0].Details["reason"], "heartbeat.send for module.fleet.m25") {
		t.Errorf("got: denials %+v\nwant: one naming heartbeat.send for module.fleet.m25", denied)
	}
}

// TestApply_editedPlanCannotDodgePermissions: the client sends the plan
// back, so it may edit it. A module's kind and permissions are taken from
// what the daemon runs too, not only from the plan's specs.
func TestApply_editedPlanCannotDodgePermissions(t *testing.T) {
	const beat = "module \"hb\" \"beat\" {\n  kind = \"heartbeat\"\n  config {\n    target   = \"http://127.0.0.1:1/beat\"\n    interval = \"1h\"\n  }\n%s}\n"
	tests := map[string]struct {
		src    string
		plan   api.PlanRequest
		edit   func(c *planner.Change)
		action planner.Action
	}{
		"destroy with the old kind edited": {
			src:    fmt.Sprintf(beat, ""),
			plan:   api.PlanRequest{Destroy: true},
			edit:   func(c *planner.Change) { c.Before.Kind, c.Before.Permissions = "target", nil },
			action: planner.Destroy,
		},
		"stop with the kind edited": {
			src:    fmt.Sprintf(beat, "  state = \"stopped\"\n"),
			edit:   func(c *planner.Change) { c.After.Kind, c.After.Permissions = "target", nil },
			action: planner.Stop,
		},
		"change of another module's address": {
			src: fmt.Sprintf(beat, "  state = \"stopped\"\n"),
			edit: func(c *planner.Change) {
				c.Address = "module.hb.other"
			},
			action: planner.Stop,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := startHarness(t, nil)
			admin, narrow := h.admin(), h.tokenClient(narrowToken)
			ctx := context.Background()
			if _, err := apply(t, admin, plan(t, admin, fmt.Sprintf(beat, ""))); err != nil {
				t.Fatal(err)
			}
			before, _ := admin.State(ctx, "default")
			req := tt.plan
			req.Dir, req.Files = "topo", map[string][]byte{"main.nexus.hcl": []byte(tt.src)}
			resp, err := narrow.Plan(ctx, &req)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Plan.Changes) != 1 || resp.Plan.Changes[0].Action != tt.action {
				t.Fatalf("got: plan %+v, want: one %s", resp.Plan.Changes, tt.action)
			}
			// Unedited, the plan is refused for heartbeat.send.
			_, err = narrow.Apply(ctx, "", &api.ApplyRequest{Plan: resp.Plan}, nil)
			if !isStatus(err, 403) {
				t.Fatalf("the unedited plan got: %v, want: 403", err)
			}
			tt.edit(resp.Plan.Changes[0])
			_, err = narrow.Apply(ctx, "", &api.ApplyRequest{Plan: resp.Plan}, nil)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status/100 != 4 {
				t.Fatalf("the edited plan got: %v, want: refused", err)
			}
			if ce.Status == 403 && !slices.Contains(ce.Body.Missing, api.Missing{Module: "module.hb.beat", Permission: "heartbeat.send"}) {
				t.Errorf("got: missing %+v\nwant: heartbeat.send for module.hb.beat", ce.Body.Missing)
			}
			after, _ := admin.State(ctx, "default")
			if after.Serial != before.Serial {
				t.Errorf("got: serial %d after the refusal, want: %d", after.Serial, before.Serial)
			}
			if m, err := admin.Module(ctx, "", "module.hb.beat"); err != nil || m.State != "started" {
				t.Errorf("got: %+v %v\nwant: the heartbeat still started", m, err)
			}
		})
	}
}

// processesMatching lists the pids whose command line (arguments joined by
// spaces) contains needle.
func processesMatching(needle string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+2:]), "Z") {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), needle) {
			out = append(out, e.Name())
		}
	}
	return out
}
