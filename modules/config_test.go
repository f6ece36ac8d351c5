package modules

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The reference codec: what Config did before it kept its JSON, by way of
// ctyjson and encoding/json. The fast codec must agree with it.

type refTyped struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

func refMarshal(v cty.Value) ([]byte, error) {
	v, _ = v.UnmarkDeep()
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return nil, err
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	return json.Marshal(refTyped{Type: ty, Value: val})
}

func refUnmarshal(buf []byte) (cty.Value, error) {
	var tj refTyped
	if err := json.Unmarshal(buf, &tj); err != nil {
		return cty.NilVal, err
	}
	if len(tj.Type) == 0 {
		return cty.EmptyObjectVal, nil
	}
	ty, err := ctyjson.UnmarshalType(tj.Type)
	if err != nil {
		return cty.NilVal, err
	}
	v, err := ctyjson.Unmarshal(tj.Value, ty)
	if err != nil {
		return cty.NilVal, err
	}
	if v.IsNull() {
		v = cty.EmptyObjectVal
	}
	return v, nil
}

func refDigests(v cty.Value) (string, map[string]string) {
	v, _ = v.UnmarkDeep()
	ref := func(v cty.Value) string {
		buf, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
		if err != nil {
			panic(err)
		}
		return digestBytes(buf)
	}
	whole := ref(v)
	if !v.Type().IsObjectType() || v.IsNull() {
		return whole, nil
	}
	attrs := map[string]string{}
	for name := range v.Type().AttributeTypes() {
		attrs[name] = ref(v.GetAttr(name))
	}
	return whole, attrs
}

// configValues are values of every shape a config can take.
func configValues() map[string]cty.Value {
	big1, _ := new(big.Float).SetPrec(512).SetString("123456789012345678901234567890.5")
	return map[string]cty.Value{
		"empty": cty.EmptyObjectVal,
		"exec": cty.ObjectVal(map[string]cty.Value{
			"command": cty.ListVal([]cty.Value{cty.StringVal("./bin/w"), cty.StringVal("--x=<1>&2")}),
			"env":     cty.MapVal(map[string]cty.Value{"TOKEN": cty.StringVal(SecretRef{Provider: "vault", Path: "kv/a", Key: "k"}.Placeholder()), "Q": cty.StringVal("\"quoted\"\n\u2028é")}),
			"dir":     cty.NullVal(cty.String),
			"limits":  cty.NullVal(cty.Map(cty.Number)),
		}),
		"numbers": cty.ObjectVal(map[string]cty.Value{
			"int": cty.NumberIntVal(-42), "frac": cty.NumberFloatVal(0.25), "big": cty.NumberVal(big1),
		}),
		"collections": cty.ObjectVal(map[string]cty.Value{
			"set":       cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")}),
			"empty_set": cty.SetValEmpty(cty.Bool),
			"tuple":     cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1), cty.True}),
			"empty_tup": cty.EmptyTupleVal,
			"list_obj":  cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"a": cty.False})}),
			"empty_map": cty.MapValEmpty(cty.List(cty.String)),
			"nested":    cty.ObjectVal(map[string]cty.Value{"x": cty.ObjectVal(map[string]cty.Value{"y": cty.StringVal("z")})}),
		}),
		"dynamic null": cty.ObjectVal(map[string]cty.Value{"any": cty.NullVal(cty.DynamicPseudoType), "s": cty.StringVal("s")}),
		"marked":       cty.ObjectVal(map[string]cty.Value{"secret": cty.StringVal("x").Mark("sensitive")}),
	}
}

func TestConfig_encodesAsBefore(t *testing.T) {
	for name, v := range configValues() {
		t.Run(name, func(t *testing.T) {
			want, err := refMarshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(NewConfig(v))
			if err != nil || string(got) != string(want) {
				t.Fatalf("MarshalJSON:\ngot:  %s (%v)\nwant: %s", got, err, want)
			}
			var back Config
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			unmarked, _ := v.UnmarkDeep()
			if !back.Value().RawEquals(unmarked) {
				t.Fatalf("round trip:\ngot:  %#v\nwant: %#v", back.Value(), unmarked)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(want) {
				t.Fatalf("re-encoded:\ngot:  %s\nwant: %s", again, want)
			}
		})
	}
}

func TestConfig_digestsAsBefore(t *testing.T) {
	for name, v := range configValues() {
		t.Run(name, func(t *testing.T) {
			wantWhole, wantAttrs := refDigests(v)
			check := func(how string, c Config) {
				t.Helper()
				whole, attrs := c.Digests()
				if whole != wantWhole || fmt.Sprint(attrs) != fmt.Sprint(wantAttrs) {
					t.Errorf("%s:\ngot:  %s %v\nwant: %s %v", how, whole, attrs, wantWhole, wantAttrs)
				}
			}
			check("built", NewConfig(v))
			buf, _ := refMarshal(v)
			var c Config
			if err := json.Unmarshal(buf, &c); err != nil {
				t.Fatal(err)
			}
			check("read", c)
			// Other text for the same value: spaces, members reversed.
			var spaced Config
			if err := json.Unmarshal([]byte(respace(string(buf))), &spaced); err != nil {
				t.Fatal(err)
			}
			check("read non-canonical", spaced)
		})
	}
}

// respace re-indents a JSON text, a stand-in for a store (PostgreSQL's
// jsonb) handing back other text for the same value.
func respace(s string) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // keep every digit
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	buf, _ := json.MarshalIndent(v, " ", "   ")
	return string(buf)
}

