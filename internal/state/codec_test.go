package state_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/jsonx"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/statetest"
	"github.com/nexus-run/nexus/modules"
)

// plainModule and plainState are the types without their JSON methods:
// what encoding/json makes of the struct tags, the codec's reference.
type plainModule state.Module

type plainState struct {
	Version int                     `json:"version"`
	Lineage string                  `json:"lineage"`
	Serial  uint64                  `json:"serial"`
	Project string                  `json:"project"`
	Modules map[string]*plainModule `json:"modules"`
}

func refModuleJSON(t testing.TB, m *state.Module) string {
	t.Helper()
	buf, err := json.Marshal((*plainModule)(m))
	if err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

// filledModule is a record with every field set by reflection (so that a
// field added to Module is covered), its spec the fixture's.
func filledModule(seed int) *state.Module {
	m := &state.Module{}
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		fillField(v.Field(i), seed+i)
	}
	m.Spec = statetest.Module(seed, 3).Spec
	return m
}

var (
	timeType = reflect.TypeFor[time.Time]()
	specType = reflect.TypeFor[modules.Spec]()
)

func fillField(v reflect.Value, seed int) {
	switch {
	case v.Type() == specType:
		return
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2024, 2, 29, 23, 59, 58, seed, time.FixedZone("", 3600))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d<&>\u2028", seed))
	case reflect.Int:
		v.SetInt(int64(seed))
	case reflect.Uint64:
		v.SetUint(uint64(seed) << 40)
	case reflect.Float64:
		v.SetFloat(float64(seed) / 3)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillField(v.Elem(), seed+1)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf(fmt.Sprintf("k%d", seed)), reflect.ValueOf("x"))
		v.SetMapIndex(reflect.ValueOf("a"), reflect.ValueOf(fmt.Sprint(seed)))
	case reflect.Slice: // []byte
		v.SetBytes([]byte(fmt.Sprintf("blob\x00%d", seed)))
	case reflect.Struct:
		for i := range v.NumField() {
			fillField(v.Field(i), seed+i)
		}
	default:
		panic(fmt.Sprintf("fillField: add a case for %s", v.Type()))
	}
}

func moduleCases() map[string]*state.Module {
	return map[string]*state.Module{
		"zero":    {},
		"fixture": statetest.Module(3, 5),
		"every":   filledModule(1),
		"target":  statetest.Applied("p", "l", "target", 3).Modules["module.dag.m1"],
		"exec":    statetest.Applied("p", "l", "exec", 3).Modules["module.dag.m2"],
	}
}

func TestModule_encodesAsEncodingJSON(t *testing.T) {
	for name, m := range moduleCases() {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(m)
			if want := refModuleJSON(t, m); err != nil || string(got) != want {
				t.Fatalf("MarshalJSON:\ngot:  %s (%v)\nwant: %s", got, err, want)
			}
		})
	}
}

func TestModule_decodesAsEncodingJSON(t *testing.T) {
	for name, m := range moduleCases() {
		t.Run(name, func(t *testing.T) {
			want := refModuleJSON(t, m)
			got, err := state.DecodeModule(want)
			if err != nil {
				t.Fatal(err)
			}
			if g := refModuleJSON(t, got); g != want {
				t.Fatalf("got:  %s\nwant: %s", g, want)
			}
		})
	}
}

