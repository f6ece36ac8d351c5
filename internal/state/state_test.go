package state_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func TestDecode_roundTrip(t *testing.T) {
	want := statetest.Document("p", "lineage-1", 20, 7)
	buf, err := state.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := state.Decode(buf)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if d := statetest.Diff(got, want); d != "" {
		t.Fatalf("Decode(Encode(doc)): %s", d)
	}
}

func TestDecode_refusesBadDocuments(t *testing.T) {
	tests := map[string]struct {
		doc  string
		want error
	}{
		"not JSON":           {`{"version": 1,`, state.ErrCorrupt},
		"not an object":      {`[1, 2]`, state.ErrCorrupt},
		"version 99":         {`{"version": 99, "lineage": "l", "modules": {}}`, state.ErrUnsupportedVersion},
		"version missing":    {`{"lineage": "l", "modules": {}}`, state.ErrUnsupportedVersion},
		"no lineage":         {`{"version": 1, "modules": {}}`, state.ErrCorrupt},
		"null module":        {`{"version": 1, "lineage": "l", "modules": {"module.a.b": null}}`, state.ErrCorrupt},
		"key is not address": {`{"version": 1, "lineage": "l", "modules": {"module.a.b": {"spec": {"address": "module.a.c"}, "state": "started"}}}`, state.ErrCorrupt},
		"unknown state":      {`{"version": 1, "lineage": "l", "modules": {"module.a.b": {"spec": {"address": "module.a.b"}, "state": "sleeping"}}}`, state.ErrCorrupt},
		"bad duration":       {`{"version": 1, "lineage": "l", "modules": {"module.a.b": {"spec": {"address": "module.a.b", "timeouts": {"start": "soon"}}, "state": "started"}}}`, state.ErrCorrupt},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := state.Decode([]byte(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode:\ngot:  %v\nwant: an error wrapping %q", err, tt.want)
			}
		})
	}
}

