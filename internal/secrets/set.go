package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/nexus-run/nexus/modules"
)

// providerName is the form of a `secrets "<type>" "<name>"` block's name, the
// same rule modules.SecretRef.Validate applies to references.
var providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Set maps provider names, as in the daemon config's `secrets "<type>"
// "<name>"` blocks, to providers. It is the runtime's SecretResolver.
//
// Add providers and set OnRead and Logger before the Set is shared; after
// that its methods are safe for concurrent use.
type Set struct {
	// OnRead, if set, is called after every Resolve with the reference and
	// its outcome (nil or the error), never the value. The daemon audits it.
	// It runs on the resolving goroutine and must not block for long.
	OnRead func(ctx context.Context, ref modules.SecretRef, err error)
	// Logger, if set, gets a debug record for every read and write: the
	// reference and the outcome, never the value.
	Logger *slog.Logger

	mu        sync.RWMutex
	providers map[string]Provider
	order     []string // names in the order added, for Close
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{providers: make(map[string]Provider)}
}

// Add registers p under name. It fails on a malformed or duplicate name and
// on a nil provider.
func (s *Set) Add(name string, p Provider) error {
	if !providerName.MatchString(name) {
		return fmt.Errorf("add secret provider %q: the name must be lower-case letters, digits, '_' or '-', starting with a letter", name)
	}
	if p == nil {
		return fmt.Errorf("add secret provider %q: nil provider", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.providers[name]; dup {
		return fmt.Errorf("add secret provider %q: a provider with this name is already configured", name)
	}
	s.providers[name] = p
	s.order = append(s.order, name)
	return nil
}

// Names returns the provider names, sorted: what config.Options.
// SecretProviders wants.
func (s *Set) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := append([]string(nil), s.order...)
	sort.Strings(names)
	return names
}

// Provider returns the provider registered under name.
func (s *Set) Provider(name string) (Provider, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.providers[name]
	return p, ok
}

// Resolve returns the value ref names. Errors name the reference
// ("secret vault kv/app#api_key: …") and wrap the provider's error; OnRead
// is told the outcome either way.
func (s *Set) Resolve(ctx context.Context, ref modules.SecretRef) (string, error) {
	value, err := s.get(ctx, ref)
	if err != nil {
		err = fmt.Errorf("secret %s: %w", ref, err)
	}
	s.log(ctx, "secret read", ref, err)
	if s.OnRead != nil {
		s.OnRead(ctx, ref, err)
	}
	if err != nil {
		return "", err
	}
	return value, nil
}

func (s *Set) get(ctx context.Context, ref modules.SecretRef) (string, error) {
	p, err := s.lookup(ref)
	if err != nil {
		return "", err
	}
	return p.Get(ctx, ref.Path, ref.Key)
}

// Check returns nil when ref names an existing secret (and field), for the
// planner's "does this secret exist" check. It uses the provider's Checker
// when it has one and otherwise reads the value and drops it. Check does not
// call OnRead.
func (s *Set) Check(ctx context.Context, ref modules.SecretRef) error {
	p, err := s.lookup(ref)
	if err == nil {
		if c, ok := p.(Checker); ok {
			err = c.Exists(ctx, ref.Path, ref.Key)
		} else {
			_, err = p.Get(ctx, ref.Path, ref.Key)
		}
	}
	if err != nil {
		err = fmt.Errorf("secret %s: %w", ref, err)
	}
	s.log(ctx, "secret checked", ref, err)
	return err
}

// Put stores value at ref (`nexus secrets put`). A provider that is not a
// Writer answers ErrUnsupported.
func (s *Set) Put(ctx context.Context, ref modules.SecretRef, value string) error {
	err := s.write(ref, func(w Writer) error { return w.Put(ctx, ref.Path, ref.Key, value) })
	s.log(ctx, "secret written", ref, err)
	return err
}

// Delete removes the secret at ref, or only its key when ref has one
// (`nexus secrets rm`). A provider that is not a Writer answers
// ErrUnsupported.
func (s *Set) Delete(ctx context.Context, ref modules.SecretRef) error {
	err := s.write(ref, func(w Writer) error { return w.Delete(ctx, ref.Path, ref.Key) })
	s.log(ctx, "secret deleted", ref, err)
	return err
}

func (s *Set) write(ref modules.SecretRef, do func(Writer) error) error {
	p, err := s.lookup(ref)
	if err != nil {
		return fmt.Errorf("secret %s: %w", ref, err)
	}
	w, ok := p.(Writer)
	if !ok {
		return fmt.Errorf("secret %s: provider %q is read-only: %w", ref, ref.Provider, ErrUnsupported)
	}
	if err := do(w); err != nil {
		return fmt.Errorf("secret %s: %w", ref, err)
	}
	return nil
}

// List returns the paths under prefix in the named provider, sorted
// (`nexus secrets ls`). A provider that is not a Lister answers
// ErrUnsupported.
func (s *Set) List(ctx context.Context, provider, prefix string) ([]string, error) {
	p, ok := s.Provider(provider)
	if !ok {
		return nil, s.unknown(provider)
	}
	l, ok := p.(Lister)
	if !ok {
		return nil, fmt.Errorf("list secrets of provider %q: it cannot list its secrets: %w", provider, ErrUnsupported)
	}
	paths, err := l.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list secrets of provider %q under %q: %w", provider, prefix, err)
	}
	sort.Strings(paths)
	return paths, nil
}

// Close closes every provider that has a Close method (the vault provider
// stops renewing its token), in the reverse order they were added, and
// returns their errors joined.
func (s *Set) Close() error {
	s.mu.RLock()
	order := append([]string(nil), s.order...)
	s.mu.RUnlock()
	var errs []error
	for i := len(order) - 1; i >= 0; i-- {
		p, _ := s.Provider(order[i])
		if c, ok := p.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close secret provider %q: %w", order[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Set) lookup(ref modules.SecretRef) (Provider, error) {
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidPath, err.Error())
	}
	p, ok := s.Provider(ref.Provider)
	if !ok {
		return nil, s.unknown(ref.Provider)
	}
	return p, nil
}

func (s *Set) unknown(name string) error {
	names := s.Names()
	configured := "none"
	if len(names) > 0 {
		configured = strings.Join(names, ", ")
	}
	return fmt.Errorf("%w %q: the daemon config has no `secrets \"<type>\" %q` block (configured: %s)", ErrUnknownProvider, name, name, configured)
}

func (s *Set) log(ctx context.Context, msg string, ref modules.SecretRef, err error) {
	if s.Logger == nil {
		return
	}
	attrs := []slog.Attr{slog.String("provider", ref.Provider), slog.String("path", ref.Path)}
	if ref.Key != "" {
		attrs = append(attrs, slog.String("key", ref.Key))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.Logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}
