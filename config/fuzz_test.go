package config_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
)

// FuzzLoad loads arbitrary source as one topology file (native or JSON
// syntax) and checks that Load never panics and keeps its promises: a
// Config always, diagnostics that point into known files, and, when there
// are no errors, modules whose values are known, sorted, unique and whose
// dependencies exist.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.nexus.*"))
	for _, path := range seeds {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, strings.HasSuffix(path, ".json"))
	}
	reg := builtin.Registry()
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		name := "main.nexus.hcl"
		if asJSON {
			name = "main.nexus.json"
		}
		opts := config.Options{
			Registry: reg,
			Env:      map[string]string{"HOME": "/home/op", "NEXUS_VAR_token": "t0ken"},
			ReadFile: func(p string) ([]byte, error) {
				if p == "motd.txt" {
					return []byte("hello\n"), nil
				}
				return nil, fs.ErrNotExist
			},
			SecretProviders: []string{"env", "file", "vault"},
		}
		cfg, diags := config.Load("", map[string][]byte{name: src}, opts)
		if cfg == nil {
			t.Fatal("got: nil Config\nwant: a Config, always")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("got: diagnostic without summary: %#v\nwant: a summary", d)
			}
			if d.Subject != nil && cfg.Files[d.Subject.Filename] == nil {
				t.Errorf("got: subject in %q, not in Config.Files\nwant: subjects in loaded files (%s)", d.Subject.Filename, d.Error())
			}
		}
		if diags.HasErrors() {
			return
		}
		checkModules(t, cfg)
	})
}

// checkModules checks what the packages downstream of config rely on.
func checkModules(t *testing.T, cfg *config.Config) {
	t.Helper()
	seen := make(map[string]bool, len(cfg.Modules))
	for i, m := range cfg.Modules {
		if i > 0 && cfg.Modules[i-1].Spec.Address >= m.Spec.Address {
			t.Errorf("got: %s after %s\nwant: modules sorted by address, unique", m.Spec.Address, cfg.Modules[i-1].Spec.Address)
		}
		seen[m.Spec.Address] = true
		v := m.Spec.Config.Value()
		if !v.IsWhollyKnown() || v.ContainsMarked() {
			t.Errorf("got: config of %s known=%v marked=%v\nwant: known and unmarked", m.Spec.Address, v.IsWhollyKnown(), v.ContainsMarked())
			continue
		}
		m.Spec.Config.Digests()
		buf, err := json.Marshal(m.Spec)
		if err != nil {
			t.Errorf("got: %v marshalling %s\nwant: specs marshal", err, m.Spec.Address)
		}
		var back struct{ Address string }
		if err := json.Unmarshal(buf, &back); err != nil || back.Address != m.Spec.Address {
			t.Errorf("got: %v, %q\nwant: the spec's JSON to read back", err, back.Address)
		}
	}
	for _, m := range cfg.Modules {
		for _, dep := range append(append([]string(nil), m.Spec.DependsOn...), m.Spec.After...) {
			if !seen[dep] {
				t.Errorf("got: %s depends on %s, which is not loaded\nwant: every dependency loaded", m.Spec.Address, dep)
			}
		}
	}
}
