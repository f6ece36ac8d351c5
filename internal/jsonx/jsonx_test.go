package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeAny decodes any JSON value the way json.Unmarshal into an `any`
// does: objects as map[string]any, arrays as []any, numbers as float64.
func decodeAny(r *Reader) any {
	switch r.Kind() {
	case Null:
		r.Null()
		return nil
	case Bool:
		return r.Bool()
	case Number:
		return r.Float64()
	case String:
		return r.String()
	case Array:
		out := []any{}
		r.BeginArray()
		for r.More() {
			out = append(out, decodeAny(r))
		}
		return out
	case Object:
		out := map[string]any{}
		r.BeginObject()
		for r.More() {
			k := r.Key()
			out[k] = decodeAny(r)
		}
		return out
	}
	r.Skip() // records the error
	return nil
}

func readAny(s string) (any, error) {
	r := NewReader(s)
	v := decodeAny(r)
	if err := r.End(); err != nil {
		return nil, err
	}
	return v, nil
}

func TestReader_matchesEncodingJSON(t *testing.T) {
	tests := map[string]struct {
		in     string
		wantOK bool
	}{
		"object":                  {`{"a": [1, -2.5e3, true, false, null, "x"], "b": {}}`, true},
		"nested arrays":           {`[[[]], [[1]]]`, true},
		"escapes":                 {`"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, true},
		"lone surrogate":          {`"\ud83dx"`, true},
		"bad surrogate pair":      {`"\ud83d\u0041"`, true},
		"invalid utf-8":           {"\"a\xffb\"", true},
		"duplicate keys":          {`{"a":1,"a":2}`, true},
		"whitespace":              {" \t\n\r{ \"a\" : 1 } \n", true},
		"trailing comma object":   {`{"a":1,}`, false},
		"trailing comma array":    {`[1,]`, false},
		"leading zero":            {`01`, false},
		"bare minus":              {`-`, false},
		"fraction without digits": {`1.`, false},
		"exponent without digits": {`1e+`, false},
		"huge exponent":           {`1e400`, false},
		"control character":       {"\"a\x01\"", false},
		"bad escape":              {`"\x"`, false},
		"short unicode escape":    {`"\u12"`, false},
		"single quote escape":     {`"\'"`, false},
		"unterminated string":     {`"abc`, false},
		"trailing data":           {`{} {}`, false},
		"mismatched close":        {`{"a":1]`, false},
		"missing colon":           {`{"a" 1}`, false},
		"missing comma":           {`[1 2]`, false},
		"bad literal":             {`nul`, false},
		"literal with suffix":     {`truex`, false},
		"empty":                   {``, false},
		"key not string":          {`{1:2}`, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := readAny(tt.in)
			var want any
			werr := json.Unmarshal([]byte(tt.in), &want)
			if (err == nil) != tt.wantOK || (werr == nil) != tt.wantOK {
				t.Fatalf("Reader error: %v, encoding/json error: %v\nwant ok: %v", err, werr, tt.wantOK)
			}
			if tt.wantOK && !reflect.DeepEqual(got, want) {
				t.Fatalf("got:  %#v\nwant: %#v", got, want)
			}
		})
	}
}

func TestReader_depthLimit(t *testing.T) {
	for _, tt := range []struct {
		depth  int
		wantOK bool
	}{{10000, true}, {10001, false}} {
		in := strings.Repeat("[", tt.depth) + strings.Repeat("]", tt.depth)
		_, err := readAny(in)
		var v any
		werr := json.Unmarshal([]byte(in), &v)
		if (err == nil) != tt.wantOK || (werr == nil) != tt.wantOK {
			t.Errorf("depth %d: Reader error %v, encoding/json error %v, want ok %v", tt.depth, err, werr, tt.wantOK)
		}
	}
}

func TestReader_stringsWithoutEscapesAreSubstrings(t *testing.T) {
	in := `{"key":"value"}`
	r := NewReader(in)
	r.BeginObject()
	r.More()
	k := r.Key()
	v := r.String()
	if k != "key" || v != "value" || r.Err() != nil {
		t.Fatalf("got: %q %q %v", k, v, r.Err())
	}
	if got := testing.AllocsPerRun(100, func() {
		r := NewReader(in)
		r.BeginObject()
		for r.More() {
			r.Key()
			_ = r.String()
		}
	}); got > 2 { // the Reader and its closer stack
		t.Errorf("got: %v allocations\nwant: at most 2", got)
	}
}

func TestReader_errorsSayWhere(t *testing.T) {
	_, err := readAny(`{"a": [1, 2,, 3]}`)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 12 {
		t.Fatalf("got: %v\nwant: a *SyntaxError at offset 12", err)
	}
}

