package daemoncfg

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// build checks the decoded blocks and turns them into a Config. Block
// ranges come from a second, shallow pass over the body.
func build(raw *rawFile, body hcl.Body) (*Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ranges := blockRanges(body)
	c := &Config{}
	if d := raw.Daemon; d != nil {
		c.DataDir, c.Node = str(d.DataDir), str(d.Node)
		c.SecretCheckInterval = duration(d.SecretCheckInterval, "secret_check_interval", ranges.first("daemon"), &diags)
	}
	for i, l := range raw.Listeners {
		r := ranges.nth("listener", i)
		switch l.Type {
		case "unix":
			if l.Path == nil {
				diags = append(diags, errorAt(r, "Missing socket path", `A listener "unix" block needs path = "/run/nexus/nexus.sock".`))
			}
			var mode uint32
			if l.Mode != nil {
				m, err := parseMode(*l.Mode)
				if err != nil {
					diags = append(diags, errorAt(r, "Invalid socket mode", err.Error()+"."))
				}
				mode = m
			}
			c.Listeners = append(c.Listeners, Listener{Type: "unix", Path: str(l.Path), Mode: mode})
		case "tcp":
			if l.Address == nil {
				diags = append(diags, errorAt(r, "Missing listen address", `A listener "tcp" block needs address = "host:port".`))
			}
			ln := Listener{Type: "tcp", Address: str(l.Address)}
			if l.TLS != nil {
				ln.TLS = &TLS{CertFile: l.TLS.CertFile, KeyFile: l.TLS.KeyFile, ClientCAFile: str(l.TLS.ClientCAFile)}
			}
			c.Listeners = append(c.Listeners, ln)
		default:
			diags = append(diags, errorAt(r, "Unknown listener type", fmt.Sprintf("Listener type %q is not one of \"unix\" and \"tcp\".", l.Type)))
		}
	}
	if len(raw.State) > 1 {
		diags = append(diags, errorAt(ranges.nth("state", 1), "Duplicate state block", "A daemon has one state store; remove all but one state block."))
	}
	for _, s := range raw.State[:min(1, len(raw.State))] {
		diags = append(diags, buildState(c, s, ranges.first("state"))...)
	}
	seen := map[string]bool{}
	for i, s := range raw.Secrets {
		r := ranges.nth("secrets", i)
		if seen[s.Name] {
			diags = append(diags, errorAt(r, "Duplicate secret provider", fmt.Sprintf("A secret provider named %q is already configured.", s.Name)))
		}
		seen[s.Name] = true
		sec, more := buildSecrets(s, r)
		diags = append(diags, more...)
		c.Secrets = append(c.Secrets, sec)
	}
	for _, r := range raw.Roles {
		c.Roles = append(c.Roles, Role{Name: r.Name, Permissions: r.Permissions})
	}
	for i, p := range raw.Principals {
		tok := str(p.TokenSHA256)
		if tok != "" && !hexSHA256.MatchString(tok) {
			diags = append(diags, errorAt(ranges.nth("principal", i), "Invalid token hash",
				"token_sha256 must be 64 lower-case hex digits; make one with: printf %s \"$TOKEN\" | nexus token hash"))
		}
		var expires time.Time
		if p.Expires != nil {
			t, err := time.Parse(time.RFC3339, *p.Expires)
			if err != nil {
				diags = append(diags, errorAt(ranges.nth("principal", i), "Invalid expiry time",
					fmt.Sprintf("expires %q must be an RFC 3339 time, like \"2026-12-31T00:00:00Z\".", *p.Expires)))
			}
			expires = t
		}
		c.Principals = append(c.Principals, Principal{Name: p.Name, TokenSHA256: tok, Roles: p.Roles, Expires: expires})
	}
	if raw.Audit != nil {
		c.Audit.Path = raw.Audit.Path
	}
	return c, diags
}

