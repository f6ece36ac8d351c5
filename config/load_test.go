package config_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/version"
	"github.com/nexus-run/nexus/modules"
)

// TestLoad_diagnostics checks the diagnostics of small in-memory topologies,
// each a mistake the fixtures do not cover.
func TestLoad_diagnostics(t *testing.T) {
	const main = "main.nexus.hcl"
	tests := map[string]struct {
		src  string
		opts func(*config.Options)
		want []wantDiag
	}{
		"locals cycle": {
			src: "locals {\n  a = local.b\n  b = local.c\n  c = local.a\n  d = 1\n}\n",
			want: []wantDiag{{summary: "Dependency cycle", file: main, line: 2, col: 3,
				detail: "local.a → local.b → local.c → local.a"}},
		},
		"local refers to a module": {
			src:  "locals {\n  m = module.x.y.id\n}\nmodule \"x\" \"y\" {\n  kind = \"target\"\n}\n",
			want: []wantDiag{{summary: "Invalid reference", file: main, line: 2, col: 7, detail: "cannot refer to a module"}},
		},
		"each and count outside expansion": {
			src: "module \"x\" \"y\" {\n  kind = \"target\"\n  permissions = [each.key, count.index]\n}\n",
			want: []wantDiag{
				{summary: `Reference to "each" in context without for_each`, file: main, line: 3, col: 18},
				{summary: `Reference to "count" in non-counted context`, file: main, line: 3, col: 28},
			},
		},
		"unknown reference roots": {
			src: "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = [\"a\", foo.bar, var]\n  }\n}\n",
			want: []wantDiag{
				{summary: "Invalid reference", file: main, line: 4, col: 21, detail: `"foo"`},
				{summary: "Invalid reference", file: main, line: 4, col: 30, detail: "var.region"},
			},
		},
		"depends_on missing instances": {
			src: "module \"x\" \"y\" {\n  count = 2\n  kind = \"target\"\n}\nmodule \"x\" \"z\" {\n  kind = \"target\"\n" +
				"  depends_on = [module.x.y[5], module.x.y]\n}\n",
			want: []wantDiag{{summary: "Reference to undeclared module instance", file: main, line: 7, col: 17, detail: "from 0 to 1"}},
		},
		"depends_on not an address": {
			src:  "module \"x\" \"y\" {\n  kind = \"target\"\n  depends_on = [\"module.x.z\", module.x.y.config]\n}\n",
			want: []wantDiag{{summary: "Invalid depends_on reference", file: main, line: 3, col: 17}, {summary: "Invalid depends_on reference", file: main, line: 3, col: 31}},
		},
		"self dependency": {
			src:  "module \"a\" \"x\" {\n  kind = \"target\"\n  depends_on = [module.a.x]\n}\n",
			want: []wantDiag{{summary: "Dependency cycle", file: main, line: 1, col: 1, detail: "module.a.x → module.a.x."}},
		},
		"env unset": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = [\"a\", env(\"NOPE\")]\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid function argument", file: main, line: 4, col: 26, detail: `try(env("NOPE"), "default")`}},
		},
		"file missing": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = [\"a\", file(\"nope.txt\")]\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid function argument", file: main, line: 4, col: 27, detail: `no file "nope.txt"`}},
		},
		"kind validation": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    stop_signal = \"SIGFOO\"\n    command = [\"a\"]\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid exec config", file: main, line: 3, col: 3, detail: `module.x.y is not valid: stop_signal "SIGFOO"`}},
		},
		"missing required without config block": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n}\n",
			want: []wantDiag{{summary: "Missing required argument", file: main, line: 1, col: 1, detail: `"command"`}},
		},
		"missing required in config block": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n  }\n}\n",
			want: []wantDiag{{summary: "Missing required argument", file: main, line: 3, col: 3, detail: `"command"`}},
		},
		"required set to null": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = null\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid value", file: main, line: 4, col: 15, detail: "cannot be null"}},
		},
		"missing kind": {
			src:  "module \"x\" \"y\" {\n  state = \"stopped\"\n}\n",
			want: []wantDiag{{summary: "Missing required argument", file: main, line: 1, col: 1, detail: `"kind"`}},
		},
		"bad counts and keys": {
			src: "module \"x\" \"y\" {\n  count = -1\n  kind = \"target\"\n}\nmodule \"x\" \"z\" {\n  count = 1.5\n  kind = \"target\"\n}\n" +
				"module \"x\" \"w\" {\n  for_each = toset([\"a/b\"])\n  kind = \"target\"\n}\nmodule \"x\" \"v\" {\n  count = 100000\n  kind = \"target\"\n}\n",
			want: []wantDiag{
				{summary: "Invalid count argument", file: main, line: 2, col: 11, detail: "not -1"},
				{summary: "Invalid count argument", file: main, line: 6, col: 11, detail: "not 1.5"},
				{summary: "Invalid for_each key", file: main, line: 10, col: 14, detail: `"a/b"`},
				{summary: "Invalid count argument", file: main, line: 14, col: 11, detail: "from 0 to 10000"},
			},
		},
		"one diagnostic for every instance's mistake": {
			src:  "module \"x\" \"y\" {\n  for_each = toset([\"a\", \"b\", \"c\"])\n  kind = \"exec\"\n  config {\n    command = \"oops\"\n  }\n}\n",
			want: []wantDiag{{summary: "Incorrect attribute value type", file: main, line: 5, col: 15}},
		},
		"kind version": {
			src: "module \"a\" \"x\" {\n  kind = \"target\"\n  version = \"~> 2.0\"\n}\nmodule \"a\" \"y\" {\n  kind = \"target\"\n  version = \"bogus\"\n}\n",
			want: []wantDiag{
				{summary: "Unsupported kind version", file: main, line: 3, col: 13, detail: "version 1.0.0"},
				{summary: "Invalid version constraint", file: main, line: 7, col: 13},
			},
		},
		"nexus block": {
			src: "nexus {\n  required_version = \"< 0.0.1\"\n  project = \"Payments\"\n}\nnexus {\n}\n",
			want: []wantDiag{
				{summary: "Unsupported nexus version", file: main, line: 2, col: 22, detail: "this is nexus " + version.Version},
				{summary: "Invalid project name", file: main, line: 3, col: 13},
				{summary: "Duplicate nexus block", file: main, line: 5, col: 1, detail: "main.nexus.hcl:1"},
			},
		},
		"invalid required_version": {
			src:  "nexus {\n  required_version = \"soon\"\n}\n",
			want: []wantDiag{{summary: "Invalid required_version", file: main, line: 2, col: 22}},
		},
		"health, restart and limits": {
			src: "module \"x\" \"y\" {\n  kind = \"target\"\n  health {\n    interval = \"1s\"\n  }\n}\nmodule \"x\" \"z\" {\n  kind = \"target\"\n" +
				"  restart {\n    backoff = \"2m\"\n    max_backoff = \"1m\"\n    policy = \"sometimes\"\n  }\n  limits {\n    memory_mb = -5\n  }\n" +
				"  health {\n    http = \"localhost:80\"\n    exec = []\n  }\n}\n",
			want: []wantDiag{
				{summary: "Missing health check", file: main, line: 3, col: 3},
				{summary: "Invalid max_backoff", file: main, line: 11, col: 19},
				{summary: "Invalid policy value", file: main, line: 12, col: 14, detail: `"never", "on-failure" or "always"`},
				{summary: "Invalid memory_mb value", file: main, line: 15, col: 17},
				{summary: "Invalid health check URL", file: main, line: 18, col: 12},
				{summary: "Conflicting health checks", file: main, line: 19, col: 5},
				{summary: "Invalid health check command", file: main, line: 19, col: 12},
			},
		},
		"duplicate nested blocks": {
			src:  "module \"x\" \"y\" {\n  kind = \"target\"\n  config {}\n  config {}\n  limits {}\n  limits {}\n}\n",
			want: []wantDiag{{summary: "Duplicate config block", file: main, line: 4, col: 3}, {summary: "Duplicate limits block", file: main, line: 6, col: 3}},
		},
		"sensitive where plans show values": {
			src: "variable \"s\" {\n  type = string\n  sensitive = true\n  default = \"x\"\n}\nmodule \"x\" \"y\" {\n  for_each = toset([var.s])\n  kind = \"target\"\n}\n" +
				"module \"x\" \"z\" {\n  kind = \"target\"\n  health {\n    http = \"http://h/${var.s}\"\n  }\n}\n",
			want: []wantDiag{
				{summary: "Invalid for_each argument", file: main, line: 7, col: 14, detail: "sensitive"},
				{summary: "Sensitive value not allowed", file: main, line: 13, col: 12},
			},
		},
		"variable mistakes": {
			src: "variable \"n\" {\n  type = number\n  default = \"abc\"\n}\nvariable \"v\" {\n  default = 1\n  validation {\n    condition = true\n    error_message = \"x\"\n  }\n}\n" +
				"variable \"bad name\" {}\nvariable \"t\" {\n  type = lisst(string)\n}\n",
			want: []wantDiag{
				{summary: "Invalid default value for variable", file: main, line: 3, col: 13},
				{summary: "Invalid variable validation condition", file: main, line: 8, col: 17, detail: "var.v"},
				{summary: "Invalid variable name", file: main, line: 12, col: 10},
				{summary: "No value for required variable", file: main, line: 13, col: 1},
				{summary: "Invalid type specification", file: main, line: 14, col: 10},
			},
		},
		"invalid module labels": {
			src:  "module \"x y\" \"z\" {\n  kind = \"target\"\n}\nmodule \"x\" \"1z\" {\n  kind = \"target\"\n}\n",
			want: []wantDiag{{summary: "Invalid module group", file: main, line: 1, col: 8}, {summary: "Invalid module name", file: main, line: 4, col: 12}},
		},
		"syntax error stops the load": {
			src:  "module \"x\" \"y\" {\n  kind = \"target\"\n  nope = \n}\n",
			want: []wantDiag{{summary: "Invalid expression", file: main, line: 3, col: 10}},
		},
		"undeclared -var": {
			src:  "variable \"region\" {\n  default = \"eu\"\n}\n",
			opts: func(o *config.Options) { o.Vars = []config.VarAssignment{{Name: "regoin", Value: "us"}} },
			want: []wantDiag{{summary: "Value for undeclared variable", detail: `Did you mean "region"?`}},
		},
		"undeclared NEXUS_VAR": {
			src:  "module \"x\" \"y\" {\n  kind = \"target\"\n}\n",
			opts: func(o *config.Options) { o.Env = map[string]string{"NEXUS_VAR_nope": "1"} },
			want: []wantDiag{{warning: true, summary: "Value for undeclared variable", detail: "NEXUS_VAR_nope"}},
		},
		"-var not an expression for its type": {
			src:  "variable \"ports\" {\n  type = list(number)\n}\n",
			opts: func(o *config.Options) { o.Vars = []config.VarAssignment{{Name: "ports", Value: "80,443"}} },
			want: []wantDiag{{summary: "Invalid value for input variable", detail: `-var "ports"`}},
		},
		"-var of the wrong type": {
			src:  "variable \"port\" {\n  type = number\n}\n",
			opts: func(o *config.Options) { o.Vars = []config.VarAssignment{{Name: "port", Value: `"eighty"`}} },
			want: []wantDiag{{summary: "Invalid value for input variable", detail: "a number is required"}},
		},
		"validation of a -var value points at the condition": {
			src:  "variable \"port\" {\n  type = number\n  validation {\n    condition = var.port > 1024\n    error_message = \"Use an unprivileged port.\"\n  }\n}\n",
			opts: func(o *config.Options) { o.Vars = []config.VarAssignment{{Name: "port", Value: "80"}} },
			want: []wantDiag{{summary: "Invalid value for variable", file: main, line: 4, col: 17, detail: "Use an unprivileged port."}},
		},
		"sensitive value in an error message is not shown": {
			src: "variable \"pw\" {\n  sensitive = true\n  default = \"short\"\n  validation {\n    condition = length(var.pw) > 8\n" +
				"    error_message = \"${var.pw} is too short.\"\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid value for variable", file: main, line: 3, col: 13, detail: "not shown"}},
		},
		"secret argument count": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = [secret(\"a\", \"b\", \"c\", \"d\")]\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid function argument", file: main, line: 4, col: 39, detail: "at most three"}},
		},
		"secret with a bad key": {
			src:  "module \"x\" \"y\" {\n  kind = \"exec\"\n  config {\n    command = [secret(\"vault\", \"kv/a\", \"k⟧\")]\n  }\n}\n",
			want: []wantDiag{{summary: "Invalid function argument", file: main, line: 4, col: 41, detail: `secret key "k⟧"`}},
		},
		"unknown kind in a reference is not an error twice": {
			src: "module \"a\" \"x\" {\n  kind = \"nope\"\n}\nmodule \"a\" \"y\" {\n  kind = \"exec\"\n  config {\n" +
				"    command = [module.a.x.config.cmd]\n  }\n}\n",
			want: []wantDiag{{summary: "Unsupported module kind", file: main, line: 2, col: 10}},
		},
		"an empty file is a valid, empty topology": {
			src: "",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			_, diags := loadSrc(t, tt.src, opts)
			assertDiags(t, diags, tt.want...)
		})
	}
}

