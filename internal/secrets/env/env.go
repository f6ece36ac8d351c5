package env

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/nexus-run/nexus/internal/secrets"
)

// Provider reads secrets from environment variables. It is read-only and
// safe for concurrent use when its lookup function is.
type Provider struct {
	prefix string
	lookup func(string) (string, bool)
}

// New returns a provider reading variables named prefix + the mapped path
// through lookup; a nil lookup reads the process environment
// (os.LookupEnv). Tests and the daemon's config reload pass their own.
func New(prefix string, lookup func(string) (string, bool)) *Provider {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Provider{prefix: prefix, lookup: lookup}
}

// Variable returns the name of the variable that holds path.
func (p *Provider) Variable(path string) string {
	var b strings.Builder
	b.Grow(len(p.prefix) + len(path))
	b.WriteString(p.prefix)
	for _, c := range path {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Get returns the variable's value, or the field key of the JSON object it
// holds.
func (p *Provider) Get(ctx context.Context, path, key string) (string, error) {
	raw, name, err := p.read(ctx, path)
	if err != nil {
		return "", err
	}
	if key == "" {
		return raw, nil
	}
	fields, err := secrets.ParseObject([]byte(raw))
	if err != nil {
		return "", fmt.Errorf("environment variable %s %s, so key %q cannot be selected from it", name, err.Error(), key)
	}
	v, err := secrets.Field(fields, key)
	if err != nil {
		return "", fmt.Errorf("environment variable %s: %w", name, err)
	}
	return v, nil
}

// Exists reports whether Get would succeed, without returning the value.
func (p *Provider) Exists(ctx context.Context, path, key string) error {
	_, err := p.Get(ctx, path, key)
	return err
}

func (p *Provider) read(ctx context.Context, path string) (value, name string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if path == "" {
		return "", "", fmt.Errorf("%w: the path is empty", secrets.ErrInvalidPath)
	}
	name = p.Variable(path)
	value, ok := p.lookup(name)
	if !ok {
		return "", name, fmt.Errorf("%w: environment variable %s is not set in the daemon's environment", secrets.ErrNotFound, name)
	}
	return value, name, nil
}

var (
	_ secrets.Provider = (*Provider)(nil)
	_ secrets.Checker  = (*Provider)(nil)
)
