package env_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/secrets/env"
)

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestProvider_variable(t *testing.T) {
	p := env.New("NEXUS_SECRET_", nil)
	tests := map[string]string{
		"db/password":    "NEXUS_SECRET_DB_PASSWORD",
		"api-key":        "NEXUS_SECRET_API_KEY",
		"kv/app.v2":      "NEXUS_SECRET_KV_APP_V2",
		"MiXeD/Case9":    "NEXUS_SECRET_MIXED_CASE9",
		"ünï":            "NEXUS_SECRET__N_", // each non-ASCII character becomes one '_'
		"with space/and": "NEXUS_SECRET_WITH_SPACE_AND",
	}
	for path, want := range tests {
		if got := p.Variable(path); got != want {
			t.Errorf("Variable(%q) got: %q want: %q", path, got, want)
		}
	}
	if got := env.New("", nil).Variable("db/password"); got != "DB_PASSWORD" {
		t.Errorf("Variable without prefix got: %q want: DB_PASSWORD", got)
	}
}

func TestProvider_get(t *testing.T) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	secret := "canary-" + hex.EncodeToString(b[:])
	p := env.New("NEXUS_SECRET_", lookupIn(map[string]string{
		"NEXUS_SECRET_DB_PASSWORD": secret,
		"NEXUS_SECRET_DB":          `{"user": "app", "password": "` + secret + `", "port": 5432}`,
		"NEXUS_SECRET_PLAIN":       secret,
		"NEXUS_SECRET_EMPTY":       "",
	}))
	tests := map[string]struct {
		path, key string
		want      string
		wantErr   error
		errText   string
	}{
		"plain":             {path: "db/password", want: secret},
		"empty value":       {path: "empty", want: ""},
		"key":               {path: "db", key: "password", want: secret},
		"number key":        {path: "db", key: "port", want: "5432"},
		"missing var":       {path: "nope", wantErr: secrets.ErrNotFound, errText: "NEXUS_SECRET_NOPE is not set"},
		"missing key":       {path: "db", key: "nope", wantErr: secrets.ErrNotFound, errText: `"password", "port", "user"`},
		"key of plain text": {path: "plain", key: "k", errText: "NEXUS_SECRET_PLAIN is not a JSON object"},
		"empty path":        {path: "", wantErr: secrets.ErrInvalidPath},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := p.Get(context.Background(), tt.path, tt.key)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("got error: %v want one containing %q", err, tt.errText)
			}
			if err == nil && tt.errText == "" && got != tt.want {
				t.Errorf("got: %q want: %q", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error contains the secret value: %q", err)
			}
			if exists := p.Exists(context.Background(), tt.path, tt.key); (exists == nil) != (err == nil) {
				t.Errorf("Exists got: %v, Get got: %v", exists, err)
			}
		})
	}
}

func TestProvider_defaultLookupAndCancel(t *testing.T) {
	t.Setenv("NEXUS_TEST_SECRET_TOKEN", "from-env")
	p := env.New("NEXUS_TEST_SECRET_", nil)
	got, err := p.Get(context.Background(), "token", "")
	if err != nil || got != "from-env" {
		t.Errorf("Get got: %q, %v want: %q", got, err, "from-env")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Get(ctx, "token", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context got: %v want: context.Canceled", err)
	}
	var _ secrets.Provider = p
	if _, ok := secrets.Provider(p).(secrets.Writer); ok {
		t.Error("the env provider must be read-only")
	}
}