// TestLoad_partialResult checks that a Config comes back with Files and the
// modules that loaded, next to the errors of the others.
func TestLoad_partialResult(t *testing.T) {
	cfg, diags := config.Load("dir", map[string][]byte{
		"good.nexus.hcl": []byte("module \"a\" \"good\" {\n  kind = \"target\"\n}\n"),
		"bad.nexus.hcl":  []byte("module \"a\" \"bad\" {\n  kind = \"target\"\n  state = \"up\"\n}\n"),
	}, testOptions())
	assertDiags(t, diags, wantDiag{summary: "Invalid state value", file: "bad.nexus.hcl", line: 3, col: 11})
	if got := addresses(cfg); !slices.Equal(got, []string{"module.a.good"}) {
		t.Errorf("got: %v\nwant: [module.a.good]", got)
	}
	if cfg.Files["dir/good.nexus.hcl"] == nil || cfg.Files["dir/bad.nexus.hcl"] == nil || cfg.Dir != "dir" {
		t.Errorf("got: files %v, dir %q\nwant: both files under dir/", keys(cfg.Files), cfg.Dir)
	}
	if diags[0].Subject.Filename != "dir/bad.nexus.hcl" {
		t.Errorf("got: subject in %q\nwant: dir/bad.nexus.hcl", diags[0].Subject.Filename)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestLoad_syntaxErrorKeepsFiles checks that a file with a syntax error is
// still in Config.Files, for the snippet.
func TestLoad_syntaxErrorKeepsFiles(t *testing.T) {
	cfg, diags := config.Load("", map[string][]byte{
		"a.nexus.hcl":  []byte("module \"a\" {\n"),
		"b.nexus.json": []byte(`{"module": [}`),
	}, testOptions())
	if !diags.HasErrors() || cfg.Files["a.nexus.hcl"] == nil || cfg.Files["b.nexus.json"] == nil {
		t.Fatalf("got: files %v, diagnostics:\n%s\nwant: errors, both files", keys(cfg.Files), describe(diags))
	}
}

// TestLoad_fileNames checks that only configuration file names are accepted
// and that an empty set is an error.
func TestLoad_fileNames(t *testing.T) {
	_, diags := config.Load("", map[string][]byte{"../x.nexus.hcl": nil, "notes.txt": nil}, testOptions())
	assertDiags(t, diags,
		wantDiag{summary: "Invalid configuration file name", detail: `"../x.nexus.hcl"`},
		wantDiag{summary: "Invalid configuration file name", detail: `"notes.txt"`})
	_, diags = config.Load("", map[string][]byte{"a.auto.nexusvars.hcl": nil}, testOptions())
	assertDiags(t, diags, wantDiag{summary: "No configuration files"})
	_, diags = config.LoadDir("testdata/does-not-exist", testOptions())
	assertDiags(t, diags, wantDiag{summary: "Failed to read configuration directory"})
}

// TestLoad_unknownKinds checks AllowUnknownKinds, with and without a registry.
func TestLoad_unknownKinds(t *testing.T) {
	src := "module \"x\" \"y\" {\n  kind = \"custom\"\n  config {\n    size = 3\n    name = \"n-${var.v}\"\n  }\n}\nvariable \"v\" {\n  default = \"1\"\n}\n"
	for name, reg := range map[string]*modules.Registry{"registry": testOptions().Registry, "nil registry": nil} {
		t.Run(name, func(t *testing.T) {
			cfg := mustLoad(t, src, config.Options{Registry: reg, AllowUnknownKinds: true, Env: map[string]string{}})
			m := mustModule(t, cfg, "module.x.y")
			if m.Spec.Kind != "custom" || configString(t, m, "name") != "n-1" || !m.Spec.Config.Get("size").RawEquals(cty.NumberIntVal(3)) {
				t.Errorf("got: kind %q, config %#v\nwant: custom, size 3, name n-1", m.Spec.Kind, m.Spec.Config.Value())
			}
		})
	}
	_, diags := loadSrc(t, src, config.Options{Env: map[string]string{}})
	assertDiags(t, diags, wantDiag{summary: "Unsupported module kind", file: "main.nexus.hcl", line: 2, col: 10})
}

// TestLoad_settings checks the decoding of module arguments and blocks and
// their defaults.
func TestLoad_settings(t *testing.T) {
	src := `
variable "kind" { default = "target" }
module "x" "y" {
  kind             = var.kind
  state            = "stopped"
  on_secret_change = "reload"
  sensitive        = true
  permissions      = ["b.write", "a.read", "b.write"]
  health {
    exec              = ["pg_isready", "-q"]
    failure_threshold = 5
  }
  restart {
    policy  = "always"
    backoff = "2m"
  }
  timeouts {
    stop = "1m"
  }
}
module "x" "plain" {
  kind = "target"
}
`
	cfg := mustLoad(t, src, testOptions())
	s := mustModule(t, cfg, "module.x.y").Spec
	if s.Kind != "target" || s.DesiredState != modules.DesiredStopped || s.OnSecretChange != modules.OnSecretReload || !s.Sensitive {
		t.Errorf("got: kind %q, state %q, on_secret_change %q, sensitive %v\nwant: target, stopped, reload, true", s.Kind, s.DesiredState, s.OnSecretChange, s.Sensitive)
	}
	if want := []string{"a.read", "b.write"}; !slices.Equal(s.Permissions, want) {
		t.Errorf("got: permissions %v\nwant: %v (sorted, unique)", s.Permissions, want)
	}
	wantHealth := modules.HealthCheck{Exec: []string{"pg_isready", "-q"}, Interval: modules.Duration(modules.DefaultHealthInterval),
		Timeout: modules.Duration(modules.DefaultHealthTimeout), FailureThreshold: 5}
	if s.Health == nil || !slices.Equal(s.Health.Exec, wantHealth.Exec) || s.Health.Interval != wantHealth.Interval ||
		s.Health.Timeout != wantHealth.Timeout || s.Health.FailureThreshold != 5 {
		t.Errorf("got: health %+v\nwant: %+v", s.Health, wantHealth)
	}
	wantRestart := modules.DefaultRestartPolicy
	wantRestart.Policy, wantRestart.Backoff, wantRestart.MaxBackoff = modules.RestartAlways, modules.Duration(2*time.Minute), modules.Duration(2*time.Minute)
	if s.Restart != wantRestart {
		t.Errorf("got: restart %+v\nwant: %+v (a backoff above the default cap raises the cap)", s.Restart, wantRestart)
	}
	if want := (modules.Timeouts{Start: modules.DefaultTimeouts.Start, Stop: modules.Duration(time.Minute)}); s.Timeouts != want {
		t.Errorf("got: timeouts %+v\nwant: %+v", s.Timeouts, want)
	}
	p := mustModule(t, cfg, "module.x.plain").Spec
	if p.Health != nil || p.Restart != modules.DefaultRestartPolicy || p.Timeouts != modules.DefaultTimeouts ||
		p.DesiredState != modules.DesiredStarted || p.OnSecretChange != modules.OnSecretRestart {
		t.Errorf("got: %+v\nwant: the defaults", p)
	}
}

// TestLoad_secrets checks that every secret reference in a config is listed
// once, sorted, and that SecretProviders is enforced.
func TestLoad_secrets(t *testing.T) {
	src := `
module "x" "y" {
  kind = "exec"
  config {
    command = ["run", secret("vault", "kv/b"), "--token=${secret("vault", "kv/a", "token")}"]
    env = {
      A = secret("vault", "kv/a", "token")
      B = secret("file", "z")
    }
  }
}
`
	opts := testOptions()
	opts.SecretProviders = []string{"file", "vault"}
	m := mustModule(t, mustLoad(t, src, opts), "module.x.y")
	want := []modules.SecretRef{{Provider: "file", Path: "z"}, {Provider: "vault", Path: "kv/a", Key: "token"}, {Provider: "vault", Path: "kv/b"}}
	if !slices.Equal(m.Spec.Secrets, want) {
		t.Errorf("got: %v\nwant: %v", m.Spec.Secrets, want)
	}
}

// TestLoad_inputs checks that env() and file() go through Options and are
// recorded, and that a failed lookup is not.
func TestLoad_inputs(t *testing.T) {
	src := `
module "x" "y" {
  kind = "exec"
  config {
    command = ["run", env("A"), try(env("B"), "b"), file("cfg/app.txt"), try(file("missing"), "none")]
  }
}
`
	opts := testOptions()
	opts.Env = map[string]string{"A": "a", "UNUSED": "u"}
	var read []string
	opts.ReadFile = func(p string) ([]byte, error) {
		read = append(read, p)
		if p == "cfg/app.txt" {
			return []byte("content"), nil
		}
		return nil, errors.New("no such file")
	}
	cfg := mustLoad(t, src, opts)
	if want := map[string]string{"A": "a"}; !mapsEqual(cfg.Inputs.Env, want) {
		t.Errorf("got: Inputs.Env %v\nwant: %v", cfg.Inputs.Env, want)
	}
	if got := keys(cfg.Inputs.Files); !slices.Equal(got, []string{"cfg/app.txt"}) || string(cfg.Inputs.Files["cfg/app.txt"]) != "content" {
		t.Errorf("got: Inputs.Files %v\nwant: cfg/app.txt = content", got)
	}
	slices.Sort(read)
	if read = slices.Compact(read); !slices.Equal(read, []string{"cfg/app.txt", "missing"}) {
		t.Errorf("got: ReadFile calls %v\nwant: the paths as written", read)
	}
	cmd := mustModule(t, cfg, "module.x.y").Spec.Config.Get("command")
	want := cty.ListVal([]cty.Value{cty.StringVal("run"), cty.StringVal("a"), cty.StringVal("b"), cty.StringVal("content"), cty.StringVal("none")})
	if !cmd.RawEquals(want) {
		t.Errorf("got: %#v\nwant: %#v", cmd, want)
	}
}

// TestLoad_validatePanic checks that a kind whose Validate panics is a
// diagnostic, not a crash.
func TestLoad_validatePanic(t *testing.T) {
	reg := modules.NewRegistry()
	reg.MustRegister(modules.Manifest{
		Kind: "fragile", Version: "1.0.0",
		Validate: func(modules.Config) error { panic("boom") },
	}, func() modules.Module { return modules.Base{} })
	_, diags := loadSrc(t, "module \"x\" \"y\" {\n  kind = \"fragile\"\n}\n", config.Options{Registry: reg, Env: map[string]string{}})
	assertDiags(t, diags, wantDiag{summary: "Invalid fragile config", file: "main.nexus.hcl", line: 1, col: 1, detail: "boom"})
}

// TestLoad_deterministic checks that two loads of one topology agree on
// everything they return, diagnostics included.
func TestLoad_deterministic(t *testing.T) {
	files := map[string][]byte{}
	for i := range 20 {
		files[fmt.Sprintf("f%02d.nexus.hcl", i)] = []byte(fmt.Sprintf(
			"module \"g\" \"m%d\" {\n  kind = \"target\"\n  depends_on = [module.g.m%d]\n  bogus%d = 1\n}\n", i, (i+7)%20, i))
	}
	render := func() string {
		cfg, diags := config.Load("", files, testOptions())
		return fmt.Sprint(addresses(cfg), describe(diags))
	}
	first := render()
	for range 5 {
		if got := render(); got != first {
			t.Fatalf("got:\n%s\nwant:\n%s", got, first)
		}
	}
}

// TestLoad_concurrent runs loads side by side; with -race it checks that
// loads share nothing mutable.
func TestLoad_concurrent(t *testing.T) {
	files, err := config.ReadDir("testdata/expansion")
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	var wg sync.WaitGroup
	results := make([][]string, 4)
	for i := range results {
		wg.Go(func() {
			cfg, _ := config.Load("", files, opts)
			results[i] = addresses(cfg)
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if !slices.Equal(r, results[0]) {
			t.Fatalf("got: %v\nwant: %v", r, results[0])
		}
	}
}
