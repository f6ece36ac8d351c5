package daemoncfg

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefault_matchesTheDesign(t *testing.T) {
	c := Default()
	if c.DataDir != ".nexus" || c.State.Type != "file" || c.State.Path != filepath.Join(".nexus", "state") {
		t.Errorf("got data dir %q, state %+v", c.DataDir, c.State)
	}
	want := []Listener{{Type: "unix", Path: ".nexus/nexus.sock", Mode: 0o600}, {Type: "tcp", Address: "127.0.0.1:7420"}}
	if !reflect.DeepEqual(c.Listeners, want) {
		t.Errorf("got listeners %+v, want %+v", c.Listeners, want)
	}
	if got := c.SecretProviders(); !reflect.DeepEqual(got, []string{"file", "env"}) {
		t.Errorf("got providers %v", got)
	}
	if c.Secrets[0].Dir != ".nexus/secrets" || c.Audit.Path != ".nexus/audit.log" {
		t.Errorf("got secrets dir %q, audit %q", c.Secrets[0].Dir, c.Audit.Path)
	}
}

func TestLoad_theDesignExample(t *testing.T) {
	env := map[string]string{"NEXUS_STATE_DSN": "postgres://x", "VAULT_ROLE_ID": "role-1"}
	c, _, diags := LoadFile("testdata/full.hcl", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if c.DataDir != "/var/lib/nexus" || c.Node != "host-1" || c.State.Type != "postgres" || c.State.DSN != "postgres://x" {
		t.Errorf("got %+v", c)
	}
	if l := c.Listeners[0]; l.Mode != 0o660 || l.Path != "/run/nexus/nexus.sock" {
		t.Errorf("got unix listener %+v", l)
	}
	if l := c.Listeners[1]; l.TLS == nil || l.TLS.ClientCAFile != "/etc/nexus/tls/ca.pem" {
		t.Errorf("got tcp listener %+v", l)
	}
	v := c.Secrets[0].Vault
	if v == nil || v.AppRole == nil || v.AppRole.RoleID != "role-1" || v.AppRole.SecretIDFile != "/run/secrets/vault-secret-id" {
		t.Errorf("got vault %+v", v)
	}
	if len(c.Roles) != 2 || len(c.Principals) != 2 || c.Principals[0].Roles[0] != "operator" {
		t.Errorf("got roles %+v principals %+v", c.Roles, c.Principals)
	}
	if c.Audit.Path != "/var/log/nexus/audit.log" {
		t.Errorf("got audit %q", c.Audit.Path)
	}
}

func TestLoad_mistakes(t *testing.T) {
	tests := map[string]struct {
		src, summary string
		line         int
	}{
		"unknown state":   {"state \"etcd\" {}\n", "Unknown state store", 1},
		"bad token hash":  {"role \"r\" { permissions = [] }\nprincipal \"p\" {\n  token_sha256 = \"abc\"\n  roles = [\"r\"]\n}\n", "Invalid token hash", 2},
		"unknown block":   {"telemetry {}\n", "Unsupported block type", 1},
		"unset env":       {"state \"postgres\" { dsn = env(\"NOPE_NOT_SET\") }\n", "Invalid function argument", 1},
		"no vault creds":  {"secrets \"vault\" \"v\" { address = \"https://v:8200\" }\n", "Missing Vault credentials", 1},
		"bad socket mode": {"listener \"unix\" {\n  path = \"x.sock\"\n  mode = \"rw\"\n}\n", "Invalid socket mode", 1},
		"two states":      {"state \"file\" {}\nstate \"file\" {}\n", "Duplicate state block", 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, diags := Load("nexusd.hcl", []byte(tt.src), func(string) (string, bool) { return "", false })
			if !diags.HasErrors() {
				t.Fatal("got no error")
			}
			d := diags[0]
			if d.Summary != tt.summary {
				t.Errorf("got summary %q, want %q", d.Summary, tt.summary)
			}
			if d.Subject == nil || d.Subject.Start.Line != tt.line || d.Subject.Filename != "nexusd.hcl" {
				t.Errorf("got subject %v, want nexusd.hcl line %d", d.Subject, tt.line)
			}
		})
	}
}

func TestLoadFile_missingFileSaysWhatToDo(t *testing.T) {
	_, _, diags := LoadFile(filepath.Join(t.TempDir(), "nope.hcl"), nil)
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "embedded defaults") {
		t.Errorf("got %v", diags)
	}
}

func TestLoad_userSecretsKeepDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nexusd.hcl")
	os.WriteFile(path, []byte("secrets \"file\" \"team\" { dir = \"/srv/s\" }\n"), 0o600)
	c, _, diags := LoadFile(path, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := c.SecretProviders(); !reflect.DeepEqual(got, []string{"team", "file", "env"}) {
		t.Errorf("got %v", got)
	}
}