func TestConfig_zeroValueIsTheEmptyConfig(t *testing.T) {
	var zero Config
	built := NewConfig(cty.NilVal)
	for _, c := range []Config{zero, built, NewConfig(cty.NullVal(cty.EmptyObject))} {
		if !c.Value().RawEquals(cty.EmptyObjectVal) {
			t.Errorf("got: %#v\nwant: the empty object", c.Value())
		}
		w1, a1 := c.Digests()
		w2, a2 := refDigests(cty.EmptyObjectVal)
		if w1 != w2 || len(a1) != 0 || len(a2) != 0 {
			t.Errorf("digests: got %s %v, want %s %v", w1, a1, w2, a2)
		}
	}
}

func TestConfig_readKeepsItsText(t *testing.T) {
	text := `{"type":["object",{"a":"string"}],"value":{"a":"x"}}`
	var c Config
	if err := json.Unmarshal([]byte(text), &c); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(c)
	if err != nil || string(got) != text {
		t.Fatalf("got:  %s (%v)\nwant: %s", got, err, text)
	}
	if c.Get("a").AsString() != "x" {
		t.Fatalf("Get(a): got %#v", c.Get("a"))
	}
}

func TestConfig_readRefusesWhatCtyjsonRefuses(t *testing.T) {
	tests := map[string]string{
		"unknown attribute":    `{"type":["object",{"a":"string"}],"value":{"b":"x"}}`,
		"wrong kind":           `{"type":["object",{"a":"number"}],"value":{"a":[1]}}`,
		"not a number":         `{"type":["object",{"a":"number"}],"value":{"a":"one"}}`,
		"bad bool string":      `{"type":["object",{"a":"bool"}],"value":{"a":"yes"}}`,
		"short tuple":          `{"type":["object",{"a":["tuple",["string","bool"]]}],"value":{"a":["x"]}}`,
		"bad type":             `{"type":["object",{"a":"strung"}],"value":{"a":"x"}}`,
		"missing value":        `{"type":["object",{}]}`,
		"mixed dynamic list":   `{"type":["list","dynamic"],"value":[{"value":1,"type":"number"},{"value":"a","type":"string"}]}`,
		"dynamic without type": `{"type":["object",{"a":"dynamic"}],"value":{"a":{"value":1}}}`,
		"not an object":        `"config"`,
		"a type cty panics on": `{"type":["object",{"a":"string"},["b"]],"value":{"a":"x"}}`,
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			var c Config
			err := json.Unmarshal([]byte(text), &c)
			if err == nil {
				t.Fatalf("got: no error, value %#v\nwant: an error", c.Value())
			}
		})
	}
}

func TestConfig_concurrentFirstUse(t *testing.T) {
	buf, _ := refMarshal(configValues()["exec"])
	var c Config
	if err := json.Unmarshal(buf, &c); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c.Value()
			c.Digests()
			if _, err := json.Marshal(c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func FuzzConfig_readMatchesCtyjson(f *testing.F) {
	for _, v := range configValues() {
		buf, _ := refMarshal(v)
		f.Add(string(buf))
	}
	f.Add(`{"type":["object",{"a":"dynamic"}],"value":{"a":{"type":"string","value":"x"}}}`)
	f.Add(`{"type":"bool","value":"1"}`)
	f.Add(`{"type":["map","number"],"value":{"a":"1e3","b":2.5}}`)
	f.Add(`{"TYPE":"string","Value":7,"other":[]}`)
	f.Fuzz(func(t *testing.T, text string) {
		want, werr := refUnmarshalSafe([]byte(text))
		var c Config
		err := json.Unmarshal([]byte(text), &c)
		if (err == nil) != (werr == nil) {
			t.Fatalf("input %s:\ngot error:  %v\nwant error: %v", text, err, werr)
		}
		if err != nil {
			return
		}
		if got := c.Value(); !got.RawEquals(want) {
			t.Fatalf("input %s:\ngot:  %#v\nwant: %#v", text, got, want)
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("input %s: re-encode: %v", text, err)
		}
		c.Digests()
	})
}

// refUnmarshalSafe is refUnmarshal with ctyjson's panics (it builds
// collections from elements of mixed dynamic types) turned into errors.
func refUnmarshalSafe(buf []byte) (v cty.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return refUnmarshal(buf)
}

func TestConfig_equal(t *testing.T) {
	v := configValues()["exec"]
	buf, _ := refMarshal(v)
	var read Config
	if err := json.Unmarshal(buf, &read); err != nil {
		t.Fatal(err)
	}
	built := NewConfig(v)
	other := NewConfig(configValues()["numbers"])
	for name, tt := range map[string]struct {
		a, b Config
		want bool
	}{
		"copies":          {read, read, true},
		"read and built":  {read, built, true},
		"empty and zero":  {Config{}, NewConfig(cty.EmptyObjectVal), true},
		"different":       {built, other, false},
		"empty and other": {Config{}, other, false},
	} {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%s: got %v, want %v", name, got, tt.want)
		}
	}
}
