package state

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/modules"
)

// FormatVersion is the version of the state document format this build
// reads and writes. A document of another version is refused.
const FormatVersion = 1

// State is one project's state document.
type State struct {
	Version int    `json:"version"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	Project string `json:"project"`
	// Modules is keyed by module address.
	Modules map[string]*Module `json:"modules"`
}

// Module is what the state records of one module instance.
type Module struct {
	// Spec is the desired description the module was last applied with. The
	// config holds secret placeholders, never values. In a redacted document
	// (see Redacted) the config of a sensitive module is empty.
	Spec modules.Spec `json:"spec"`
	// ConfigDigest is the digest of the non-secret config plus the secret
	// references (see Digest); AttrDigests has one per config attribute, so
	// a plan can tell which fields changed when the config is redacted.
	ConfigDigest string            `json:"config_digest"`
	AttrDigests  map[string]string `json:"attr_digests,omitempty"`
	// SecretFingerprints maps SecretRef.String() to "hmac-sha256:<hex>",
	// keyed with a key only the daemon holds.
	SecretFingerprints map[string]string `json:"secret_fingerprints,omitempty"`
	State              modules.State     `json:"state"`
	StartedAt          *time.Time        `json:"started_at,omitempty"`
	StoppedAt          *time.Time        `json:"stopped_at,omitempty"`
	// UptimeSeconds is the time spent started, over the module's life.
	UptimeSeconds float64       `json:"uptime_seconds"`
	Restarts      int           `json:"restarts"`
	LastError     string        `json:"last_error,omitempty"`
	Usage         modules.Usage `json:"usage"`
	// Blob is the small state a module saved on stop and gets back on load.
	Blob      []byte    `json:"blob,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// New returns an empty state document with a fresh lineage and serial 0.
func New(project string) *State {
	return &State{Version: FormatVersion, Lineage: uuid.NewString(), Project: project, Modules: map[string]*Module{}}
}

// Addresses returns the module addresses, sorted.
func (s *State) Addresses() []string {
	addrs := make([]string, 0, len(s.Modules))
	for a := range s.Modules {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	return addrs
}

// Clone returns a deep copy. Config values are immutable cty values and are
// shared; everything else is copied.
func (s *State) Clone() *State {
	c := *s
	c.Modules = make(map[string]*Module, len(s.Modules))
	for a, m := range s.Modules {
		c.Modules[a] = m.Clone()
	}
	return &c
}

// Clone returns a deep copy of one module record (its config value, being
// immutable, is shared).
func (m *Module) Clone() *Module {
	c := *m
	c.Spec = cloneSpec(m.Spec)
	c.AttrDigests = maps.Clone(m.AttrDigests)
	c.SecretFingerprints = maps.Clone(m.SecretFingerprints)
	c.Blob = slices.Clone(m.Blob)
	if m.StartedAt != nil {
		t := *m.StartedAt
		c.StartedAt = &t
	}
	if m.StoppedAt != nil {
		t := *m.StoppedAt
		c.StoppedAt = &t
	}
	return &c
}

// Redacted returns a copy fit to leave the daemon: the config of every
// sensitive module is emptied (its digests stay, so plans still see changes),
// and blobs are dropped.
func (s *State) Redacted() *State {
	c := s.Clone()
	for _, m := range c.Modules {
		if m.Spec.Sensitive {
			m.Spec.Config = modules.NewConfig(nilObject)
		}
		m.Blob = nil
	}
	return c
}

// Validate checks a decoded document: known format version, a lineage, and
// module records whose keys match their addresses and whose states are valid.
func (s *State) Validate() error {
	if s.Version != FormatVersion {
		return fmt.Errorf("%w: format version %d, this nexus reads version %d", ErrUnsupportedVersion, s.Version, FormatVersion)
	}
	if s.Lineage == "" {
		return fmt.Errorf("%w: no lineage", ErrCorrupt)
	}
	for addr, m := range s.Modules {
		if m == nil {
			return fmt.Errorf("%w: module %q is null", ErrCorrupt, addr)
		}
		if m.Spec.Address != addr {
			return fmt.Errorf("%w: module key %q holds address %q", ErrCorrupt, addr, m.Spec.Address)
		}
		if !m.State.Valid() {
			return fmt.Errorf("%w: module %q has unknown state %q", ErrCorrupt, addr, m.State)
		}
	}
	return nil
}

// Apply performs a Change on the document in memory (the serial is the
// caller's to bump).
func (s *State) Apply(c Change) {
	if s.Modules == nil {
		s.Modules = map[string]*Module{}
	}
	for _, m := range c.Set {
		s.Modules[m.Spec.Address] = m
	}
	for _, a := range c.Delete {
		delete(s.Modules, a)
	}
}

func cloneSpec(s modules.Spec) modules.Spec {
	s.Secrets = slices.Clone(s.Secrets)
	s.DependsOn = slices.Clone(s.DependsOn)
	s.After = slices.Clone(s.After)
	s.Permissions = slices.Clone(s.Permissions)
	s.SensitivePaths = slices.Clone(s.SensitivePaths)
	if s.Health != nil {
		h := *s.Health
		h.Exec = slices.Clone(h.Exec)
		s.Health = &h
	}
	return s
}
