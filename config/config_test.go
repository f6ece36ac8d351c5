package config_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/modules"
)

// TestLoadDir_example loads the DESIGN.md example topology.
func TestLoadDir_example(t *testing.T) {
	cfg, diags := config.LoadDir(filepath.Join("testdata", "example"), testOptions())
	if len(diags) > 0 {
		t.Fatalf("got:\n%s\nwant: no diagnostics", describe(diags))
	}
	if cfg.Project != "payments" || cfg.RequiredVersion != ">= 0.1.0" {
		t.Errorf("got: project %q, required_version %q\nwant: payments, >= 0.1.0", cfg.Project, cfg.RequiredVersion)
	}
	wantAddrs := []string{`module.synapse.bus`, `module.tasks.report["daily"]`, `module.tasks.report["weekly"]`, `module.vitals.heartbeat`}
	if got := addresses(cfg); !slices.Equal(got, wantAddrs) {
		t.Fatalf("got: %v\nwant: %v", got, wantAddrs)
	}

	bus := mustModule(t, cfg, "module.synapse.bus")
	wantHealth := &modules.HealthCheck{HTTP: "http://127.0.0.1:9100/healthz", Interval: modules.Duration(2 * time.Second),
		Timeout: modules.Duration(time.Second), FailureThreshold: 3}
	if got := bus.Spec.Health; !reflect.DeepEqual(got, wantHealth) {
		t.Errorf("got: health %+v\nwant: %+v", got, wantHealth)
	}
	wantRestart := modules.RestartPolicy{Policy: modules.RestartOnFailure, MaxAttempts: 5, Window: modules.Duration(10 * time.Minute),
		Backoff: modules.Duration(time.Second), MaxBackoff: modules.Duration(time.Minute)}
	if bus.Spec.Restart != wantRestart {
		t.Errorf("got: restart %+v\nwant: %+v", bus.Spec.Restart, wantRestart)
	}
	if want := (modules.Limits{MemoryMB: 128, CPUPercent: 50}); bus.Spec.Limits != want {
		t.Errorf("got: limits %+v\nwant: %+v", bus.Spec.Limits, want)
	}
	if got, want := configString(t, bus, "env", "BUS_TOKEN"), (modules.SecretRef{Provider: "file", Path: "bus/token"}).Placeholder(); got != want {
		t.Errorf("got: BUS_TOKEN %q\nwant: %q", got, want)
	}
	if got, want := configString(t, bus, "stop_signal"), "SIGTERM"; got != want {
		t.Errorf("got: default stop_signal %q\nwant: %q", got, want)
	}
	if v := bus.Spec.Config.Get("dir"); v.IsKnown() && !v.IsNull() {
		t.Errorf("got: dir %#v\nwant: null (unset, no default)", v)
	}

	hb := mustModule(t, cfg, "module.vitals.heartbeat")
	if got, want := hb.Spec.DependsOn, []string{"module.synapse.bus"}; !slices.Equal(got, want) {
		t.Errorf("got: depends_on %v\nwant: %v", got, want)
	}
	if got, want := configString(t, hb, "target"), "http://127.0.0.1:9100/beat"; got != want {
		t.Errorf("got: target %q\nwant: %q", got, want)
	}
	if got, want := hb.Spec.Secrets, []modules.SecretRef{{Provider: "vault", Path: "kv/heartbeat", Key: "api_key"}}; !slices.Equal(got, want) {
		t.Errorf("got: secrets %v\nwant: %v", got, want)
	}
	if hb.Spec.Version != "1.0.0" || !slices.Equal(hb.Spec.Permissions, []string{"heartbeat.send"}) || hb.Manifest.Kind != "heartbeat" {
		t.Errorf("got: version %q, permissions %v, manifest %q\nwant: 1.0.0, [heartbeat.send], heartbeat", hb.Spec.Version, hb.Spec.Permissions, hb.Manifest.Kind)
	}
	if hb.DeclRange.Start.Line != 48 {
		t.Errorf("got: DeclRange line %d\nwant: 48", hb.DeclRange.Start.Line)
	}

	daily := mustModule(t, cfg, `module.tasks.report["daily"]`)
	if daily.Spec.ID != "tasks/report[daily]" || configString(t, daily, "every") != "24h" {
		t.Errorf("got: id %q, every %q\nwant: tasks/report[daily], 24h", daily.Spec.ID, configString(t, daily, "every"))
	}
	if len(cfg.Variables) != 1 || cfg.Variables[0].Value != cty.StringVal("10s") {
		t.Errorf("got: variables %+v\nwant: beat_interval = \"10s\"", cfg.Variables)
	}
	for _, m := range cfg.Modules {
		m.Spec.Config.Digests() // panics on an unknown value
		if _, err := json.Marshal(m.Spec); err != nil {
			t.Errorf("got: %v marshalling %s\nwant: specs marshal", err, m.Spec.Address)
		}
	}
}