func buildState(c *Config, s rawState, r hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	c.State = State{Type: s.Type, Path: str(s.Path), DSN: str(s.DSN), Address: str(s.Address),
		Password: str(s.Password), KeyPrefix: str(s.KeyPrefix), Schema: str(s.Schema)}
	if s.DB != nil {
		c.State.DB = *s.DB
	}
	c.State.LockTTL = duration(s.LockTTL, "lock_ttl", r, &diags)
	switch s.Type {
	case "file":
	case "postgres":
		if c.State.DSN == "" {
			diags = append(diags, errorAt(r, "Missing PostgreSQL DSN", `A state "postgres" block needs dsn = env("NEXUS_STATE_DSN").`))
		}
	case "redis":
		if c.State.Address == "" {
			diags = append(diags, errorAt(r, "Missing Redis address", `A state "redis" block needs address = "host:6379".`))
		}
	default:
		diags = append(diags, errorAt(r, "Unknown state store", fmt.Sprintf("State store %q is not one of \"file\", \"postgres\" and \"redis\".", s.Type)))
	}
	return diags
}

func buildSecrets(s rawSecrets, r hcl.Range) (Secrets, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := Secrets{Type: s.Type, Name: s.Name, Dir: str(s.Dir), Prefix: str(s.Prefix)}
	switch s.Type {
	case "file":
		if out.Dir == "" {
			diags = append(diags, errorAt(r, "Missing secrets directory", `A secrets "file" block needs dir = "/etc/nexus/secrets".`))
		}
	case "env":
		if s.Prefix == nil {
			out.Prefix = DefaultEnvPrefix
		}
	case "vault":
		v := &Vault{Address: str(s.Address), Namespace: str(s.Namespace), Token: str(s.Token), TokenFile: str(s.TokenFile),
			CACert: str(s.CACert), ClientCert: str(s.ClientCert), ClientKey: str(s.ClientKey), ServerName: str(s.ServerName)}
		if s.KVVersion != nil {
			v.KVVersion = *s.KVVersion
		}
		if s.Insecure != nil {
			v.Insecure = *s.Insecure
		}
		v.Timeout = duration(s.Timeout, "timeout", r, &diags)
		for _, a := range s.Auth {
			if a.Method != "approle" {
				diags = append(diags, errorAt(r, "Unsupported Vault auth method", fmt.Sprintf("auth %q: nexus supports \"approle\" and token auth.", a.Method)))
				continue
			}
			v.AppRole = &AppRole{RoleID: a.RoleID, SecretID: str(a.SecretID), SecretIDFile: str(a.SecretIDFile), MountPath: str(a.MountPath)}
		}
		if v.Address == "" {
			diags = append(diags, errorAt(r, "Missing Vault address", `A secrets "vault" block needs address = "https://vault.example.com:8200".`))
		}
		if v.AppRole == nil && v.Token == "" && v.TokenFile == "" {
			diags = append(diags, errorAt(r, "Missing Vault credentials", `Set token = env("VAULT_TOKEN"), token_file, or an auth "approle" block.`))
		}
		out.Vault = v
	default:
		diags = append(diags, errorAt(r, "Unknown secret provider type", fmt.Sprintf("Secret provider type %q is not one of \"file\", \"env\" and \"vault\".", s.Type)))
	}
	return out, diags
}

// ranges indexes block header ranges by type, in file order.
type ranges map[string][]hcl.Range

func blockRanges(body hcl.Body) ranges {
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "daemon"}, {Type: "listener", LabelNames: []string{"type"}}, {Type: "state", LabelNames: []string{"type"}},
		{Type: "secrets", LabelNames: []string{"type", "name"}}, {Type: "role", LabelNames: []string{"name"}},
		{Type: "principal", LabelNames: []string{"name"}}, {Type: "audit"},
	}}
	content, _, _ := body.PartialContent(schema)
	out := ranges{}
	for _, b := range content.Blocks {
		out[b.Type] = append(out[b.Type], hcl.RangeBetween(b.DefRange, b.DefRange))
	}
	return out
}

func (r ranges) nth(typ string, i int) hcl.Range {
	if i < len(r[typ]) {
		return r[typ][i]
	}
	return hcl.Range{}
}

func (r ranges) first(typ string) hcl.Range { return r.nth(typ, 0) }
