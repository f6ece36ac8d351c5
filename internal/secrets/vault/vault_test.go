package vault_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/secrets/vault"
	"github.com/nexus-run/nexus/internal/secrets/vault/vaulttest"
)

func TestProvider_tokenAuthKV2(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	value := newCanary(t)
	srv.Put("", "kv", "heartbeat", map[string]any{"api_key": value, "other": "x"})
	token := srv.CreateToken(vaulttest.TokenOptions{})
	logger, logs := capture()
	p := open(t, vault.Config{Address: srv.URL(), Token: token, Logger: logger})
	for range 3 {
		got, err := p.Get(ctx, "kv/heartbeat", "api_key")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got != value {
			t.Fatalf("Get got: %q want: %q", got, value)
		}
	}
	detections := 0
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "sys/internal/ui/mounts/") {
			detections++
		}
	}
	if detections != 1 {
		t.Errorf("mount detections got: %d want: 1 (cached per mount)", detections)
	}
	assertNoCanary(t, "log", logs.String(), value, token)
}

func TestProvider_kvVersionsAndMounts(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.MountKV("", "legacy", 1)
	srv.MountKV("", "secret/team", 2)
	srv.Put("", "kv", "app/db", map[string]any{"password": "v2-value"})
	srv.Put("", "legacy", "app/db", map[string]any{"password": "v1-value"})
	srv.Put("", "secret/team", "db", map[string]any{"password": "deep-mount"})
	token := srv.CreateToken(vaulttest.TokenOptions{})
	tests := map[string]struct {
		kvVersion int
		path      string
		want      string
	}{
		"detected v2":         {path: "kv/app/db", want: "v2-value"},
		"detected v1":         {path: "legacy/app/db", want: "v1-value"},
		"detected deep mount": {path: "secret/team/db", want: "deep-mount"},
		"configured v2":       {kvVersion: 2, path: "kv/app/db", want: "v2-value"},
		"configured v1":       {kvVersion: 1, path: "legacy/app/db", want: "v1-value"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := open(t, vault.Config{Address: srv.URL(), Token: token, KVVersion: tt.kvVersion})
			got, err := p.Get(ctx, tt.path, "password")
			if err != nil {
				t.Fatalf("Get(%q): %v", tt.path, err)
			}
			if got != tt.want {
				t.Errorf("Get(%q) got: %q want: %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestProvider_keySelection(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	value := newCanary(t)
	srv.Put("", "kv", "with-value", map[string]any{"value": value, "user": "u"})
	srv.Put("", "kv", "only", map[string]any{"token": value})
	srv.Put("", "kv", "many", map[string]any{"user": "u", "password": value})
	srv.Put("", "kv", "typed", map[string]any{"port": 5432, "tls": true, "hosts": []any{"a", "b"}})
	p := open(t, vault.Config{Address: srv.URL(), Token: srv.CreateToken(vaulttest.TokenOptions{})})
	tests := map[string]struct {
		path, key string
		want      string
		wantErr   error
		errText   string
	}{
		"value field":   {path: "kv/with-value", want: value},
		"only field":    {path: "kv/only", want: value},
		"named key":     {path: "kv/many", key: "password", want: value},
		"ambiguous":     {path: "kv/many", wantErr: secrets.ErrNotFound, errText: `no field "value" and 2 fields ("password", "user")`},
		"missing key":   {path: "kv/many", key: "nope", wantErr: secrets.ErrNotFound, errText: `no field "nope"`},
		"number":        {path: "kv/typed", key: "port", want: "5432"},
		"bool":          {path: "kv/typed", key: "tls", want: "true"},
		"list":          {path: "kv/typed", key: "hosts", want: `["a","b"]`},
		"mount only":    {path: "kv", wantErr: secrets.ErrInvalidPath},
		"dot dot":       {path: "kv/../sys/x", wantErr: secrets.ErrInvalidPath},
		"leading slash": {path: "/kv/x", wantErr: secrets.ErrInvalidPath},
		"empty":         {path: "", wantErr: secrets.ErrInvalidPath},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := p.Get(ctx, tt.path, tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error got: %q want it to contain %q", err, tt.errText)
				}
				assertNoCanary(t, "error", err.Error(), value)
				return
			}
			if got != tt.want {
				t.Errorf("got: %q want: %q", got, tt.want)
			}
		})
	}
}

func TestProvider_errorMapping(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.MountKV("", "legacy", 1)
	value := newCanary(t)
	srv.Put("", "kv", "allowed", map[string]any{"value": value})
	srv.Put("", "kv", "forbidden", map[string]any{"value": value})
	srv.Put("", "kv", "deleted", map[string]any{"value": value})
	srv.DeleteLatest("", "kv", "deleted")
	limited := srv.CreateToken(vaulttest.TokenOptions{Allow: []string{"kv/data/allowed", "kv/data/missing", "kv/data/deleted", "legacy/*"}})
	p := open(t, vault.Config{Address: srv.URL(), Token: limited})
	if got, err := p.Get(ctx, "kv/allowed", ""); err != nil || got != value {
		t.Fatalf("Get allowed got: %q, %v", got, err)
	}
	tests := map[string]struct {
		path    string
		wantErr error
		errText string
	}{
		"policy denies":   {path: "kv/forbidden", wantErr: secrets.ErrDenied, errText: "HTTP 403: permission denied; the token is valid but its policies do not allow this"},
		"missing v2":      {path: "kv/missing", wantErr: secrets.ErrNotFound, errText: `kv/missing (KV v2 mount "kv"): no secret there`},
		"missing v1":      {path: "legacy/missing", wantErr: secrets.ErrNotFound, errText: "no secret there"},
		"deleted version": {path: "kv/deleted", wantErr: secrets.ErrNotFound, errText: "latest version was deleted"},
		"unknown mount":   {path: "nomount/x", wantErr: secrets.ErrDenied, errText: "preflight capability check returned 403"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := p.Get(ctx, tt.path, "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error got: %q want it to contain %q", err, tt.errText)
			}
			assertNoCanary(t, "error", err.Error(), value, limited)
		})
	}
	_, err := p.Get(ctx, "kv/forbidden", "")
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 {
		t.Errorf("errors.As(*api.ResponseError) got: %v want: a 403 response error", err)
	}
}