// TestLoadDir_expansion checks count and for_each instances, references
// into them and the dependencies they make.
func TestLoadDir_expansion(t *testing.T) {
	cfg, diags := config.LoadDir(filepath.Join("testdata", "expansion"), testOptions())
	if len(diags) > 0 {
		t.Fatalf("got:\n%s\nwant: no diagnostics", describe(diags))
	}
	want := []string{"module.app.first", "module.app.gate", "module.pool.worker[0]", "module.pool.worker[1]", "module.pool.worker[2]",
		`module.tasks.report["daily"]`, `module.tasks.report["weekly"]`}
	if got := addresses(cfg); !slices.Equal(got, want) {
		t.Fatalf("got: %v\nwant: %v", got, want)
	}
	gate := mustModule(t, cfg, "module.app.gate")
	if got, want := gate.Spec.DependsOn, []string{"module.pool.worker[0]", "module.pool.worker[1]", "module.pool.worker[2]"}; !slices.Equal(got, want) {
		t.Errorf("got: gate depends_on %v\nwant: %v (a bare address means every instance)", got, want)
	}
	if got, want := gate.Spec.After, []string{`module.tasks.report["daily"]`}; !slices.Equal(got, want) {
		t.Errorf("got: gate after %v\nwant: %v", got, want)
	}
	first := mustModule(t, cfg, "module.app.first")
	wantDeps := []string{"module.pool.worker[0]", "module.pool.worker[1]", "module.pool.worker[2]", `module.tasks.report["weekly"]`}
	if got := first.Spec.DependsOn; !slices.Equal(got, wantDeps) {
		t.Errorf("got: first depends_on %v\nwant: %v", got, wantDeps)
	}
	for path, want := range map[string]string{"WORKERS": "pool/worker[0],pool/worker[1],pool/worker[2]", "WEEKLY": "168h"} {
		if got := configString(t, first, "env", path); got != want {
			t.Errorf("got: env.%s %q\nwant: %q", path, got, want)
		}
	}
	w1 := mustModule(t, cfg, "module.pool.worker[1]")
	if w1.Spec.ID != "pool/worker[1]" || configString(t, w1, "env", "INDEX") != "1" {
		t.Errorf("got: id %q, INDEX %q\nwant: pool/worker[1], 1", w1.Spec.ID, configString(t, w1, "env", "INDEX"))
	}
}

// TestLoadDir_json loads a topology in HCL's JSON syntax.
func TestLoadDir_json(t *testing.T) {
	cfg, diags := config.LoadDir(filepath.Join("testdata", "json"), testOptions())
	if len(diags) > 0 {
		t.Fatalf("got:\n%s\nwant: no diagnostics", describe(diags))
	}
	if cfg.Project != "json-demo" {
		t.Errorf("got: project %q\nwant: json-demo", cfg.Project)
	}
	bus := mustModule(t, cfg, "module.synapse.bus")
	if got := configString(t, bus, "env", "TAGS"); got != "a,b" {
		t.Errorf("got: TAGS %q\nwant: a,b", got)
	}
	if h := bus.Spec.Health; h == nil || h.TCP != "127.0.0.1:9100" || h.Interval != modules.Duration(5*time.Second) {
		t.Errorf("got: health %+v\nwant: tcp 127.0.0.1:9100 every 5s", h)
	}
	hb := mustModule(t, cfg, "module.vitals.heartbeat")
	if got := configString(t, hb, "target"); got != "http://127.0.0.1:9100/beat" {
		t.Errorf("got: target %q\nwant: http://127.0.0.1:9100/beat", got)
	}
	if !slices.Equal(hb.Spec.DependsOn, []string{"module.synapse.bus"}) || len(hb.Spec.Secrets) != 1 {
		t.Errorf("got: depends_on %v, secrets %v\nwant: [module.synapse.bus], one secret", hb.Spec.DependsOn, hb.Spec.Secrets)
	}
}

