package secrets

import (
	"context"
	"errors"
)

// Provider is a secrets backend.
//
// Implementations must be safe for concurrent use, must honour ctx, and must
// never put a secret value in an error or a log record.
type Provider interface {
	// Get returns the value at path, or the field key of the secret at path
	// when key is not empty. A missing secret or field is ErrNotFound.
	Get(ctx context.Context, path, key string) (string, error)
}

// Writer is a Provider that can store and remove secrets.
type Writer interface {
	// Put stores value at path, or in the field key of the secret at path
	// (keeping its other fields) when key is not empty.
	Put(ctx context.Context, path, key, value string) error
	// Delete removes the secret at path, or only its field key when key is
	// not empty. A missing secret or field is ErrNotFound.
	Delete(ctx context.Context, path, key string) error
}

// Lister is a Provider that can enumerate its secrets.
type Lister interface {
	// List returns the paths of the secrets whose path starts with prefix,
	// sorted. Listing never reads a value.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Checker is a Provider with a cheaper existence check than a read. Without
// it, Set.Check reads the secret with Get and drops the value.
type Checker interface {
	// Exists returns nil when Get(ctx, path, key) would return a value, and
	// the error Get would return otherwise.
	Exists(ctx context.Context, path, key string) error
}

// Errors wrapped by providers and the Set. Callers test them with errors.Is.
var (
	// ErrNotFound: no secret at the path, or no such field in it.
	ErrNotFound = errors.New("secret not found")
	// ErrDenied: the provider refused access (a Vault policy, a revoked
	// token, a file whose mode lets others read it).
	ErrDenied = errors.New("access denied")
	// ErrInvalidPath: the path or key is malformed or leaves the provider's
	// namespace (an absolute path, "..", a symlink out of the directory).
	ErrInvalidPath = errors.New("invalid secret path")
	// ErrUnsupported: the provider cannot do what was asked (writing to a
	// read-only provider, reading a non-KV Vault mount).
	ErrUnsupported = errors.New("not supported by this secret provider")
	// ErrUnknownProvider: a reference names a provider the Set does not have.
	ErrUnknownProvider = errors.New("unknown secret provider")
)
