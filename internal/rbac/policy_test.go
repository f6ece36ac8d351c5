package rbac

import (
	"errors"
	"strings"
	"testing"
)

// testPolicy builds the policy most tests share.
func testPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := NewPolicy(
		[]Role{
			{Name: "operator", Permissions: []string{"plan", "apply", "module.*", "heartbeat.send"}},
			{Name: "viewer", Permissions: []string{"plan", "status.read"}},
			{Name: "root", Permissions: []string{"*"}},
			{Name: "state", Permissions: []string{"state.*", "state.*"}},
			{Name: "empty"},
		},
		[]Principal{
			{Name: "ci@company.com", Roles: []string{"operator"}, TokenSHA256: HashToken("ci-token")},
			{Name: "unix:1000", Roles: []string{"viewer", "state"}},
			{Name: "ops@company.com", Roles: []string{"root"}, TokenSHA256: HashToken("ops-token")},
			{Name: "unix:1001"},
			{Name: "unix:1002", Roles: []string{"empty"}},
		})
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

func TestPolicy_allowed(t *testing.T) {
	p := testPolicy(t)
	tests := map[string]struct {
		principal, permission string
		want                  bool
	}{
		"exact grant":                     {"ci@company.com", "apply", true},
		"exact grant from second role":    {"unix:1000", "status.read", true},
		"not granted":                     {"unix:1000", "apply", false},
		"prefix wildcard":                 {"ci@company.com", "module.load", true},
		"prefix wildcard, deeper":         {"ci@company.com", "module.load.extra", true},
		"prefix wildcard excludes prefix": {"ci@company.com", "module", false},
		"prefix wildcard needs the dot":   {"ci@company.com", "modules.load", false},
		"prefix wildcard, empty last":     {"ci@company.com", "module.", false},
		"prefix from other role":          {"unix:1000", "state.write", true},
		"star grants anything":            {"ops@company.com", "anything.at.all", true},
		"star grants odd names":           {"ops@company.com", "Weird Name", true},
		"star does not grant empty":       {"ops@company.com", "", false},
		"case sensitive":                  {"ci@company.com", "Apply", false},
		"unknown principal":               {"mallory", "plan", false},
		"empty principal":                 {"", "plan", false},
		"principal without roles":         {"unix:1001", "plan", false},
		"principal with an empty role":    {"unix:1002", "plan", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := p.Allowed(tt.principal, tt.permission); got != tt.want {
				t.Errorf("Allowed(%q, %q) got: %v, want: %v", tt.principal, tt.permission, got, tt.want)
			}
		})
	}
}

func TestPolicy_nilDeniesEverything(t *testing.T) {
	var p *Policy
	if p.Allowed("unix:0", "plan") {
		t.Errorf("got: allowed, want: denied")
	}
	if _, ok := p.Authenticate("token"); ok {
		t.Errorf("got: authenticated, want: not")
	}
	if err := p.Authorize("unix:0", []Need{{Permissions: []string{"apply"}}}); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("got: %v, want: ErrPermissionDenied", err)
	}
	if !p.WithAdmin("unix:0").Allowed("unix:0", "apply") {
		t.Errorf("WithAdmin on nil policy: got: denied, want: allowed")
	}
}

func TestPolicy_withAdmin(t *testing.T) {
	p := testPolicy(t)
	q := p.WithAdmin("unix:0").WithAdmin("unix:1000")
	for _, perm := range []string{"apply", "state.write", "secret.write", "x.y.z"} {
		if !q.Allowed("unix:0", perm) || !q.Allowed("unix:1000", perm) {
			t.Errorf("admin denied %q; want: allowed", perm)
		}
	}
	if p.Allowed("unix:0", "apply") || p.Allowed("unix:1000", "apply") {
		t.Errorf("WithAdmin changed the original policy")
	}
	if got, ok := q.Authenticate("ci-token"); !ok || got != "ci@company.com" {
		t.Errorf("tokens after WithAdmin: got: %q %v, want: ci@company.com true", got, ok)
	}
	if !q.Allowed("ci@company.com", "module.load") || q.Allowed("ci@company.com", "secret.write") {
		t.Errorf("WithAdmin changed another principal's grants")
	}
	if p.WithAdmin("") != p {
		t.Errorf("WithAdmin(\"\") got: a new policy, want: the same one")
	}
}

