package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nexus-run/nexus/modules"
)

// FingerprintPrefix starts every fingerprint.
const FingerprintPrefix = "hmac-sha256:"

// MinFingerprintKeySize is the shortest key NewFingerprinter accepts.
const MinFingerprintKeySize = 16

// fingerprintDomain separates these MACs from any other use of the key. It
// is part of the persisted format: changing it changes every fingerprint in
// every state, which the runtime would take for a rotation of every secret.
const fingerprintDomain = "nexus secret fingerprint v1"

// Fingerprinter computes keyed fingerprints of secret values, which the
// state keeps so that a rotated secret is noticed without its value, or an
// unkeyed hash an attacker could brute-force, being stored. It is safe for
// concurrent use.
type Fingerprinter struct {
	key []byte
}

// NewFingerprinter returns a Fingerprinter keyed with a copy of key. It
// panics on a key shorter than MinFingerprintKeySize bytes, a programming
// mistake: LoadFingerprintKey makes a proper one.
func NewFingerprinter(key []byte) *Fingerprinter {
	if len(key) < MinFingerprintKeySize {
		panic(fmt.Sprintf("secrets.NewFingerprinter: key of %d bytes, want at least %d", len(key), MinFingerprintKeySize))
	}
	return &Fingerprinter{key: append([]byte(nil), key...)}
}

// Fingerprint returns "hmac-sha256:<hex>" over ref and value. The reference
// takes part so that two secrets holding the same value do not show it by
// having the same fingerprint. Each field is length-prefixed, so no two
// different (ref, value) pairs share an input.
func (f *Fingerprinter) Fingerprint(ref modules.SecretRef, value string) string {
	m := hmac.New(sha256.New, f.key)
	for _, field := range []string{fingerprintDomain, ref.Provider, ref.Path, ref.Key, value} {
		writeField(m, field)
	}
	return FingerprintPrefix + hex.EncodeToString(m.Sum(nil))
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// fingerprintKeySize is the size of the keys LoadFingerprintKey creates.
const fingerprintKeySize = 32

// LoadFingerprintKey returns the key stored in the file at path, creating
// the file (mode 0600, parent directories 0700) with a fresh random 32-byte
// key when it does not exist. A key file that is too short, or that group
// or others can access, is refused: losing or leaking it is what the keyed
// fingerprints exist to survive.
func LoadFingerprintKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, fingerprintKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create fingerprint key: %w", err)
	}
	if err := writeKeyFile(path, key); err != nil {
		return nil, err
	}
	// Another daemon may have won the race to create it; use what is there.
	return readKeyFile(path)
}

func readKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read fingerprint key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("read fingerprint key %s: %w: mode %04o lets group or others access it; run `chmod 600 %s`", path, ErrDenied, perm, path)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fingerprint key: %w", err)
	}
	if len(key) < MinFingerprintKeySize {
		return nil, fmt.Errorf("read fingerprint key %s: %d bytes, want at least %d; remove the file to have a new key made (every module with secrets then restarts once)", path, len(key), MinFingerprintKeySize)
	}
	return key, nil
}

// writeKeyFile creates path with key, never replacing an existing file.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fingerprint-key-*")
	if err != nil {
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	// A hard link fails if path exists, unlike a rename: the first key wins.
	err = os.Link(tmp.Name(), path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// A file system without hard links: create the file exclusively.
		err = createExclusive(path, key)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create fingerprint key: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func createExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