func TestRaw_returnsTheValueText(t *testing.T) {
	r := NewReader(`{"a": {"b": [1, "x"]} , "c": 2}`)
	r.BeginObject()
	r.More()
	r.Key()
	if got, want := r.Raw(), `{"b": [1, "x"]}`; got != want {
		t.Fatalf("got:  %q\nwant: %q", got, want)
	}
	r.More()
	r.Key()
	r.Int()
	if r.More() || r.End() != nil {
		t.Fatalf("got: more members or %v", r.Err())
	}
}

func TestAppend_matchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "<a href=\"x\">&amp;</a>", "tab\tnew\nline\r\b\f\x00\x1f\x7f", "é⟦secret⟧😀",
		"bad\xffutf8\xc3", "line\u2028para\u2029", `back\slash`}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q):\ngot:  %s\nwant: %s", s, got, want)
		}
	}
	floats := []float64{0, 1, -1, 0.25, 1e-6, 1e-7, 123456789, 1e20, 1e21, 1.5e300, -2.5e-10, math.SmallestNonzeroFloat64, math.MaxFloat64}
	for _, f := range floats {
		want, _ := json.Marshal(f)
		got, err := AppendFloat(nil, f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v):\ngot:  %s (%v)\nwant: %s", f, got, err, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := AppendFloat(nil, f); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("AppendFloat(%v): got: %v, want: ErrUnsupportedValue", f, err)
		}
	}
	times := []time.Time{{}, time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC), time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600-30*60))}
	for _, tm := range times {
		want, _ := json.Marshal(tm)
		if got, err := AppendTime(nil, tm); err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendTime(%v):\ngot:  %s (%v)\nwant: %s", tm, got, err, want)
		}
	}
	if _, err := AppendTime(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("AppendTime(year 10000): got: %v, want: ErrUnsupportedValue", err)
	}
	for _, b := range [][]byte{nil, {}, []byte("blob\x00\xff")} {
		want, _ := json.Marshal(b)
		if got := AppendBytes(nil, b); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes(%q):\ngot:  %s\nwant: %s", b, got, want)
		}
	}
	for _, m := range []map[string]string{nil, {}, {"b": "1", "a": "<2>", "c": ""}} {
		want, _ := json.Marshal(m)
		if got := AppendStringMap(nil, m); !bytes.Equal(got, want) {
			t.Errorf("AppendStringMap(%v):\ngot:  %s\nwant: %s", m, got, want)
		}
	}
	for _, s := range [][]string{nil, {}, {"a", "b&c"}} {
		want, _ := json.Marshal(s)
		if got := AppendStrings(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendStrings(%v):\ngot:  %s\nwant: %s", s, got, want)
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0,1e3,true,false,null,"\u00e9\ud83d\ude00"]}`, `[]`, `""`, "\"\xff\"", `{"a":{"b":{}}}`, `0.1e-2`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readAny(in)
		var want any
		werr := json.Unmarshal([]byte(in), &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("input %q: Reader error %v, encoding/json error %v", in, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q:\ngot:  %#v\nwant: %#v", in, got, want)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "<>&", "\u2028", "\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		got := AppendString(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q):\ngot:  %s\nwant: %s", s, got, want)
		}
		back := NewReader(string(got)).String()
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("read back %q: got %q, want %q", got, back, wantBack)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1e-7, 1e21, 3.14} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, werr := json.Marshal(v)
		got, err := AppendFloat(nil, v)
		if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, want) {
			t.Fatalf("AppendFloat(%v):\ngot:  %s (%v)\nwant: %s (%v)", v, got, err, want, werr)
		}
	})
}

func FuzzStops_matchByteLoops(f *testing.F) {
	for _, s := range []string{"", "abcdefghijklmnop\"", "0123456789\\", "é<>&\x01\x7f\xff", strings.Repeat("a", 40) + "\n"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, from int) {
		if from < 0 || from > len(s) {
			return
		}
		wantRead, wantWrite := len(s), len(s)
		for i := len(s) - 1; i >= from; i-- {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
				wantRead = i
			}
			if c := s[i]; c >= 0x80 || !htmlSafe[c] {
				wantWrite = i
			}
		}
		wantHigh := false
		for _, c := range []byte(s[from:wantRead]) {
			wantHigh = wantHigh || c >= 0x80
		}
		if got, high := readStop(s, from); got != wantRead || high != wantHigh {
			t.Errorf("readStop(%q, %d): got %d %v, want %d %v", s, from, got, high, wantRead, wantHigh)
		}
		if got := writeStop(s, from); got != wantWrite {
			t.Errorf("writeStop(%q, %d): got %d, want %d", s, from, got, wantWrite)
		}
	})
}
