package config_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
)

// wantDiag is an expected diagnostic: severity (error unless warning is
// set), summary, the start of its subject (file base name, line, column;
// file "" for none) and, optionally, text its detail must contain.
type wantDiag struct {
	warning   bool
	summary   string
	file      string
	line, col int
	detail    string
}

func (w wantDiag) String() string {
	sev := "error"
	if w.warning {
		sev = "warning"
	}
	return fmt.Sprintf("%s %q at %s:%d,%d", sev, w.summary, w.file, w.line, w.col)
}

func gotDiag(d *hcl.Diagnostic) wantDiag {
	w := wantDiag{warning: d.Severity == hcl.DiagWarning, summary: d.Summary}
	if d.Subject != nil {
		w.file, w.line, w.col = filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column
	}
	return w
}

// assertDiags checks that diags are exactly want, in order.
func assertDiags(t *testing.T, diags hcl.Diagnostics, want ...wantDiag) {
	t.Helper()
	var got, wantS []string
	for _, d := range diags {
		got = append(got, gotDiag(d).String())
	}
	for _, w := range want {
		wantS = append(wantS, w.String())
	}
	if !slices.Equal(got, wantS) {
		t.Fatalf("diagnostics differ\ngot:\n  %s\nwant:\n  %s\nfull:\n%s", strings.Join(got, "\n  "), strings.Join(wantS, "\n  "), describe(diags))
	}
	for i, w := range want {
		if !strings.Contains(diags[i].Detail, w.detail) {
			t.Errorf("detail of %s\ngot:  %s\nwant: it to contain %q", w, diags[i].Detail, w.detail)
		}
	}
}

func describe(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s\n", d.Error())
	}
	return b.String()
}

// testOptions are the options of most tests: the built-in kinds and an
// empty environment.
func testOptions() config.Options {
	return config.Options{Registry: builtin.Registry(), Env: map[string]string{}}
}

// loadSrc loads a single in-memory main.nexus.hcl.
func loadSrc(t *testing.T, src string, opts config.Options) (*config.Config, hcl.Diagnostics) {
	t.Helper()
	cfg, diags := config.Load("", map[string][]byte{"main.nexus.hcl": []byte(src)}, opts)
	if cfg == nil {
		t.Fatal("got: nil Config\nwant: a Config, always")
	}
	return cfg, diags
}

// mustLoad loads src and fails on any error.
func mustLoad(t *testing.T, src string, opts config.Options) *config.Config {
	t.Helper()
	cfg, diags := loadSrc(t, src, opts)
	if diags.HasErrors() {
		t.Fatalf("got errors:\n%s\nwant: none", describe(diags))
	}
	return cfg
}

func addresses(cfg *config.Config) []string {
	addrs := make([]string, len(cfg.Modules))
	for i, m := range cfg.Modules {
		addrs[i] = m.Spec.Address
	}
	return addrs
}

// mustModule returns the module at addr or fails.
func mustModule(t *testing.T, cfg *config.Config, addr string) *config.Module {
	t.Helper()
	m := cfg.Module(addr)
	if m == nil {
		t.Fatalf("got: no module %s among %v\nwant: one", addr, addresses(cfg))
	}
	return m
}

// configString returns a string config attribute, following a path of
// attribute names and map keys.
func configString(t *testing.T, m *config.Module, path ...string) string {
	t.Helper()
	v := m.Spec.Config.Value()
	for _, p := range path {
		switch {
		case v.Type().IsObjectType():
			v = v.GetAttr(p)
		default:
			v = v.Index(cty.StringVal(p))
		}
	}
	return v.AsString()
}