func TestDecode_emptyModulesIsAMap(t *testing.T) {
	s, err := state.Decode([]byte(`{"version": 1, "lineage": "l"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Modules == nil {
		t.Fatalf("Modules of a document without modules: got nil, want an empty map")
	}
}

func TestRedacted_emptiesSensitiveConfigAndBlobs(t *testing.T) {
	doc := statetest.Document("p", "l", 4, 1) // module 0 is sensitive
	red := doc.Redacted()
	for addr, m := range red.Modules {
		orig := doc.Modules[addr]
		if m.Blob != nil {
			t.Fatalf("%s: blob kept in a redacted document", addr)
		}
		if orig.Blob == nil {
			t.Fatalf("%s: Redacted changed the original document", addr)
		}
		if m.ConfigDigest != orig.ConfigDigest || len(m.AttrDigests) != len(orig.AttrDigests) {
			t.Fatalf("%s: digests changed by redaction", addr)
		}
		empty := m.Spec.Config.Value().LengthInt() == 0
		if m.Spec.Sensitive != empty {
			t.Fatalf("%s (sensitive %v): config emptied:\ngot:  %v\nwant: %v", addr, m.Spec.Sensitive, empty, m.Spec.Sensitive)
		}
	}
	buf, _ := json.Marshal(red.Modules[statetest.Address(0)])
	if strings.Contains(string(buf), "shard") {
		t.Fatalf("a sensitive config value survived redaction: %s", buf)
	}
}

func TestState_applySetsThenDeletes(t *testing.T) {
	s := &state.State{}
	a, b := statetest.Module(1, 1), statetest.Module(2, 1)
	s.Apply(state.Change{Set: []*state.Module{a, b}})
	s.Apply(state.Change{Set: []*state.Module{statetest.Module(1, 2)}, Delete: []string{b.Spec.Address, "module.not.there"}})
	if got := s.Addresses(); len(got) != 1 || got[0] != a.Spec.Address {
		t.Fatalf("addresses after Apply:\ngot:  %v\nwant: [%s]", got, a.Spec.Address)
	}
	if s.Modules[a.Spec.Address].Restarts != statetest.Module(1, 2).Restarts {
		t.Fatalf("a later Set did not replace the record")
	}
	s.Apply(state.Change{Set: []*state.Module{a}, Delete: []string{a.Spec.Address}})
	if len(s.Modules) != 0 {
		t.Fatalf("set and delete of one address in one change: got the record kept, want it deleted")
	}
}

func TestState_cloneIsDeep(t *testing.T) {
	doc := statetest.Document("p", "l", 2, 1)
	c := doc.Clone()
	m := c.Modules[statetest.Address(1)]
	m.Spec.DependsOn[0], m.Blob[0], m.SecretFingerprints["x"] = "changed", 'X', "y"
	if d := statetest.Diff(doc, statetest.Document("p", "l", 2, 1)); d != "" {
		t.Fatalf("changing a clone changed the original: %s", d)
	}
}

func TestCheckProject_names(t *testing.T) {
	for name, ok := range map[string]bool{
		"default": true, "payments-eu_1": true, "A.b": true, strings.Repeat("a", 128): true,
		"": false, ".": false, "..": false, "-x": false, "a/b": false, "a{b}": false, "a:b": false, "a b": false, strings.Repeat("a", 129): false,
	} {
		err := state.CheckProject(name)
		if (err == nil) != ok {
			t.Errorf("CheckProject(%q):\ngot:  %v\nwant: ok=%v", name, err, ok)
		}
		if err != nil && !errors.Is(err, state.ErrInvalidProject) {
			t.Errorf("CheckProject(%q): error does not wrap ErrInvalidProject: %v", name, err)
		}
	}
}

func TestCheckChange_refusesBadRecords(t *testing.T) {
	bad := statetest.Module(1, 1)
	bad.State = "sleeping"
	noAddr := statetest.Module(2, 1)
	noAddr.Spec.Address = ""
	for name, c := range map[string]state.Change{
		"nil record":    {Set: []*state.Module{nil}},
		"no address":    {Set: []*state.Module{noAddr}},
		"unknown state": {Set: []*state.Module{bad}},
		"empty delete":  {Delete: []string{""}},
	} {
		if err := state.CheckChange(c); err == nil {
			t.Errorf("CheckChange(%s): got no error", name)
		}
	}
	if err := state.CheckChange(state.Change{Set: []*state.Module{statetest.Module(1, 1)}, Delete: []string{"module.a.b"}}); err != nil {
		t.Errorf("CheckChange of a good change: %v", err)
	}
}

// FuzzDecode: no input panics Decode, and whatever it accepts encodes and
// decodes back to an equal document.
func FuzzDecode(f *testing.F) {
	buf, _ := state.Encode(statetest.Document("p", "l", 2, 1))
	f.Add(buf)
	f.Add([]byte(`{"version": 1, "lineage": "l", "modules": {}}`))
	f.Add([]byte(`{"version": 1, "lineage": "l", "modules": {"module.a.b": {"spec": {"address": "module.a.b", "config": {"x": [1, "a"]}}, "state": "started"}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, buf []byte) {
		s, err := state.Decode(buf)
		if err != nil {
			if !errors.Is(err, state.ErrCorrupt) && !errors.Is(err, state.ErrUnsupportedVersion) {
				t.Fatalf("Decode error wraps neither ErrCorrupt nor ErrUnsupportedVersion: %v", err)
			}
			return
		}
		again, err := state.Encode(s)
		if err != nil {
			t.Fatalf("Encode of a decoded document: %v", err)
		}
		s2, err := state.Decode(again)
		if err != nil {
			t.Fatalf("Decode of a re-encoded document: %v\n%s", err, again)
		}
		if d := statetest.Diff(s2, s); d != "" {
			t.Fatalf("round trip changed the document: %s", d)
		}
	})
}

func TestCheckProject_matchesItsRule(t *testing.T) {
	rule := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	names := []string{"", "a", "A9", "payments", "my-project_1.2", "-x", ".x", "_x", "a b", "a/b", "é", "a{b}", "a:b",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "x" + strings.Repeat("-", 127)}
	for _, name := range names {
		err := state.CheckProject(name)
		if want := rule.MatchString(name); (err == nil) != want {
			t.Errorf("CheckProject(%q): got %v, want ok = %v", name, err, want)
		}
	}
}
