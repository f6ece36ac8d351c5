package daemoncfg

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The file's raw shape, decoded with gohcl.
type rawFile struct {
	Daemon     *rawDaemon     `hcl:"daemon,block"`
	Listeners  []rawListener  `hcl:"listener,block"`
	State      []rawState     `hcl:"state,block"`
	Secrets    []rawSecrets   `hcl:"secrets,block"`
	Roles      []rawRole      `hcl:"role,block"`
	Principals []rawPrincipal `hcl:"principal,block"`
	Audit      *rawAudit      `hcl:"audit,block"`
}

type rawDaemon struct {
	DataDir             *string `hcl:"data_dir,optional"`
	Node                *string `hcl:"node,optional"`
	SecretCheckInterval *string `hcl:"secret_check_interval,optional"`
}

type rawListener struct {
	Type    string  `hcl:"type,label"`
	Path    *string `hcl:"path,optional"`
	Mode    *string `hcl:"mode,optional"`
	Address *string `hcl:"address,optional"`
	TLS     *rawTLS `hcl:"tls,block"`
}

type rawTLS struct {
	CertFile     string  `hcl:"cert_file"`
	KeyFile      string  `hcl:"key_file"`
	ClientCAFile *string `hcl:"client_ca_file,optional"`
}

type rawState struct {
	Type      string  `hcl:"type,label"`
	Path      *string `hcl:"path,optional"`
	DSN       *string `hcl:"dsn,optional"`
	Address   *string `hcl:"address,optional"`
	Password  *string `hcl:"password,optional"`
	DB        *int    `hcl:"db,optional"`
	KeyPrefix *string `hcl:"key_prefix,optional"`
	Schema    *string `hcl:"schema,optional"`
	LockTTL   *string `hcl:"lock_ttl,optional"`
}

type rawSecrets struct {
	Type       string       `hcl:"type,label"`
	Name       string       `hcl:"name,label"`
	Dir        *string      `hcl:"dir,optional"`
	Prefix     *string      `hcl:"prefix,optional"`
	Address    *string      `hcl:"address,optional"`
	Namespace  *string      `hcl:"namespace,optional"`
	Token      *string      `hcl:"token,optional"`
	TokenFile  *string      `hcl:"token_file,optional"`
	KVVersion  *int         `hcl:"kv_version,optional"`
	CACert     *string      `hcl:"ca_cert,optional"`
	ClientCert *string      `hcl:"client_cert,optional"`
	ClientKey  *string      `hcl:"client_key,optional"`
	ServerName *string      `hcl:"tls_server_name,optional"`
	Insecure   *bool        `hcl:"tls_skip_verify,optional"`
	Timeout    *string      `hcl:"timeout,optional"`
	Auth       []rawAppRole `hcl:"auth,block"`
}

type rawAppRole struct {
	Method       string  `hcl:"method,label"`
	RoleID       string  `hcl:"role_id"`
	SecretID     *string `hcl:"secret_id,optional"`
	SecretIDFile *string `hcl:"secret_id_file,optional"`
	MountPath    *string `hcl:"mount_path,optional"`
}

type rawRole struct {
	Name        string   `hcl:"name,label"`
	Permissions []string `hcl:"permissions"`
}

type rawPrincipal struct {
	Name        string   `hcl:"name,label"`
	TokenSHA256 *string  `hcl:"token_sha256,optional"`
	Roles       []string `hcl:"roles"`
	Expires     *string  `hcl:"expires,optional"`
}

type rawAudit struct {
	Path string `hcl:"path"`
}

// LoadFile reads a daemon config file. env serves env(); nil means the
// process environment. Relative paths in the file are relative to the
// directory the daemon runs in, as the design's examples are.
func LoadFile(path string, env func(string) (string, bool)) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the daemon config",
			Detail: fmt.Sprintf("%v. Pass an existing file to --config, or leave --config out to run with the embedded defaults.", err)}}
	}
	return Load(path, src, env)
}

// Load parses a daemon config from src.
func Load(name string, src []byte, env func(string) (string, bool)) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	if env == nil {
		env = os.LookupEnv
	}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if filepath.Ext(name) == ".json" {
		f, diags = p.ParseJSON(src, name)
	} else {
		f, diags = p.ParseHCL(src, name)
	}
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	var raw rawFile
	diags = append(diags, gohcl.DecodeBody(f.Body, evalContext(env), &raw)...)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	c, more := build(&raw, f.Body)
	diags = append(diags, more...)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	c.Path = name
	c.fillDefaults()
	return c, p.Files(), diags
}

func evalContext(env func(string) (string, bool)) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"env": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				v, ok := env(args[0].AsString())
				if !ok {
					return cty.NilVal, function.NewArgErrorf(0, "environment variable %s is not set", args[0].AsString())
				}
				return cty.StringVal(v), nil
			},
		}),
		"file": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				b, err := os.ReadFile(args[0].AsString())
				if err != nil {
					return cty.NilVal, function.NewArgError(0, err)
				}
				return cty.StringVal(string(b)), nil
			},
		}),
	}}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

func duration(s *string, what string, r hcl.Range, diags *hcl.Diagnostics) time.Duration {
	if s == nil {
		return 0
	}
	d, err := time.ParseDuration(*s)
	if err != nil || d <= 0 {
		*diags = append(*diags, errorAt(r, "Invalid duration", fmt.Sprintf("%s %q must be a positive duration like \"30s\".", what, *s)))
	}
	return d
}

func parseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("mode %q must be octal permissions like \"0660\"", s)
	}
	return uint32(m), nil
}
