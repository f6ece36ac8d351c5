package modules

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// Factory returns a new, zero module of one kind. The runtime calls it once
// per module instance, before Init.
type Factory func() Module

// ErrUnknownKind is returned (wrapped) by Registry.Lookup for a kind that was
// never registered.
var ErrUnknownKind = errors.New("unknown module kind")

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Registry maps kind names to their manifests and factories. It is a value
// built by main (no init-time globals) and is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]registered
}

type registered struct {
	manifest Manifest
	factory  Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{kinds: make(map[string]registered)}
}

// Register adds a kind. It fails on an invalid or duplicate kind name, a nil
// factory, or a schema attribute without a type.
func (r *Registry) Register(m Manifest, f Factory) error {
	if !kindName.MatchString(m.Kind) {
		return fmt.Errorf("register kind %q: name must match %s", m.Kind, kindName)
	}
	if f == nil {
		return fmt.Errorf("register kind %q: nil factory", m.Kind)
	}
	for name, a := range m.Config.Attributes {
		if a == nil || a.Type == cty.NilType {
			return fmt.Errorf("register kind %q: config attribute %q has no type", m.Kind, name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[m.Kind]; dup {
		return fmt.Errorf("register kind %q: already registered", m.Kind)
	}
	r.kinds[m.Kind] = registered{manifest: m, factory: f}
	return nil
}

// MustRegister is Register for main packages: it panics on error, which is a
// programming mistake, not a user's.
func (r *Registry) MustRegister(m Manifest, f Factory) {
	if err := r.Register(m, f); err != nil {
		panic(err)
	}
}

// Lookup returns the manifest and factory of a kind.
func (r *Registry) Lookup(kind string) (Manifest, Factory, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[kind]
	if !ok {
		return Manifest{}, nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	return k.manifest, k.factory, nil
}

// Manifest returns the manifest of a kind and whether it is registered.
func (r *Registry) Manifest(kind string) (Manifest, bool) {
	m, _, err := r.Lookup(kind)
	return m, err == nil
}

// Kinds returns the registered kind names, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.kinds))
	for name := range r.kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
