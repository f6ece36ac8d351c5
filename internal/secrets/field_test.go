package secrets_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
)

func TestParseObject_errorsNeverQuoteInput(t *testing.T) {
	secret := newCanary(t)
	tests := map[string]string{
		"plain text":    secret,
		"syntax error":  `{"a": "` + secret + `" ` + secret + `}`,
		"array":         `["` + secret + `"]`,
		"string":        `"` + secret + `"`,
		"number":        `12`,
		"null":          `null`,
		"truncated":     `{"a": "` + secret,
		"two values":    `{"a": "` + secret + `"} {}`,
		"empty":         ``,
		"bad character": "\x01" + secret,
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := secrets.ParseObject([]byte(input))
			if err == nil {
				t.Fatal("got: nil error want: an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes the input: %q", err)
			}
		})
	}
}

func TestField(t *testing.T) {
	fields, err := secrets.ParseObject([]byte(`{"s": "text", "n": 1e3, "i": 42, "b": false, "o": {"k": [1, "x"]}, "z": null}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		want    string
		wantErr error
	}{
		"s":       {want: "text"},
		"n":       {want: "1e3"},
		"i":       {want: "42"},
		"b":       {want: "false"},
		"o":       {want: `{"k":[1,"x"]}`},
		"z":       {wantErr: secrets.ErrNotFound},
		"missing": {wantErr: secrets.ErrNotFound},
	}
	for key, tt := range tests {
		t.Run(key, func(t *testing.T) {
			got, err := secrets.Field(fields, key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got: %q want: %q", got, tt.want)
			}
		})
	}
	_, err = secrets.Field(fields, "missing")
	if want := `fields: "b", "i", "n", "o", "s", "z"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error got: %q want it to list the fields: %s", err, want)
	}
	if got := secrets.FieldNames(nil); got != "none" {
		t.Errorf("FieldNames(nil) got: %q want: none", got)
	}
}

func FuzzParseObject(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":"b"}`, `{"a":1.5e10,"b":[true,null]}`, `[1]`, `"x"`, `{"a":`, ``, `null`, "\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, err := secrets.ParseObject(data)
		if err != nil {
			if fields != nil {
				t.Error("fields returned beside an error")
			}
			return
		}
		for key := range fields {
			if _, err := secrets.Field(fields, key); err != nil && !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Field(%q): %v", key, err)
			}
		}
	})
}