func TestNewPolicy_errors(t *testing.T) {
	tests := map[string]struct {
		roles      []Role
		principals []Principal
		want       []ConfigError // Detail holds a substring
	}{
		"unknown role": {
			roles:      []Role{{Name: "operator"}, {Name: "viewer"}},
			principals: []Principal{{Name: "ci", Roles: []string{"operater"}}},
			want:       []ConfigError{{"principal", "ci", "roles", `unknown role "operater"; declare it with a role block, or use one of: operator, viewer`}},
		},
		"duplicate role": {
			roles: []Role{{Name: "operator"}, {Name: "operator"}},
			want:  []ConfigError{{"role", "operator", "", "declared more than once"}},
		},
		"duplicate principal": {
			principals: []Principal{{Name: "ci"}, {Name: "ci"}},
			want:       []ConfigError{{"principal", "ci", "", "declared more than once"}},
		},
		"empty names": {
			roles:      []Role{{Name: ""}},
			principals: []Principal{{Name: ""}},
			want:       []ConfigError{{"role", "", "", "needs a name"}, {"principal", "", "", "needs a name"}},
		},
		"bad patterns, all reported": {
			roles: []Role{{Name: "r", Permissions: []string{"mod*", "module..load", "", "*.load", "module.*.load", "module load", "module.**"}}},
			want: []ConfigError{
				{"role", "r", "permissions", `"mod*" is not a valid permission pattern: a wildcard may only be the whole last segment`},
				{"role", "r", "permissions", `"module..load" is not a valid permission pattern: segment 2 is empty`},
				{"role", "r", "permissions", `"" is not a valid permission pattern: it is empty`},
				{"role", "r", "permissions", `"*.load" is not a valid permission pattern: a wildcard`},
				{"role", "r", "permissions", `"module.*.load" is not a valid permission pattern: a wildcard`},
				{"role", "r", "permissions", `segment "module load" holds ' '`},
				{"role", "r", "permissions", `"module.**" is not a valid permission pattern: a wildcard`},
			},
		},
		"short token hash": {
			principals: []Principal{{Name: "ci", TokenSHA256: "abc"}},
			want:       []ConfigError{{"principal", "ci", "token_sha256", "want 64 hexadecimal digits (the output of `nexus token hash`), got 3 characters"}},
		},
		"non-hex token hash": {
			principals: []Principal{{Name: "ci", TokenSHA256: strings.Repeat("zz", 32)}},
			want:       []ConfigError{{"principal", "ci", "token_sha256", "invalid byte"}},
		},
		"shared token hash": {
			principals: []Principal{{Name: "a", TokenSHA256: HashToken("t")}, {Name: "b", TokenSHA256: strings.ToUpper(HashToken("t"))}},
			want:       []ConfigError{{"principal", "b", "token_sha256", `principal "a" already has this token hash`}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := NewPolicy(tt.roles, tt.principals)
			if err == nil {
				t.Fatalf("got: a policy, want: an error")
			}
			if p != nil {
				t.Errorf("got: a policy next to the error, want: nil")
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("got: %v, want: an ErrInvalidPolicy", err)
			}
			var got []*ConfigError
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("got: %T %v, want: *ConfigError", e, e)
				}
				got = append(got, ce)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got: %d errors (%v), want: %d", len(got), err, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Block != w.Block || g.Name != w.Name || g.Attribute != w.Attribute || !strings.Contains(g.Error(), w.Detail) {
					t.Errorf("error %d got: %+v (%q), want: %+v", i, *g, g.Error(), w)
				}
			}
		})
	}
}

func TestConfigError_message(t *testing.T) {
	e := &ConfigError{Block: "role", Name: "operator", Attribute: "permissions", Detail: "bad"}
	if got, want := e.Error(), `role "operator": permissions: bad`; got != want {
		t.Errorf("got: %q, want: %q", got, want)
	}
	e.Attribute = ""
	if got, want := e.Error(), `role "operator": bad`; got != want {
		t.Errorf("got: %q, want: %q", got, want)
	}
}

func TestPolicy_known(t *testing.T) {
	p := testPolicy(t)
	if !p.Known("unix:1001") || p.Known("mallory") {
		t.Errorf("Known: got: %v %v, want: true false", p.Known("unix:1001"), p.Known("mallory"))
	}
}