func TestProvider_appRoleSecretIDFile(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	value, secretID := newCanary(t), newCanary(t)
	srv.Put("", "kv", "heartbeat", map[string]any{"api_key": value})
	srv.AddAppRole(vaulttest.AppRole{RoleName: "nexus", RoleID: "role-1", SecretID: secretID, Mount: "approle-nexus", Allow: []string{"kv/*"}})
	dir := t.TempDir()
	secretIDFile := filepath.Join(dir, "secret-id")
	if err := os.WriteFile(secretIDFile, []byte(secretID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logger, logs := capture()
	p := open(t, vault.Config{
		Address: srv.URL(),
		AppRole: vault.AppRole{RoleID: "role-1", SecretIDFile: secretIDFile, MountPath: "approle-nexus"},
		Logger:  logger,
	})
	got, err := p.Get(ctx, "kv/heartbeat", "api_key")
	if err != nil || got != value {
		t.Fatalf("Get got: %q, %v want: the value", got, err)
	}
	if n := srv.Stats().Logins; n != 1 {
		t.Errorf("logins got: %d want: 1", n)
	}

	// A wrong secret_id is a clear denial that quotes neither secret.
	wrong := newCanary(t)
	_, err = vault.New(ctx, vault.Config{Address: srv.URL(), AppRole: vault.AppRole{RoleID: "role-1", SecretID: wrong, MountPath: "approle-nexus"}})
	if !errors.Is(err, secrets.ErrDenied) || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Errorf("New with a wrong secret_id got: %v want: ErrDenied with Vault's text", err)
	}
	if err != nil {
		assertNoCanary(t, "error", err.Error(), wrong, secretID)
	}
	_, err = vault.New(ctx, vault.Config{Address: srv.URL(), AppRole: vault.AppRole{RoleID: "role-1", SecretIDFile: filepath.Join(dir, "missing")}})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("New with a missing secret_id_file got: %v want: an error naming the file", err)
	}
	assertNoCanary(t, "log", logs.String(), value, secretID)
}

