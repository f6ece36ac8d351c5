package daemoncfg

import (
	"path/filepath"
	"time"
)

// Config is a loaded daemon configuration.
type Config struct {
	DataDir string
	Node    string
	// SecretCheckInterval is how often rotated secrets are looked for.
	SecretCheckInterval time.Duration
	Listeners           []Listener
	State               State
	Secrets             []Secrets
	Roles               []Role
	Principals          []Principal
	Audit               Audit
	// Path is the file the config came from ("" for the defaults).
	Path string
}

// Listener is a `listener "unix"` or `listener "tcp"` block.
type Listener struct {
	Type string // "unix" or "tcp"
	// Path and Mode are the unix socket's.
	Path string
	Mode uint32
	// Address and TLS are the TCP listener's; no TLS means plain HTTP,
	// which the daemon only accepts on a loopback address.
	Address string
	TLS     *TLS
}

// TLS is a TCP listener's certificate; ClientCAFile turns on mutual TLS.
type TLS struct {
	CertFile, KeyFile, ClientCAFile string
}

// State is the `state "<type>"` block.
type State struct {
	Type string // file | postgres | redis
	// Path is the file store's directory.
	Path string
	// DSN is PostgreSQL's connection string; Schema, when set, holds the
	// store's tables (created when missing).
	DSN    string
	Schema string
	// Address, Password, DB and KeyPrefix are Redis's.
	Address   string
	Password  string
	DB        int
	KeyPrefix string
	LockTTL   time.Duration
}

// Secrets is a `secrets "<type>" "<name>"` block.
type Secrets struct {
	Type string // file | env | vault
	Name string
	// Dir is the file provider's directory; Prefix the env provider's.
	Dir    string
	Prefix string
	Vault  *Vault
}

// Vault is a vault secrets block.
type Vault struct {
	Address                           string
	Namespace                         string
	Token                             string
	TokenFile                         string
	AppRole                           *AppRole
	KVVersion                         int
	CACert                            string
	ClientCert, ClientKey, ServerName string
	Insecure                          bool
	Timeout                           time.Duration
}

// AppRole is a vault block's `auth "approle"`.
type AppRole struct {
	RoleID, SecretID, SecretIDFile, MountPath string
}

// Role is a `role` block.
type Role struct {
	Name        string
	Permissions []string
}

// Principal is a `principal` block: a unix:<uid>, a token holder, or a
// client certificate subject.
type Principal struct {
	Name        string
	TokenSHA256 string
	Roles       []string
	// Expires, when set, is the end of the principal's validity: from then
	// on the daemon refuses its credentials (token, certificate or uid) as
	// it refuses unknown ones. The daemon's own uid never expires.
	Expires time.Time
}

// Audit is the `audit` block.
type Audit struct {
	Path string
}

// Defaults of the embedded configuration.
const (
	DefaultDataDir     = ".nexus"
	DefaultTCPAddress  = "127.0.0.1:7420"
	DefaultSocketName  = "nexus.sock"
	DefaultSecretCheck = time.Minute
	DefaultEnvPrefix   = "NEXUS_SECRET_"
)

// Default returns the embedded configuration: data dir ./.nexus, the API on
// ./.nexus/nexus.sock (0600) and HTTP on 127.0.0.1:7420, the file state
// store, the file secret provider "file" at ./.nexus/secrets, the env
// provider "env", and the audit log ./.nexus/audit.log.
func Default() *Config {
	c := &Config{DataDir: DefaultDataDir}
	c.fillDefaults()
	return c
}

// fillDefaults completes a config with what its file left out.
func (c *Config) fillDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.SecretCheckInterval == 0 {
		c.SecretCheckInterval = DefaultSecretCheck
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []Listener{
			{Type: "unix", Path: filepath.Join(c.DataDir, DefaultSocketName), Mode: 0o600},
			{Type: "tcp", Address: DefaultTCPAddress},
		}
	}
	for i := range c.Listeners {
		if c.Listeners[i].Type == "unix" && c.Listeners[i].Mode == 0 {
			c.Listeners[i].Mode = 0o600
		}
	}
	if c.State.Type == "" {
		c.State.Type = "file"
	}
	if c.State.Type == "file" && c.State.Path == "" {
		c.State.Path = filepath.Join(c.DataDir, "state")
	}
	has := map[string]bool{}
	for _, s := range c.Secrets {
		has[s.Name] = true
	}
	if !has["file"] {
		c.Secrets = append(c.Secrets, Secrets{Type: "file", Name: "file", Dir: filepath.Join(c.DataDir, "secrets")})
	}
	if !has["env"] {
		c.Secrets = append(c.Secrets, Secrets{Type: "env", Name: "env", Prefix: DefaultEnvPrefix})
	}
	if c.Audit.Path == "" {
		c.Audit.Path = filepath.Join(c.DataDir, "audit.log")
	}
}

// SecretProviders returns the configured provider names.
func (c *Config) SecretProviders() []string {
	names := make([]string, len(c.Secrets))
	for i, s := range c.Secrets {
		names[i] = s.Name
	}
	return names
}

// SocketPath returns the first unix listener's path, or "".
func (c *Config) SocketPath() string {
	for _, l := range c.Listeners {
		if l.Type == "unix" {
			return l.Path
		}
	}
	return ""
}
