package vault

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/vault/api"
)

// DefaultTimeout bounds each request to Vault when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config is a `secrets "vault" "<name>"` block, decoded by the daemon.
//
// Only these fields count: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE,
// VAULT_SKIP_VERIFY and the other VAULT_* variables of the daemon's
// environment are ignored, so that a stray variable cannot change where the
// daemon authenticates or whether it checks certificates. Pass them
// explicitly with env("VAULT_TOKEN") in the daemon config.
type Config struct {
	// Address is Vault's URL, like "https://vault.example.com:8200".
	Address string
	// Namespace is the Vault Enterprise namespace (X-Vault-Namespace); ""
	// is the root namespace.
	Namespace string

	// Exactly one way to authenticate: Token, TokenFile (re-read when the
	// token stops working, so that Vault Agent can rotate it) or AppRole.
	Token     string
	TokenFile string
	AppRole   AppRole

	// KVVersion is the KV secrets engine version: 1, 2, or 0 to detect it
	// per mount from sys/internal/ui/mounts (which also finds mounts whose
	// path has more than one segment).
	KVVersion int
	TLS       TLS
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger gets login, renewal and re-login records (never a token, a
	// secret ID or a value); nil discards them.
	Logger *slog.Logger
}

// AppRole is the `auth "approle"` block. It is used when RoleID is set.
type AppRole struct {
	RoleID string
	// Exactly one of SecretID and SecretIDFile; the file is read at every
	// login, so it may be rotated.
	SecretID     string
	SecretIDFile string
	// MountPath is the AppRole auth mount; "" means "approle".
	MountPath string
}

// TLS configures HTTPS to Vault. File fields are paths to PEM files.
type TLS struct {
	CACert     string
	ClientCert string
	ClientKey  string
	// ServerName overrides the name checked in Vault's certificate.
	ServerName string
	// Insecure skips certificate verification. Never in production.
	Insecure bool
}

// validate returns every problem with c at once.
func (c *Config) validate() error {
	var errs []error
	u, err := url.Parse(c.Address)
	switch {
	case c.Address == "":
		errs = append(errs, errors.New("address is required, like \"https://vault.example.com:8200\""))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("address %q must be an http:// or https:// URL with a host", c.Address))
	case u.Scheme == "http" && c.TLS != (TLS{}):
		errs = append(errs, fmt.Errorf("tls settings are given but address %q is plain http; use https://", c.Address))
	}
	methods := 0
	for _, set := range []bool{c.Token != "", c.TokenFile != "", c.AppRole != (AppRole{})} {
		if set {
			methods++
		}
	}
	if methods != 1 {
		errs = append(errs, errors.New(`set exactly one of token, token_file and an auth "approle" block`))
	}
	if c.AppRole != (AppRole{}) {
		if c.AppRole.RoleID == "" {
			errs = append(errs, errors.New(`auth "approle": role_id is required`))
		}
		if (c.AppRole.SecretID == "") == (c.AppRole.SecretIDFile == "") {
			errs = append(errs, errors.New(`auth "approle": set exactly one of secret_id and secret_id_file`))
		}
	}
	if c.KVVersion < 0 || c.KVVersion > 2 {
		errs = append(errs, fmt.Errorf("kv_version %d must be 1, 2, or 0 to detect it", c.KVVersion))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s must not be negative", c.Timeout))
	}
	if (c.TLS.ClientCert == "") != (c.TLS.ClientKey == "") {
		errs = append(errs, errors.New("tls: set both client_cert and client_key, or neither"))
	}
	return errors.Join(errs...)
}

// newClient builds a Vault API client from c alone, undoing what
// api.NewClient takes from the environment.
func (c *Config) newClient() (*api.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	conf := &api.Config{
		Address: c.Address,
		HttpClient: &http.Client{
			Transport: transport,
			// The API client follows Vault's standby redirects itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout:      timeout,
		MaxRetries:   2,
		MinRetryWait: 250 * time.Millisecond,
		MaxRetryWait: time.Second,
	}
	err := conf.ConfigureTLS(&api.TLSConfig{
		CACert:        c.TLS.CACert,
		ClientCert:    c.TLS.ClientCert,
		ClientKey:     c.TLS.ClientKey,
		TLSServerName: c.TLS.ServerName,
		Insecure:      c.TLS.Insecure,
	})
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	client, err := api.NewClient(conf)
	if err != nil {
		return nil, err
	}
	client.SetToken("")
	headers := http.Header{}
	headers.Set(api.RequestHeaderName, "true") // Vault's SSRF guard, as NewClient sets it
	client.SetHeaders(headers)
	if c.Namespace != "" {
		client.SetNamespace(c.Namespace)
	}
	return client, nil
}