func TestProvider_namespace(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("team-a", "kv", 2)
	srv.Put("team-a", "kv", "app", map[string]any{"value": "in-team-a"})
	srv.AddAppRole(vaulttest.AppRole{Namespace: "team-a", RoleID: "r", SecretID: "s"})
	p := open(t, vault.Config{Address: srv.URL(), Namespace: "team-a", AppRole: vault.AppRole{RoleID: "r", SecretID: "s"}})
	got, err := p.Get(ctx, "kv/app", "")
	if err != nil || got != "in-team-a" {
		t.Fatalf("Get got: %q, %v", got, err)
	}
	for _, r := range srv.Requests() {
		if r.Namespace != "team-a" {
			t.Errorf("request %s %s got namespace: %q want: %q", r.Method, r.Path, r.Namespace, "team-a")
		}
	}
	// The role does not exist in the root namespace.
	_, err = vault.New(ctx, vault.Config{Address: srv.URL(), AppRole: vault.AppRole{RoleID: "r", SecretID: "s"}})
	if !errors.Is(err, secrets.ErrDenied) {
		t.Errorf("New without the namespace got: %v want: ErrDenied", err)
	}
	// A token of team-a cannot be used in the root namespace.
	token := srv.CreateToken(vaulttest.TokenOptions{Namespace: "team-a"})
	if _, err := vault.New(ctx, vault.Config{Address: srv.URL(), Token: token}); !errors.Is(err, secrets.ErrDenied) {
		t.Errorf("New with a team-a token in the root namespace got: %v want: ErrDenied", err)
	}
}

func TestProvider_renewalKeepsTokenAlive(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.Put("", "kv", "app", map[string]any{"value": "v"})
	const ttl = 6 * time.Second
	token := srv.CreateToken(vaulttest.TokenOptions{TTL: ttl, Renewable: true})
	start := time.Now()
	p := open(t, vault.Config{Address: srv.URL(), Token: token})
	eventually(t, "a renewal and the first TTL to pass", func() bool {
		return srv.Stats().Renewals >= 1 && time.Since(start) > ttl+500*time.Millisecond
	})
	if got, err := p.Get(ctx, "kv/app", ""); err != nil || got != "v" {
		t.Fatalf("Get past the first TTL got: %q, %v want: the value (the token was renewed)", got, err)
	}
}

func TestProvider_appRoleLogsInAgainAtMaxTTL(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.Put("", "kv", "app", map[string]any{"value": "v"})
	srv.AddAppRole(vaulttest.AppRole{RoleID: "r", SecretID: "s", TokenTTL: 2 * time.Second, TokenMaxTTL: 4 * time.Second})
	p := open(t, vault.Config{Address: srv.URL(), AppRole: vault.AppRole{RoleID: "r", SecretID: "s"}})
	eventually(t, "a renewal and a second login", func() bool {
		s := srv.Stats()
		return s.Renewals >= 1 && s.Logins >= 2
	})
	if got, err := p.Get(ctx, "kv/app", ""); err != nil || got != "v" {
		t.Fatalf("Get after the re-login got: %q, %v", got, err)
	}
}

