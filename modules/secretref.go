package modules

import (
	"fmt"
	"regexp"
	"strings"
)

// SecretRef names one secret: a provider (as configured in the daemon, such
// as "vault", "file", "env"), a path in it and an optional key within the
// secret at that path.
//
// A secret reference travels through config, plans and state as a
// placeholder string (see Placeholder), never as a value. Only the daemon's
// runtime replaces placeholders with values, in memory, when a module starts
// or reconfigures.
type SecretRef struct {
	Provider string `json:"provider"`
	Path     string `json:"path"`
	Key      string `json:"key,omitempty"`
}

// String renders the reference the way plans show it: "vault kv/app#api_key".
func (r SecretRef) String() string {
	if r.Key == "" {
		return r.Provider + " " + r.Path
	}
	return r.Provider + " " + r.Path + "#" + r.Key
}

const (
	placeholderOpen  = "⟦secret:"
	placeholderClose = "⟧"
)

// Placeholder returns the string that stands for the secret in config values:
// "⟦secret:vault:kv/app#api_key⟧". It may appear inside a larger string
// ("Bearer ⟦secret:…⟧") when the secret was interpolated.
func (r SecretRef) Placeholder() string {
	s := placeholderOpen + r.Provider + ":" + r.Path
	if r.Key != "" {
		s += "#" + r.Key
	}
	return s + placeholderClose
}

var (
	providerName   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	placeholderRef = regexp.MustCompile(`⟦secret:([a-z][a-z0-9_-]*):([^#⟦⟧]+?)(?:#([^⟦⟧]*))?⟧`)
)

// Validate checks that a reference can be written as a placeholder and read
// back: a provider name like "vault", a non-empty path without '#', '⟦', '⟧',
// control characters or ".." segments, and a key without '⟦' or '⟧'.
func (r SecretRef) Validate() error {
	if !providerName.MatchString(r.Provider) {
		return fmt.Errorf("secret provider %q must be a lower-case name like \"vault\"", r.Provider)
	}
	if strings.TrimSpace(r.Path) == "" {
		return fmt.Errorf("secret path must not be empty")
	}
	if strings.ContainsAny(r.Path, "#⟦⟧") || strings.ContainsAny(r.Key, "⟦⟧") {
		return fmt.Errorf("secret path %q must not contain '#', '⟦' or '⟧'", r.Path)
	}
	for _, c := range r.Path + r.Key {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("secret path %q must not contain control characters", r.Path)
		}
	}
	for _, seg := range strings.Split(r.Path, "/") {
		if seg == ".." {
			return fmt.Errorf("secret path %q must not contain \"..\"", r.Path)
		}
	}
	return nil
}

// FindSecretRefs returns the references whose placeholders occur in s, in
// order of appearance.
func FindSecretRefs(s string) []SecretRef {
	if !strings.Contains(s, placeholderOpen) {
		return nil
	}
	var refs []SecretRef
	for _, m := range placeholderRef.FindAllStringSubmatch(s, -1) {
		refs = append(refs, SecretRef{Provider: m[1], Path: m[2], Key: m[3]})
	}
	return refs
}

// ReplaceSecretRefs returns s with every placeholder replaced by what resolve
// returns for its reference. It stops at the first error.
func ReplaceSecretRefs(s string, resolve func(SecretRef) (string, error)) (string, error) {
	if !strings.Contains(s, placeholderOpen) {
		return s, nil
	}
	var firstErr error
	out := placeholderRef.ReplaceAllStringFunc(s, func(p string) string {
		if firstErr != nil {
			return p
		}
		m := placeholderRef.FindStringSubmatch(p)
		v, err := resolve(SecretRef{Provider: m[1], Path: m[2], Key: m[3]})
		if err != nil {
			firstErr = err
			return p
		}
		return v
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}
