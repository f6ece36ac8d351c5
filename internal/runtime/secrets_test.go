package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

var dbPass = modules.SecretRef{Provider: "mem", Path: "db/pass"}

// noCanary fails the test when a secret value shows up in the runtime's
// statuses, events or log.
func (e *env) noCanary(canaries ...string) {
	e.t.Helper()
	var b strings.Builder
	for _, s := range e.rt.Snapshot() {
		fmt.Fprintf(&b, "%#v\n", s)
		buf, _ := json.Marshal(s)
		b.Write(buf)
	}
	for _, ev := range e.events.list() {
		fmt.Fprintf(&b, "%#v %v\n", ev, ev.Err)
	}
	b.WriteString(e.log.String())
	for _, c := range canaries {
		if strings.Contains(b.String(), c) {
			e.t.Errorf("the secret value %q leaked into a status, an event or the log", c)
		}
	}
}

func TestRuntime_resolvesSecretsEverywhereInTheConfig(t *testing.T) {
	e := newEnv(t)
	e.secrets.set(dbPass.String(), "canary-4f1d")
	e.secrets.set("mem kv/app#key", "canary-77aa")
	appKey := modules.SecretRef{Provider: "mem", Path: "kv/app", Key: "key"}
	s := spec("module.a.db", func(s *modules.Spec) {
		s.Config = modules.NewConfig(cty.ObjectVal(map[string]cty.Value{
			"token": cty.StringVal("Bearer " + dbPass.Placeholder()).Mark("sensitive"),
			"list":  cty.ListVal([]cty.Value{cty.StringVal("plain"), cty.StringVal(appKey.Placeholder() + "/" + dbPass.Placeholder())}),
			"env":   cty.MapVal(map[string]cty.Value{"PASSWORD": cty.StringVal(dbPass.Placeholder())}),
		}))
		s.Secrets = []modules.SecretRef{appKey, dbPass}
	})
	e.create(s)

	if got := e.lab.seen(s.Address); len(got) != 1 || got[0] != "Bearer canary-4f1d" {
		t.Errorf("token seen by the module got: %v, want: [Bearer canary-4f1d]", got)
	}
	inst, _ := e.rt.lookup(s.Address).instance()
	var cfg struct {
		List []string          `json:"list"`
		Env  map[string]string `json:"env"`
	}
	if err := inst.Context().Config().Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.List[1] != "canary-77aa/canary-4f1d" || cfg.Env["PASSWORD"] != "canary-4f1d" {
		t.Errorf("resolved config got: %+v", cfg)
	}
	if !inst.Context().Config().Get("token").HasMark("sensitive") {
		t.Error("the token lost its sensitive mark")
	}
	st := e.status(s.Address)
	if got, _ := st.Spec.Config.Get("token").Unmark(); got.AsString() != "Bearer "+dbPass.Placeholder() {
		t.Errorf("status config got: %q, want: the placeholder", got)
	}
	if fp := st.SecretFingerprints[dbPass.String()]; !strings.HasPrefix(fp, "hmac-sha256:") || len(st.SecretFingerprints) != 2 {
		t.Errorf("fingerprints got: %v, want: two hmac-sha256 fingerprints", st.SecretFingerprints)
	}
	if got := e.secrets.readCount(); got != 2 {
		t.Errorf("secret reads for a create got: %d, want: 2 (each secret once, start reuses init's)", got)
	}
	e.noCanary("canary-4f1d", "canary-77aa")
}

func TestRuntime_unresolvableSecretFailsInit(t *testing.T) {
	e := newEnv(t)
	s := spec("module.a.db", withToken(dbPass.Placeholder(), dbPass))
	err := e.rt.Do(context.Background(), s, modules.TransitionInit)
	if err == nil || !strings.Contains(err.Error(), "mem db/pass") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("got: %v, want: an error naming the secret", err)
	}
	if _, ok := e.rt.Status(s.Address); ok {
		t.Error("a module whose secrets did not resolve is in the status")
	}
	if got := e.lab.callsOf("init"); len(got) != 0 {
		t.Errorf("the module was initialised with unresolved secrets: %v", got)
	}
}

func TestRuntime_placeholderOutsideSpecSecretsIsResolvedToo(t *testing.T) {
	e := newEnv(t)
	e.secrets.set(dbPass.String(), "canary-9")
	s := spec("module.a.db", withToken(dbPass.Placeholder())) // Spec.Secrets left empty
	e.create(s)
	if got := e.lab.seen(s.Address); got[0] != "canary-9" {
		t.Errorf("got: %v, want: the value", got)
	}
	if _, ok := e.status(s.Address).SecretFingerprints[dbPass.String()]; !ok {
		t.Error("the secret has no fingerprint")
	}
}

