package modules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// plainSpec is Spec without its JSON methods: what encoding/json makes of
// the struct tags, the reference for the hand-written codec.
type plainSpec Spec

// fillSpec sets every field of a spec (by reflection, so that a field added
// to Spec is filled too) to a value derived from seed.
func fillSpec(seed int) Spec {
	var s Spec
	fillValue(reflect.ValueOf(&s).Elem(), seed)
	return s
}

var configType = reflect.TypeFor[Config]()

func fillValue(v reflect.Value, seed int) {
	if v.Type() == configType {
		v.Set(reflect.ValueOf(NewConfig(cty.ObjectVal(map[string]cty.Value{
			"n": cty.NumberIntVal(int64(seed)), "s": cty.StringVal(fmt.Sprintf("<%d>", seed)),
		}))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-\"é⟦x⟧", seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed)*int64(time.Second) + 7) // Durations too
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), seed+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(v.Index(i), seed+i)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fillValue(v.Field(i), seed+i)
		}
	default:
		panic(fmt.Sprintf("fillValue: add a case for %s", v.Type()))
	}
}

func refSpecJSON(t testing.TB, s Spec) string {
	t.Helper()
	p := plainSpec(s)
	buf, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

func specCases() map[string]Spec {
	minimal := Spec{Address: "module.a.b", ID: "a/b", Kind: "target", DesiredState: DesiredStarted}
	onlyCPU := minimal
	onlyCPU.Limits.CPUPercent = 5
	tcp := minimal
	tcp.Health = &HealthCheck{TCP: "127.0.0.1:1", Interval: Duration(time.Second)}
	return map[string]Spec{
		"zero":         {},
		"minimal":      minimal,
		"every":        fillSpec(1),
		"only cpu":     onlyCPU,
		"tcp":          tcp,
		"empty slices": {Secrets: []SecretRef{}, DependsOn: []string{}, Health: &HealthCheck{Exec: []string{}}},
	}
}

func TestSpec_encodesAsEncodingJSON(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(s)
			if want := refSpecJSON(t, s); err != nil || string(got) != want {
				t.Fatalf("MarshalJSON:\ngot:  %s (%v)\nwant: %s", got, err, want)
			}
		})
	}
}

func TestSpec_decodesAsEncodingJSON(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			text := refSpecJSON(t, s)
			for _, in := range []string{text, respace(text)} {
				got, err := parseSpec(in)
				if err != nil {
					t.Fatal(err)
				}
				if g := refSpecJSON(t, got); g != text {
					t.Fatalf("decoded %s:\ngot:  %s\nwant: %s", in, g, text)
				}
			}
		})
	}
}

func TestSpec_readsNamesLikeEncodingJSON(t *testing.T) {
	in := `{"ADDRESS":"module.a.b","Kind":"exec","unknown":{"x":[1]},"restart":null,"health":null,"depends_on":["a",null],` +
		`"timeouts":{"START":"1s","stop":"2s"},"config":null}`
	var want plainSpec
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	got, err := parseSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := refSpecJSON(t, got), refSpecJSON(t, Spec(want)); g != w {
		t.Fatalf("got:  %s\nwant: %s", g, w)
	}
}

func TestSpec_refusesWhatEncodingJSONRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"number for string":   `{"address":1}`,
		"string for int":      `{"restart":{"max_attempts":"5"}}`,
		"fraction for int":    `{"limits":{"memory_mb":1.5}}`,
		"bad duration":        `{"timeouts":{"start":"soon"}}`,
		"null duration":       `{"timeouts":{"start":null}}`,
		"object for slice":    `{"after":{}}`,
		"bad config":          `{"config":{"type":"number","value":"x"}}`,
		"truncated":           `{"address":"a"`,
		"string for struct":   `{"health":"ok"}`,
		"array of non-object": `{"secrets":["vault"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var ref plainSpec
			if err := json.Unmarshal([]byte(in), &ref); err == nil {
				t.Fatalf("encoding/json accepts %s; fix the test", in)
			}
			if _, err := parseSpec(in); err == nil {
				t.Fatalf("got: no error for %s\nwant: an error", in)
			}
		})
	}
}

// hasDuplicateKeys reports whether some object in text has two members
// whose names are equal ignoring case: encoding/json merges those into
// one field where the codec lets the last win whole, so the fuzz test
// leaves them out.
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

func FuzzSpec_decodesAsEncodingJSON(f *testing.F) {
	for _, s := range specCases() {
		buf, _ := json.Marshal(s)
		f.Add(string(buf))
	}
	f.Add(`{"Address":"x","HEALTH":{"Exec":["a"],"interval":"1s","timeout":"2s"},"secrets":[null,{"Key":"k"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		if hasDuplicateKeys(in) {
			return
		}
		var ref plainSpec
		werr := json.Unmarshal([]byte(in), &ref)
		got, err := parseSpec(in)
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

// parseSpec decodes with the codec alone (no encoding/json check first).
func parseSpec(text string) (Spec, error) {
	var s Spec
	err := s.UnmarshalJSON([]byte(text))
	return s, err
}
