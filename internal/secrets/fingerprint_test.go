package secrets_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/modules"
)

func TestFingerprinter_fingerprint(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	f := secrets.NewFingerprinter(key)
	ref := modules.SecretRef{Provider: "vault", Path: "kv/app", Key: "api_key"}
	secret := newCanary(t)
	got := f.Fingerprint(ref, secret)
	if !regexp.MustCompile(`^hmac-sha256:[0-9a-f]{64}$`).MatchString(got) {
		t.Fatalf("format got: %q want: hmac-sha256:<64 hex>", got)
	}
	if again := f.Fingerprint(ref, secret); again != got {
		t.Errorf("not deterministic: %q then %q", got, again)
	}
	key[0] = 8 // the Fingerprinter keeps its own copy
	if again := f.Fingerprint(ref, secret); again != got {
		t.Errorf("changing the caller's key slice changed the fingerprint")
	}
	differs := map[string]string{
		"rotated value":  f.Fingerprint(ref, secret+"x"),
		"other key":      secrets.NewFingerprinter(bytes.Repeat([]byte{9}, 32)).Fingerprint(ref, secret),
		"other ref":      f.Fingerprint(modules.SecretRef{Provider: "vault", Path: "kv/app", Key: "other"}, secret),
		"other provider": f.Fingerprint(modules.SecretRef{Provider: "file", Path: "kv/app", Key: "api_key"}, secret),
		// Field boundaries cannot shift: "kv/ap"+"papi_key" is another input.
		"shifted boundary": f.Fingerprint(modules.SecretRef{Provider: "vault", Path: "kv/ap", Key: "papi_key"}, secret),
	}
	for name, fp := range differs {
		if fp == got {
			t.Errorf("%s: fingerprint did not change", name)
		}
	}
}

func TestNewFingerprinter_shortKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewFingerprinter with an 8-byte key did not panic")
		}
	}()
	secrets.NewFingerprinter(make([]byte, 8))
}

func TestLoadFingerprintKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "fingerprint.key")
	key, err := secrets.LoadFingerprintKey(path)
	if err != nil {
		t.Fatalf("first load: %v", err)
	}
	if len(key) != 32 {
		t.Errorf("key length got: %d want: 32", len(key))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode got: %04o want: 0600", info.Mode().Perm())
	}
	dirInfo, _ := os.Stat(filepath.Dir(path))
	if dirInfo.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode got: %04o want: 0700", dirInfo.Mode().Perm())
	}
	again, err := secrets.LoadFingerprintKey(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("second load got: %x, %v want: the same key", again, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key dir entries got: %d want: 1 (no temporary files)", len(entries))
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadFingerprintKey(path); !errors.Is(err, secrets.ErrDenied) {
		t.Errorf("load of a 0644 key got: %v want: ErrDenied", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadFingerprintKey(short); err == nil {
		t.Error("load of a 4-byte key got: nil error")
	}
}