func TestRuntime_secretRotation(t *testing.T) {
	tests := map[string]struct {
		mode         modules.OnSecretChange
		wantTokens   string // what the module saw, in order
		wantRestarts int
		wantCalls    string // reconfigure and start calls
	}{
		"restart":            {modules.OnSecretRestart, "old-canary,new-canary", 1, "start,start"},
		"default is restart": {"", "old-canary,new-canary", 1, "start,start"},
		"reload":             {modules.OnSecretReload, "old-canary,new-canary", 0, "start,reconfigure"},
		"noop":               {modules.OnSecretNoop, "old-canary", 0, "start"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.secrets.set(dbPass.String(), "old-canary")
			s := spec("module.a.db", withToken(dbPass.Placeholder(), dbPass), func(s *modules.Spec) { s.OnSecretChange = tt.mode })
			e.create(s)
			before := e.status(s.Address).SecretFingerprints[dbPass.String()]

			if err := e.rt.CheckSecrets(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(e.events.kinds(s.Address)); n != 0 {
				t.Fatalf("events without a rotation got: %d, want: 0", n)
			}
			e.secrets.set(dbPass.String(), "new-canary")
			if err := e.rt.CheckSecrets(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := e.rt.CheckSecrets(context.Background()); err != nil { // reported once
				t.Fatal(err)
			}

			if got := strings.Join(e.lab.seen(s.Address), ","); got != tt.wantTokens {
				t.Errorf("tokens seen got: %s, want: %s", got, tt.wantTokens)
			}
			var calls []string
			for _, c := range e.lab.calls {
				if m, _, _ := strings.Cut(c, " "); m == "start" || m == "reconfigure" {
					calls = append(calls, m)
				}
			}
			if got := strings.Join(calls, ","); got != tt.wantCalls {
				t.Errorf("calls got: %s, want: %s", got, tt.wantCalls)
			}
			st := e.status(s.Address)
			if st.State != modules.StateStarted || st.Restarts != tt.wantRestarts {
				t.Errorf("got: %s with %d restarts, want: started with %d", st.State, st.Restarts, tt.wantRestarts)
			}
			if after := st.SecretFingerprints[dbPass.String()]; after == before {
				t.Error("the fingerprint did not change")
			}
			var rotated []Event
			for _, ev := range e.events.list() {
				if ev.Kind == EventSecretRotated {
					rotated = append(rotated, ev)
				}
			}
			if len(rotated) != 1 || len(rotated[0].Secrets) != 1 || rotated[0].Secrets[0] != "mem db/pass" || rotated[0].Err != nil {
				t.Errorf("rotation events got: %+v, want: one naming mem db/pass", rotated)
			}
			if err := e.rt.WaitReady(context.Background(), s.Address); err != nil {
				t.Error(err)
			}
			e.noCanary("old-canary", "new-canary")
		})
	}
}

func TestRuntime_checkSecretsReadsEachSecretOnce(t *testing.T) {
	e := newEnv(t)
	e.secrets.set(dbPass.String(), "v1")
	for _, a := range []string{"module.a.one", "module.a.two", "module.a.three"} {
		e.create(spec(a, withToken(dbPass.Placeholder(), dbPass)))
	}
	before := e.secrets.readCount()
	if err := e.rt.CheckSecrets(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.secrets.readCount() - before; got != 1 {
		t.Errorf("reads got: %d, want: 1 for three modules sharing the secret", got)
	}
}

func TestRuntime_checkSecretsReportsUnreadableSecrets(t *testing.T) {
	e := newEnv(t)
	e.secrets.set(dbPass.String(), "v1")
	s := spec("module.a.db", withToken(dbPass.Placeholder(), dbPass))
	e.create(s)
	e.secrets.mu.Lock()
	delete(e.secrets.values, dbPass.String())
	e.secrets.mu.Unlock()
	err := e.rt.CheckSecrets(context.Background())
	if err == nil || !strings.Contains(err.Error(), "module.a.db") || !strings.Contains(err.Error(), "mem db/pass") {
		t.Errorf("got: %v, want: an error naming the module and the secret", err)
	}
	if st := e.status(s.Address); st.State != modules.StateStarted || st.Restarts != 0 {
		t.Errorf("got: %s, %d restarts; want: left running", st.State, st.Restarts)
	}
}

func TestRuntime_restartResolvesSecretsAfresh(t *testing.T) {
	e := newEnv(t)
	e.secrets.set(dbPass.String(), "canary-first")
	addr := "module.a.db"
	b := &behaviour{exits: make(chan error)}
	e.lab.set(addr, b)
	e.create(spec(addr, withToken(dbPass.Placeholder(), dbPass), withRestart(modules.RestartOnFailure, 3, 1, 1)))
	e.secrets.set(dbPass.String(), "canary-second")
	b.exits <- errBoom
	e.waitEvents(addr, 2) // exited, restarted
	if got := strings.Join(e.lab.seen(addr), ","); got != "canary-first,canary-second" {
		t.Errorf("got: %s, want: canary-first,canary-second", got)
	}
	e.noCanary("canary-first", "canary-second")
}