// TestLoadDir_sensitive checks that values from sensitive variables are
// recorded as sensitive paths, through references too, and unmarked.
func TestLoadDir_sensitive(t *testing.T) {
	opts := testOptions()
	opts.Vars = []config.VarAssignment{{Name: "token", Value: "s3cr3t"}}
	cfg, diags := config.LoadDir(filepath.Join("testdata", "sensitive"), opts)
	if len(diags) > 0 {
		t.Fatalf("got:\n%s\nwant: no diagnostics", describe(diags))
	}
	web := mustModule(t, cfg, "module.app.web")
	if got, want := paths(web.SensitivePaths), []string{`.env["DB_HOST"]`, `.env["TOKEN"]`}; !slices.Equal(got, want) {
		t.Errorf("got: sensitive paths %v\nwant: %v", got, want)
	}
	if got := configString(t, web, "env", "TOKEN"); got != "Bearer s3cr3t" {
		t.Errorf("got: TOKEN %q\nwant: Bearer s3cr3t", got)
	}
	if web.Spec.Config.Value().ContainsMarked() {
		t.Error("got: marked config\nwant: Spec.Config unmarked")
	}
	beat := mustModule(t, cfg, "module.app.beat")
	if got, want := paths(beat.SensitivePaths), []string{".api_key"}; !slices.Equal(got, want) {
		t.Errorf("got: sensitive paths %v\nwant: %v (through a module reference)", got, want)
	}
	for _, v := range cfg.Variables {
		if !v.Sensitive || v.Value.IsMarked() {
			t.Errorf("got: variable %s sensitive=%v marked=%v\nwant: sensitive, unmarked", v.Name, v.Sensitive, v.Value.IsMarked())
		}
	}
}

func paths(ps []cty.Path) []string {
	var out []string
	for _, p := range ps {
		s := ""
		for _, step := range p {
			switch st := step.(type) {
			case cty.GetAttrStep:
				s += "." + st.Name
			case cty.IndexStep:
				s += `["` + st.Key.AsString() + `"]`
			}
		}
		out = append(out, s)
	}
	return out
}

// TestLoadDir_vars checks every source of variable values, file() and
// env(), and what Inputs records.
func TestLoadDir_vars(t *testing.T) {
	opts := testOptions()
	opts.Env = map[string]string{"HOME": "/home/op", "NEXUS_VAR_replicas": "2", "NEXUS_VAR_ports": "[80, 443]", "OTHER": "x"}
	opts.VarFiles = []config.File{{Name: "prod.nexusvars.hcl", Src: []byte(`region = "ap-south-1"`)}}
	opts.Vars = []config.VarAssignment{{Name: "owner", Value: "me"}}
	cfg, diags := config.LoadDir(filepath.Join("testdata", "vars"), opts)
	assertDiags(t, diags, wantDiag{warning: true, summary: "Value for undeclared variable", file: "a.auto.nexusvars.hcl", line: 3, col: 1})
	if got := addresses(cfg); !slices.Equal(got, []string{"module.app.web[0]", "module.app.web[1]"}) {
		t.Fatalf("got: %v\nwant: two instances (NEXUS_VAR_replicas=2)", got)
	}
	web := mustModule(t, cfg, "module.app.web[0]")
	for k, want := range map[string]string{"REGION": "ap-south-1", "PORTS": "80,443", "OWNER": "me", "HOME": "/home/op", "EXTRA": "fallback", "MOTD": "hello from motd"} {
		if got := configString(t, web, "env", k); got != want {
			t.Errorf("got: %s = %q\nwant: %q", k, got, want)
		}
	}
	wantEnv := map[string]string{"HOME": "/home/op", "NEXUS_VAR_replicas": "2", "NEXUS_VAR_ports": "[80, 443]"}
	if !mapsEqual(cfg.Inputs.Env, wantEnv) {
		t.Errorf("got: Inputs.Env %v\nwant: %v", cfg.Inputs.Env, wantEnv)
	}
	if got := string(cfg.Inputs.Files["motd.txt"]); got != "  hello from motd  \n" {
		t.Errorf("got: Inputs.Files[motd.txt] %q\nwant: the file's content", got)
	}
	if cfg.Files["prod.nexusvars.hcl"] == nil {
		t.Error("got: no prod.nexusvars.hcl in Files\nwant: var files there, for snippets")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReadDir_selectsConfigFiles checks which directory entries ReadDir reads.
func TestReadDir_selectsConfigFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.nexus.hcl", "# main")
	write("extra.nexus.json", "{}")
	write("a.auto.nexusvars.hcl", "")
	write("prod.nexusvars.hcl", "") // not auto: only -var-file reads it
	write("notes.txt", "")          // not config
	write(".main.nexus.hcl", "")    // hidden
	write("#main.nexus.hcl#", "")   // editor file
	write("main.nexus.hcl~", "")    // backup
	if err := os.Mkdir(filepath.Join(dir, "sub.nexus.hcl"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "main.nexus.hcl"), filepath.Join(dir, "link.nexus.hcl")); err != nil {
		t.Fatal(err)
	}
	files, err := config.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(got)
	want := []string{"a.auto.nexusvars.hcl", "extra.nexus.json", "link.nexus.hcl", "main.nexus.hcl"}
	if !slices.Equal(got, want) {
		t.Fatalf("got: %v\nwant: %v", got, want)
	}
	if string(files["main.nexus.hcl"]) != "# main" {
		t.Errorf("got: %q\nwant: the file's content", files["main.nexus.hcl"])
	}
	if _, err := config.ReadDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: %v\nwant: a wrapped not-exist error", err)
	}
}
