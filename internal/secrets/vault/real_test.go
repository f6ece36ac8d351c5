package vault_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/secrets/vault"
)

// TestVault_real runs the provider against a real Vault, such as
// `vault server -dev`, when VAULT_ADDR and VAULT_TOKEN are set. It writes a
// randomly named secret under NEXUS_VAULT_TEST_MOUNT (default "secret") and
// deletes it again.
func TestVault_real(t *testing.T) {
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("set VAULT_ADDR and VAULT_TOKEN (for example of `vault server -dev`) to test against a real Vault; NEXUS_VAULT_TEST_MOUNT names its KV mount (default \"secret\")")
	}
	mount := os.Getenv("NEXUS_VAULT_TEST_MOUNT")
	if mount == "" {
		mount = "secret"
	}
	ctx := testContext(t)
	logger, logs := capture()
	p := open(t, vault.Config{
		Address:   addr,
		Token:     token,
		Namespace: os.Getenv("VAULT_NAMESPACE"),
		TLS:       vault.TLS{CACert: os.Getenv("VAULT_CACERT")},
		Logger:    logger,
	})
	value := newCanary(t)
	path := mount + "/nexus-test-" + newCanary(t)[7:19]
	if err := p.Put(ctx, path, "api_key", value); err != nil {
		t.Fatalf("Put: %v", err)
	}
	t.Cleanup(func() { _ = p.Delete(ctx, path, "") })
	if got, err := p.Get(ctx, path, "api_key"); err != nil || got != value {
		t.Fatalf("Get got: %v want: the value written", err)
	}
	if got, err := p.Get(ctx, path, ""); err != nil || got != value {
		t.Errorf("Get of the only field got: %v", err)
	}
	if _, err := p.Get(ctx, path, "nope"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Get of a missing field got: %v want: ErrNotFound", err)
	}
	listed, err := p.List(ctx, path)
	if err != nil || !slices.Contains(listed, path) {
		t.Errorf("List got: %q, %v want it to contain %q", listed, err, path)
	}
	if err := p.Delete(ctx, path, ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = p.Get(ctx, path, "api_key")
	if !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Get after Delete got: %v want: ErrNotFound", err)
	}
	if err != nil {
		assertNoCanary(t, "error", err.Error(), value, token)
	}
	assertNoCanary(t, "log", logs.String(), value, token)
}