func TestProvider_revokedToken(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	value := newCanary(t)
	srv.Put("", "kv", "app", map[string]any{"value": value})

	t.Run("token", func(t *testing.T) {
		token := srv.CreateToken(vaulttest.TokenOptions{TTL: time.Hour, Renewable: true})
		p := open(t, vault.Config{Address: srv.URL(), Token: token})
		if _, err := p.Get(ctx, "kv/app", ""); err != nil {
			t.Fatal(err)
		}
		srv.Revoke(token)
		_, err := p.Get(ctx, "kv/app", "")
		if !errors.Is(err, secrets.ErrDenied) {
			t.Fatalf("Get with a revoked token got: %v want: ErrDenied", err)
		}
		if !strings.Contains(err.Error(), "the Vault token is no longer valid (expired or revoked)") {
			t.Errorf("error got: %q want it to say the token is no longer valid", err)
		}
		assertNoCanary(t, "error", err.Error(), value, token)
	})

	t.Run("approle logs in again", func(t *testing.T) {
		srv.AddAppRole(vaulttest.AppRole{RoleID: "r", SecretID: "s"})
		p := open(t, vault.Config{Address: srv.URL(), AppRole: vault.AppRole{RoleID: "r", SecretID: "s"}})
		before := srv.Stats().Logins
		srv.RevokeAll()
		got, err := p.Get(ctx, "kv/app", "")
		if err != nil || got != value {
			t.Fatalf("Get after revocation got: %v want: the value, after a new login", err)
		}
		if after := srv.Stats().Logins; after != before+1 {
			t.Errorf("logins got: %d want: %d", after, before+1)
		}
	})

	t.Run("token file is re-read", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		old := srv.CreateToken(vaulttest.TokenOptions{})
		if err := os.WriteFile(file, []byte(old+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := open(t, vault.Config{Address: srv.URL(), TokenFile: file})
		srv.Revoke(old)
		if _, err := p.Get(ctx, "kv/app", ""); !errors.Is(err, secrets.ErrDenied) {
			t.Fatalf("Get with the revoked token still in the file got: %v want: ErrDenied", err)
		}
		fresh := srv.CreateToken(vaulttest.TokenOptions{})
		if err := os.WriteFile(file, []byte(fresh), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := p.Get(ctx, "kv/app", ""); err != nil || got != value {
			t.Fatalf("Get after the token file was rotated got: %v", err)
		}
	})
}

func TestProvider_tls(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.NewTLS(t)
	srv.MountKV("", "kv", 2)
	srv.Put("", "kv", "app", map[string]any{"value": "over-tls"})
	token := srv.CreateToken(vaulttest.TokenOptions{})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	p := open(t, vault.Config{Address: srv.URL(), Token: token, TLS: vault.TLS{CACert: caFile}})
	if got, err := p.Get(ctx, "kv/app", ""); err != nil || got != "over-tls" {
		t.Fatalf("Get over TLS got: %q, %v", got, err)
	}
	_, err := vault.New(ctx, vault.Config{Address: srv.URL(), Token: token})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("New without the CA got: %v want: a certificate error", err)
	}
	_, err = vault.New(ctx, vault.Config{Address: srv.URL(), Token: token, TLS: vault.TLS{CACert: filepath.Join(t.TempDir(), "missing.pem")}})
	if err == nil {
		t.Error("New with a missing CA file got: nil error")
	}
	insecure := open(t, vault.Config{Address: srv.URL(), Token: token, TLS: vault.TLS{Insecure: true}})
	if _, err := insecure.Get(ctx, "kv/app", ""); err != nil {
		t.Errorf("Get with Insecure: %v", err)
	}
}

func TestProvider_writeAndList(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.MountKV("", "legacy", 1)
	token := srv.CreateToken(vaulttest.TokenOptions{})
	p := open(t, vault.Config{Address: srv.URL(), Token: token})
	for _, mount := range []string{"kv", "legacy"} {
		t.Run(mount, func(t *testing.T) {
			value := newCanary(t)
			db := mount + "/app/db"
			if err := p.Put(ctx, db, "user", "app"); err != nil {
				t.Fatalf("Put user: %v", err)
			}
			if err := p.Put(ctx, db, "password", value); err != nil {
				t.Fatalf("Put password: %v", err)
			}
			if err := p.Put(ctx, mount+"/app/token", "", "tok"); err != nil {
				t.Fatalf("Put without key: %v", err)
			}
			if err := p.Put(ctx, mount+"/other", "", "x"); err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]string{"user": "app", "password": value} {
				if got, err := p.Get(ctx, db, key); err != nil || got != want {
					t.Errorf("Get(%s, %s) got: %q, %v want: %q", db, key, got, err, want)
				}
			}
			if got, err := p.Get(ctx, mount+"/app/token", ""); err != nil || got != "tok" {
				t.Errorf("Get without key got: %q, %v", got, err)
			}
			listed, err := p.List(ctx, mount+"/app/")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if want := []string{db, mount + "/app/token"}; strings.Join(listed, ",") != strings.Join(want, ",") {
				t.Errorf("List got: %q want: %q", listed, want)
			}
			all, err := p.List(ctx, mount)
			if err != nil || len(all) != 3 {
				t.Errorf("List(%q) got: %q, %v want: 3 paths", mount, all, err)
			}
			if err := p.Delete(ctx, db, "user"); err != nil {
				t.Fatalf("Delete key: %v", err)
			}
			if _, err := p.Get(ctx, db, "user"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Get deleted key got: %v want: ErrNotFound", err)
			}
			if err := p.Delete(ctx, db, "user"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Delete missing key got: %v want: ErrNotFound", err)
			}
			if err := p.Delete(ctx, db, ""); err != nil {
				t.Fatalf("Delete secret: %v", err)
			}
			if _, err := p.Get(ctx, db, "password"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Get deleted secret got: %v want: ErrNotFound", err)
			}
			if err := p.Delete(ctx, db, ""); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Delete deleted secret got: %v want: ErrNotFound", err)
			}
			if err := p.Put(ctx, db, "password", "again"); err != nil {
				t.Fatalf("Put after delete: %v", err)
			}
			if got, _ := p.Get(ctx, db, "password"); got != "again" {
				t.Errorf("Get after re-Put got: %q want: %q", got, "again")
			}
		})
	}
	if _, err := p.List(ctx, ""); !errors.Is(err, secrets.ErrInvalidPath) {
		t.Errorf("List(\"\") got: %v want: ErrInvalidPath", err)
	}
}

