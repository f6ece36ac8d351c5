package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/vault/api"

	"github.com/nexus-run/nexus/internal/secrets"
)

// Provider reads secrets from Vault's KV secrets engine. It is safe for
// concurrent use. Close stops its token renewal.
type Provider struct {
	cfg    Config
	client *api.Client // reads and writes; its token is the current one
	log    *slog.Logger

	authMu     sync.Mutex       // serializes logins
	authClient *api.Client      // logins and token checks, under authMu
	fresh      chan *api.Secret // a login the renewal loop should switch to

	mountsMu sync.Mutex
	mounts   map[string]int // detected mount path ("kv/") → KV version

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New checks cfg, logs in to Vault (bounded by ctx) and starts renewing the
// token in a goroutine that lives until Close.
//
// With AppRole, or a TokenFile, the provider logs in again by itself when
// the token can no longer be renewed or stops working. A plain Token is
// renewed while Vault allows it; once it expires, reads fail with
// secrets.ErrDenied and say so.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("vault secret provider: %w", err)
	}
	client, err := cfg.newClient()
	if err != nil {
		return nil, fmt.Errorf("vault secret provider: %w", err)
	}
	authClient, err := cfg.newClient()
	if err != nil {
		return nil, fmt.Errorf("vault secret provider: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{
		cfg:        cfg,
		client:     client,
		authClient: authClient,
		log:        logger.With("provider", "vault", "address", cfg.Address),
		fresh:      make(chan *api.Secret, 1),
		mounts:     map[string]int{},
		done:       make(chan struct{}),
	}
	p.authMu.Lock()
	secret, err := p.login(ctx, "")
	p.authMu.Unlock()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.maintain(runCtx, secret)
	return p, nil
}

// Close stops the token renewal and waits for it to end (at most one
// request timeout). It does not revoke the token. It is safe to call more
// than once.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		<-p.done
	})
	return nil
}

// Get returns the field key of the secret at path ("kv/heartbeat": mount
// kv, secret heartbeat). Without a key it returns the field "value", or the
// only field when there is just one.
func (p *Provider) Get(ctx context.Context, path, key string) (string, error) {
	var fields map[string]any
	err := p.withAuth(ctx, func() error {
		loc, err := p.locate(ctx, path)
		if err != nil {
			return err
		}
		fields, err = p.read(ctx, loc)
		return err
	})
	if err != nil {
		return "", err
	}
	return pick(fields, path, key)
}

// withAuth runs op and, when Vault denies it because the token stopped
// working, logs in again (AppRole, token file) and runs op once more. A
// denial with a working token is the token's policy, and says so.
func (p *Provider) withAuth(ctx context.Context, op func() error) error {
	used := p.client.Token()
	err := op()
	if !errors.Is(err, secrets.ErrDenied) {
		return err
	}
	if p.client.Token() != used {
		return op() // another goroutine logged in meanwhile
	}
	if !p.tokenInvalid(ctx, used) {
		return withHint(err, "the token is valid but its policies do not allow this (Vault also answers 403 for a mount that does not exist)")
	}
	if !p.canRelogin() {
		return withHint(err, "the Vault token is no longer valid (expired or revoked); give the daemon a new token, or use AppRole or token_file so that it can log in again")
	}
	if rerr := p.relogin(ctx, used); rerr != nil {
		return withHint(err, fmt.Sprintf("the Vault token is no longer valid and logging in again failed: %v", rerr))
	}
	return op()
}

// pick selects the field key, or the default field when key is empty.
func pick(fields map[string]any, path, key string) (string, error) {
	if key == "" {
		if _, ok := fields["value"]; ok {
			key = "value"
		} else if len(fields) == 1 {
			for only := range fields {
				key = only
			}
		} else {
			return "", fmt.Errorf("%w: vault secret %s has no field \"value\" and %d fields (%s); name the one to use as the key, like secret(\"<provider>\", %q, \"<field>\")",
				secrets.ErrNotFound, path, len(fields), secrets.FieldNames(fields), path)
		}
	}
	v, err := secrets.Field(fields, key)
	if err != nil {
		return "", fmt.Errorf("vault secret %s: %w", path, err)
	}
	return v, nil
}

var (
	_ secrets.Provider = (*Provider)(nil)
	_ secrets.Writer   = (*Provider)(nil)
	_ secrets.Lister   = (*Provider)(nil)
)
