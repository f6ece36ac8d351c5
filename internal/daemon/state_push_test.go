package daemon_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/rbac"
	"github.com/nexus-run/nexus/internal/state"
	filestate "github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/modules"
)

const pusherToken = "pusher-token-0123456789"

// TestStatePush_grantsNothingApplyWouldNot: the daemon brings back what its
// state records as running, so a push that adds, changes or drops modules
// needs what an apply doing it would; state.write alone only moves serials.
func TestStatePush_grantsNothingApplyWouldNot(t *testing.T) {
	h := startHarness(t, func(c *daemoncfg.Config) {
		c.Roles = append(c.Roles, daemoncfg.Role{Name: "state-admin", Permissions: []string{"state.read", "state.write"}})
		c.Principals = append(c.Principals, daemoncfg.Principal{Name: "pusher@example.com", TokenSHA256: rbac.HashToken(pusherToken), Roles: []string{"state-admin"}})
	})
	admin, pusher, op := h.admin(), h.tokenClient(pusherToken), h.tokenClient(operatorToken)
	ctx := context.Background()
	if _, err := apply(t, admin, plan(t, admin, "module \"a\" \"x\" {\n  kind = \"target\"\n}\n")); err != nil {
		t.Fatal(err)
	}
	pull := func() *state.State {
		t.Helper()
		s, err := pusher.State(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	push := func(c *client.Client, s *state.State) error {
		s.Serial++
		return c.StatePush(ctx, &api.StatePushRequest{State: s})
	}

	if err := push(pusher, pull()); err != nil {
		t.Fatalf("pushing the state back unchanged: %v", err)
	}

	evil := pull()
	x := evil.Modules["module.a.x"]
	m := x.Clone()
	m.Spec.Address, m.Spec.ID, m.Spec.Kind, m.State = "module.evil.sh", "evil/sh", "exec", modules.StateStarted
	m.Spec.Config = modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"command": cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal("id > /tmp/pwned")})}))
	evil.Modules[m.Spec.Address] = m
	before := pull().Serial
	err := push(pusher, evil)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 403 {
		t.Fatalf("pushing a new exec module with state.write only got: %v\nwant: 403", err)
	}
	want := []api.Missing{{Module: "module.evil.sh", Permission: "module.load"}, {Module: "module.evil.sh", Permission: "module.start"}}
	if !slices.Equal(ce.Body.Missing, want) {
		t.Errorf("got: missing %+v\nwant: %+v", ce.Body.Missing, want)
	}

	dropped := pull()
	delete(dropped.Modules, "module.a.x")
	if err := push(pusher, dropped); !errors.As(err, &ce) || !slices.Equal(ce.Body.Missing, []api.Missing{{Module: "module.a.x", Permission: "module.unload"}}) {
		t.Errorf("pushing a state without module.a.x got: %v\nwant: 403 missing module.unload", err)
	}
	if got := pull(); got.Serial != before || len(got.Modules) != 1 {
		t.Errorf("after the refusals got serial %d with %d modules, want serial %d with 1", got.Serial, len(got.Modules), before)
	}

	// A principal that may create the module may push it.
	evil.Serial = before
	if err := push(op, evil); err != nil {
		t.Errorf("the operator pushing the same state: %v", err)
	}
}

// TestStatePush_pullPushKeepsWhatPullRedacts: pull leaves out sensitive
// configs; pushing the pulled document back must not wipe them.
func TestStatePush_pullPushKeepsWhatPullRedacts(t *testing.T) {
	h := startHarness(t, nil)
	admin := h.admin()
	ctx := context.Background()
	src := "module \"a\" \"beat\" {\n  kind      = \"heartbeat\"\n  sensitive = true\n  config {\n    target   = \"http://127.0.0.1:1/beat\"\n    interval = \"1h\"\n  }\n}\n"
	if _, err := apply(t, admin, plan(t, admin, src)); err != nil {
		t.Fatal(err)
	}
	pulled, err := admin.State(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := pulled.Modules["module.a.beat"].Spec.Config.Value(); !got.RawEquals(cty.EmptyObjectVal) {
		t.Fatalf("pull shows the sensitive module's config: %#v", got)
	}
	pulled.Serial++
	if err := admin.StatePush(ctx, &api.StatePushRequest{State: pulled}); err != nil {
		t.Fatal(err)
	}
	store, err := filestate.New(filepath.Join(h.dataDir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	doc, err := store.Get(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := doc.Modules["module.a.beat"].Spec.Config.Value()
	if cfg.RawEquals(cty.EmptyObjectVal) || !cfg.Type().IsObjectType() || !cfg.Type().HasAttribute("target") {
		t.Errorf("after pull and push the sensitive module's config is %#v, want it kept", cfg)
	}
	if plan(t, admin, src).Plan.HasChanges() {
		t.Error("after pull and push the topology plans changes")
	}
}