func TestNew_configErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  vault.Config
		want string
	}{
		"no address":       {vault.Config{Token: "t"}, "address is required"},
		"bad address":      {vault.Config{Address: "vault:8200", Token: "t"}, "must be an http:// or https:// URL"},
		"no auth":          {vault.Config{Address: "http://127.0.0.1:1"}, "exactly one of token, token_file"},
		"two auths":        {vault.Config{Address: "http://127.0.0.1:1", Token: "t", AppRole: vault.AppRole{RoleID: "r", SecretID: "s"}}, "exactly one of token, token_file"},
		"approle no role":  {vault.Config{Address: "http://127.0.0.1:1", AppRole: vault.AppRole{SecretID: "s"}}, "role_id is required"},
		"approle 2 ids":    {vault.Config{Address: "http://127.0.0.1:1", AppRole: vault.AppRole{RoleID: "r", SecretID: "s", SecretIDFile: "f"}}, "exactly one of secret_id and secret_id_file"},
		"kv version":       {vault.Config{Address: "http://127.0.0.1:1", Token: "t", KVVersion: 3}, "kv_version 3"},
		"tls on http":      {vault.Config{Address: "http://127.0.0.1:1", Token: "t", TLS: vault.TLS{Insecure: true}}, "plain http"},
		"cert without key": {vault.Config{Address: "https://127.0.0.1:1", Token: "t", TLS: vault.TLS{ClientCert: "c"}}, "client_cert and client_key"},
		"negative timeout": {vault.Config{Address: "http://127.0.0.1:1", Token: "t", Timeout: -time.Second}, "must not be negative"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := vault.New(testContext(t), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNew_vaultDown(t *testing.T) {
	t.Parallel()
	token := newCanary(t)
	_, err := vault.New(testContext(t), vault.Config{Address: "http://127.0.0.1:1", Token: token, Timeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got: %v want: a connection refused error", err)
	}
	if err != nil {
		assertNoCanary(t, "error", err.Error(), token)
	}
}

func TestProvider_ignoresVaultEnvironment(t *testing.T) {
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.Put("", "kv", "app", map[string]any{"value": "v"})
	token := srv.CreateToken(vaulttest.TokenOptions{})
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_TOKEN", "hvs.wrong")
	t.Setenv("VAULT_NAMESPACE", "elsewhere")
	t.Setenv("VAULT_AGENT_ADDR", "http://127.0.0.1:1")
	p := open(t, vault.Config{Address: srv.URL(), Token: token})
	if got, err := p.Get(testContext(t), "kv/app", ""); err != nil || got != "v" {
		t.Fatalf("Get got: %q, %v", got, err)
	}
	for _, r := range srv.Requests() {
		if r.Namespace != "" {
			t.Errorf("request %s got namespace %q from VAULT_NAMESPACE", r.Path, r.Namespace)
		}
	}
}

func TestProvider_closeTwice(t *testing.T) {
	t.Parallel()
	srv := vaulttest.New(t)
	p, err := vault.New(testContext(t), vault.Config{Address: srv.URL(), Token: srv.CreateToken(vaulttest.TokenOptions{TTL: time.Hour, Renewable: true})})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
