package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/nexus-run/nexus/internal/secrets"
)

// Re-login backoff after a failed attempt by the renewal loop.
const (
	minReloginBackoff = time.Second
	maxReloginBackoff = time.Minute
)

// errStaleTokenFile: the token file still holds the token that stopped
// working; Vault Agent (or whoever writes it) has not replaced it yet.
var errStaleTokenFile = errors.New("token_file still holds the token that stopped working")

func (p *Provider) canRelogin() bool {
	return p.cfg.AppRole.RoleID != "" || p.cfg.TokenFile != ""
}

// login authenticates with the configured method and makes the new token
// the client's. failed is a token known not to work any more ("" at
// start); a token file still holding it is errStaleTokenFile. The caller
// holds authMu.
func (p *Provider) login(ctx context.Context, failed string) (*api.Secret, error) {
	var (
		secret *api.Secret
		err    error
		method string
	)
	if p.cfg.AppRole.RoleID != "" {
		method = "approle"
		secret, err = p.loginAppRole(ctx)
	} else {
		method = "token"
		secret, err = p.lookupToken(ctx, failed)
	}
	if err != nil {
		return nil, err
	}
	p.client.SetToken(secret.Auth.ClientToken)
	p.log.Info("vault login", "method", method, "ttl", time.Duration(secret.Auth.LeaseDuration)*time.Second, "renewable", secret.Auth.Renewable)
	return secret, nil
}

func (p *Provider) loginAppRole(ctx context.Context) (*api.Secret, error) {
	mount := p.cfg.AppRole.MountPath
	if mount == "" {
		mount = "approle"
	}
	op := "log in with AppRole at auth/" + mount + "/login"
	auth, err := approle.NewAppRoleAuth(p.cfg.AppRole.RoleID,
		&approle.SecretID{FromString: p.cfg.AppRole.SecretID, FromFile: p.cfg.AppRole.SecretIDFile},
		approle.WithMountPath(mount))
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", op, err)
	}
	// The login client holds the new token only until login hands it over.
	defer p.authClient.SetToken("")
	secret, err := p.authClient.Auth().Login(ctx, auth)
	if err != nil {
		return nil, classify(op, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("vault: %s: the answer holds no token", op)
	}
	return secret, nil
}

// lookupToken checks the configured token (re-reading TokenFile) with
// lookup-self and describes it as a login would.
func (p *Provider) lookupToken(ctx context.Context, failed string) (*api.Secret, error) {
	token := p.cfg.Token
	if p.cfg.TokenFile != "" {
		var err error
		if token, err = readTokenFile(p.cfg.TokenFile); err != nil {
			return nil, err
		}
		if token == failed {
			return nil, errStaleTokenFile
		}
	}
	p.authClient.SetToken(token)
	defer p.authClient.SetToken("")
	info, err := p.authClient.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		err = classify("check the token with auth/token/lookup-self", err)
		if errors.Is(err, secrets.ErrDenied) {
			err = withHint(err, "the token is wrong, expired or revoked, or belongs to another namespace")
		}
		return nil, err
	}
	ttl, _ := info.TokenTTL()
	renewable, _ := info.TokenIsRenewable()
	return &api.Secret{Auth: &api.SecretAuth{ClientToken: token, Renewable: renewable, LeaseDuration: int(ttl / time.Second)}}, nil
}

// maxTokenFileSize bounds a token file; tokens are well under 1 KiB.
const maxTokenFileSize = 16 << 10

func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("vault: read token_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize))
	if err != nil {
		return "", fmt.Errorf("vault: read token_file %s: %w", path, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("vault: token_file %s is empty", path)
	}
	return token, nil
}

// relogin logs in again because token failed, unless another goroutine
// already replaced it, and hands the new login to the renewal loop.
func (p *Provider) relogin(ctx context.Context, failed string) error {
	p.authMu.Lock()
	defer p.authMu.Unlock()
	if p.client.Token() != failed {
		return nil
	}
	secret, err := p.login(ctx, failed)
	if err != nil {
		return err
	}
	select { // keep only the newest login
	case <-p.fresh:
	default:
	}
	p.fresh <- secret
	return nil
}

// tokenInvalid reports whether Vault refuses token itself (lookup-self
// answers 403), as opposed to refusing one request by policy.
func (p *Provider) tokenInvalid(ctx context.Context, token string) bool {
	p.authMu.Lock()
	defer p.authMu.Unlock()
	p.authClient.SetToken(token)
	defer p.authClient.SetToken("")
	var re *api.ResponseError
	_, err := p.authClient.Auth().Token().LookupSelfWithContext(ctx)
	return errors.As(err, &re) && re.StatusCode == 403
}

// maintain keeps a token alive until ctx ends: it renews each login's
// token for as long as Vault allows, then logs in again.
func (p *Provider) maintain(ctx context.Context, secret *api.Secret) {
	defer close(p.done)
	for secret != nil {
		secret = p.watch(ctx, secret)
	}
}

// watch renews secret's token until it can no longer be renewed, another
// goroutine logs in, or ctx ends, and returns the login to watch next (nil
// when ctx ended).
func (p *Provider) watch(ctx context.Context, secret *api.Secret) *api.Secret {
	if secret.Auth.LeaseDuration <= 0 {
		// A token without a TTL (a root token) never needs renewing.
		return p.waitFresh(ctx)
	}
	w, err := p.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		p.log.Error("vault token renewal cannot start", "error", err)
		return p.reloginLoop(ctx, secret.Auth.ClientToken)
	}
	go w.Start() // ends when stopped or done; every path below waits for DoneCh
	for {
		select {
		case <-ctx.Done():
			w.Stop()
			<-w.DoneCh()
			return nil
		case next := <-p.fresh:
			w.Stop()
			<-w.DoneCh()
			return next
		case r := <-w.RenewCh():
			if r.Secret != nil && r.Secret.Auth != nil {
				p.log.Debug("vault token renewed", "ttl", time.Duration(r.Secret.Auth.LeaseDuration)*time.Second)
			}
		case err := <-w.DoneCh():
			if err != nil {
				p.log.Warn("vault token renewal failed", "error", err)
			} else {
				p.log.Info("vault token reached the end of its renewable life")
			}
			return p.reloginLoop(ctx, secret.Auth.ClientToken)
		}
	}
}

// reloginLoop logs in again, with backoff, until it works or ctx ends. With
// a plain token it cannot, and waits for ctx.
func (p *Provider) reloginLoop(ctx context.Context, failed string) *api.Secret {
	if !p.canRelogin() {
		p.log.Warn("the vault token cannot be renewed any further; reads will fail once it expires: use AppRole, or a token_file that Vault Agent keeps fresh")
		return p.waitFresh(ctx)
	}
	backoff := minReloginBackoff
	for {
		err := p.relogin(ctx, failed)
		if err == nil {
			return p.waitFresh(ctx) // relogin, or whoever beat it, left the login there
		}
		p.log.Warn("vault login failed; retrying", "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case next := <-p.fresh:
			t.Stop()
			return next
		case <-t.C:
		}
		backoff = min(2*backoff, maxReloginBackoff)
	}
}

func (p *Provider) waitFresh(ctx context.Context) *api.Secret {
	select {
	case <-ctx.Done():
		return nil
	case next := <-p.fresh:
		return next
	}
}