func TestModule_refusesUnsupportedValues(t *testing.T) {
	for name, edit := range map[string]func(m *state.Module){
		"NaN uptime":    func(m *state.Module) { m.UptimeSeconds = nan() },
		"year 10000":    func(m *state.Module) { m.UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"unknown value": func(m *state.Module) { m.Spec.Config = modules.NewConfig(unknownObject()) },
	} {
		t.Run(name, func(t *testing.T) {
			m := statetest.Module(1, 1)
			edit(m)
			if _, err := json.Marshal(m); err == nil {
				t.Fatalf("got: no error\nwant: an error")
			}
			if _, err := state.Encode(&state.State{Version: 1, Lineage: "l", Modules: map[string]*state.Module{m.Spec.Address: m}}); err == nil {
				t.Fatalf("Encode: got no error\nwant: an error")
			}
		})
	}
}

func TestEncode_oneModulePerLine(t *testing.T) {
	doc := statetest.Document("p", "lineage-1", 3, 7)
	buf, err := state.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	if len(lines) != 6+3+2 {
		t.Fatalf("got %d lines:\n%s\nwant: a line per header member and per module", len(lines), buf)
	}
	for i, addr := range doc.Addresses() {
		if want := fmt.Sprintf("    %q: {\"spec\":", addr); !strings.HasPrefix(lines[6+i], want) {
			t.Errorf("line %d:\ngot:  %.60s\nwant: it to start with %s", 6+i, lines[6+i], want)
		}
	}
	if !json.Valid(buf) {
		t.Fatalf("not valid JSON:\n%s", buf)
	}
}

func TestDecode_readsWhatEncodingJSONWrites(t *testing.T) {
	doc := statetest.Document("p", "lineage-1", 20, 7)
	plain := plainState{Version: doc.Version, Lineage: doc.Lineage, Serial: doc.Serial, Project: doc.Project, Modules: map[string]*plainModule{}}
	for a, m := range doc.Modules {
		plain.Modules[a] = (*plainModule)(m)
	}
	for name, marshal := range map[string]func(any) ([]byte, error){
		"indented": func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") },
		"compact":  json.Marshal,
	} {
		t.Run(name, func(t *testing.T) {
			buf, err := marshal(plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := state.Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			if d := statetest.Diff(got, doc); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestEncodeDecode_realisticDocuments(t *testing.T) {
	for _, kind := range []string{"target", "exec"} {
		t.Run(kind, func(t *testing.T) {
			doc := statetest.Applied("p", "l", kind, 50)
			buf, err := state.Encode(doc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := state.Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			if d := statetest.Diff(got, doc); d != "" {
				t.Fatal(d)
			}
			for a, m := range got.Modules {
				whole, _ := m.Spec.Config.Digests()
				if whole != doc.Modules[a].ConfigDigest {
					t.Fatalf("%s: the decoded config digests to %s, the record says %s", a, whole, doc.Modules[a].ConfigDigest)
				}
			}
		})
	}
}

// hasDuplicateKeys reports whether an object in text has two members
// whose names are equal ignoring case; see the fuzz test.
func hasDuplicateKeys(text string) bool {
	dup := false
	var walk func(r *jsonx.Reader)
	walk = func(r *jsonx.Reader) {
		switch r.Kind() {
		case jsonx.Object:
			var keys []string
			r.BeginObject()
			for r.More() {
				k := r.Key()
				for _, seen := range keys {
					dup = dup || strings.EqualFold(seen, k)
				}
				keys = append(keys, k)
				walk(r)
			}
		case jsonx.Array:
			r.BeginArray()
			for r.More() {
				walk(r)
			}
		default:
			r.Skip()
		}
	}
	walk(jsonx.NewReader(text))
	return dup
}

// FuzzDecodeModule holds the record codec to encoding/json: both refuse an
// input, or both read the same record. Inputs with duplicate member names
// are left out: encoding/json merges those, the codec lets the last win.
func FuzzDecodeModule(f *testing.F) {
	for _, m := range moduleCases() {
		buf, _ := json.Marshal(m)
		f.Add(string(buf))
	}
	f.Add(`{"SPEC":{"Address":"a"},"Started_At":null,"usage":{"CPU_seconds":1e3},"blob":"YQ==","attr_digests":{"x":null}}`)
	f.Fuzz(func(t *testing.T, in string) {
		if hasDuplicateKeys(in) {
			return
		}
		var ref plainModule
		werr := json.Unmarshal([]byte(in), &ref)
		got, err := state.DecodeModule(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("input %s:\ngot error:  %v\nwant error: %v", in, err, werr)
		}
		if err != nil {
			return
		}
		g, gerr := json.Marshal(got)
		w, werr := json.Marshal(&ref)
		if (gerr == nil) != (werr == nil) || string(g) != string(w) {
			t.Fatalf("input %s:\ngot:  %s (%v)\nwant: %s (%v)", in, g, gerr, w, werr)
		}
	})
}

func nan() float64 { z := 0.0; return z / z }

func unknownObject() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.String)})
}

// The modules of a large document are read in parallel chunks, split at
// line starts; these read what a sequential reading reads, whatever the
// layout, and report the same errors.
func TestDecode_largeDocuments(t *testing.T) {
	doc := statetest.Document("p", "lineage-1", 1000, 3)
	canonical, err := state.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	plain := plainState{Version: doc.Version, Lineage: doc.Lineage, Serial: doc.Serial, Project: doc.Project, Modules: map[string]*plainModule{}}
	for a, m := range doc.Modules {
		plain.Modules[a] = (*plainModule)(m)
	}
	indented, _ := json.MarshalIndent(plain, "", "  ")
	compact, _ := json.Marshal(plain)
	for name, buf := range map[string][]byte{"canonical": canonical, "indented": indented, "one line": compact} {
		t.Run(name, func(t *testing.T) {
			got, err := state.Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			if d := statetest.Diff(got, doc); d != "" {
				t.Fatal(d)
			}
		})
	}
	damaged := strings.Replace(string(canonical), `"state":"started"`, `"state":"sleeping"`, 1)
	late := strings.LastIndex(string(canonical), `"state":"started"`)
	damagedLate := string(canonical[:late]) + `"state":` + "\x01" + string(canonical[late+len(`"state":`):])
	for name, text := range map[string]string{
		"unknown state":               damaged,
		"bad byte in the last record": damagedLate,
		"truncated":                   string(canonical[:len(canonical)-10]),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := state.Decode([]byte(text)); !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("got: %v\nwant: an error wrapping %v", err, state.ErrCorrupt)
			}
		})
	}
}
