package rbac

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Role is a named set of permission patterns: a decoded `role` block.
type Role struct {
	// Name is the block's label.
	Name string
	// Permissions are patterns: exact names, "*" or "prefix.*".
	Permissions []string
}

// Principal is a caller and the roles it holds: a decoded `principal` block.
type Principal struct {
	// Name is the block's label: "ci@company.com", or "unix:<uid>" for
	// callers on the unix socket.
	Name string
	// Roles name Role values given to the same NewPolicy call.
	Roles []string
	// TokenSHA256 is the hex SHA-256 of the principal's bearer token (see
	// HashToken); empty for principals that never present a token.
	TokenSHA256 string
}

// Policy answers authorization questions for a fixed set of roles and
// principals. It is immutable once built and safe for concurrent use. A nil
// *Policy allows nothing and authenticates no one.
type Policy struct {
	principals map[string]*grants
	// tokens holds every principal's token hash, sorted by principal.
	tokens []tokenHash
	// compare is subtle.ConstantTimeCompare; tests wrap it to prove every
	// hash is compared on every call.
	compare func(x, y []byte) int
}

// grants is what one principal may do, precomputed from its roles so that a
// check is a map lookup plus a scan of a few prefixes.
type grants struct {
	all      bool
	exact    map[string]struct{}
	prefixes []string // each ends with "."
}

type tokenHash struct {
	principal string
	sum       [32]byte
}

// ErrInvalidPolicy is matched (errors.Is) by every error NewPolicy returns.
var ErrInvalidPolicy = errors.New("invalid roles or principals")

// ConfigError is one problem NewPolicy found in a role or principal. It
// carries enough for the daemon to place a diagnostic on the right block and
// attribute.
type ConfigError struct {
	// Block is "role" or "principal".
	Block string
	// Name is the block's label.
	Name string
	// Attribute is "permissions", "roles" or "token_sha256"; empty when the
	// problem is the block itself (a duplicate or an empty label).
	Attribute string
	// Detail says what is wrong and what to do.
	Detail string
}

// Error renders the problem as `role "operator": permissions: <detail>`.
func (e *ConfigError) Error() string {
	if e.Attribute == "" {
		return fmt.Sprintf("%s %q: %s", e.Block, e.Name, e.Detail)
	}
	return fmt.Sprintf("%s %q: %s: %s", e.Block, e.Name, e.Attribute, e.Detail)
}

// Is makes errors.Is(err, ErrInvalidPolicy) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidPolicy }

// NewPolicy checks roles and principals and builds a Policy from them. It
// reports every problem, not just the first: the error is an errors.Join of
// *ConfigError values (reach them through `interface{ Unwrap() []error }`).
// Problems are an empty or duplicate role or principal name, a malformed
// permission pattern, a principal naming an undeclared role, a token hash
// that is not 64 hex digits, and two principals sharing one token hash.
func NewPolicy(roles []Role, principals []Principal) (*Policy, error) {
	var errs []error
	fail := func(block, name, attr, format string, args ...any) {
		errs = append(errs, &ConfigError{Block: block, Name: name, Attribute: attr, Detail: fmt.Sprintf(format, args...)})
	}

	compiled := make(map[string][]pattern, len(roles))
	for _, r := range roles {
		if r.Name == "" {
			fail("role", r.Name, "", "a role needs a name")
			continue
		}
		if _, dup := compiled[r.Name]; dup {
			fail("role", r.Name, "", "the role is declared more than once; merge its blocks into one")
			continue
		}
		pats := make([]pattern, 0, len(r.Permissions))
		for _, s := range r.Permissions {
			pat, err := parsePattern(s)
			if err != nil {
				fail("role", r.Name, "permissions", "%v", err)
				continue
			}
			pats = append(pats, pat)
		}
		compiled[r.Name] = pats
	}

	p := &Policy{principals: make(map[string]*grants, len(principals)), compare: subtle.ConstantTimeCompare}
	tokenOwner := make(map[[32]byte]string)
	for _, pr := range principals {
		if pr.Name == "" {
			fail("principal", pr.Name, "", "a principal needs a name, such as \"ci@company.com\" or \"unix:1000\"")
			continue
		}
		if _, dup := p.principals[pr.Name]; dup {
			fail("principal", pr.Name, "", "the principal is declared more than once; merge its blocks into one")
			continue
		}
		var pats []pattern
		for _, role := range pr.Roles {
			rp, ok := compiled[role]
			if !ok {
				fail("principal", pr.Name, "roles", "unknown role %q; declare it with a role block%s", role, knownRoles(compiled))
				continue
			}
			pats = append(pats, rp...)
		}
		p.principals[pr.Name] = compile(pats)
		if pr.TokenSHA256 == "" {
			continue
		}
		sum, err := parseTokenHash(pr.TokenSHA256)
		if err != nil {
			fail("principal", pr.Name, "token_sha256", "%v", err)
			continue
		}
		if other, dup := tokenOwner[sum]; dup {
			fail("principal", pr.Name, "token_sha256", "principal %q already has this token hash; give each principal its own token", other)
			continue
		}
		tokenOwner[sum] = pr.Name
		p.tokens = append(p.tokens, tokenHash{principal: pr.Name, sum: sum})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(p.tokens, func(a, b tokenHash) int { return strings.Compare(a.principal, b.principal) })
	return p, nil
}

// knownRoles renders the declared roles as a hint for an unknown-role error.
func knownRoles(roles map[string][]pattern) string {
	if len(roles) == 0 {
		return ""
	}
	return ", or use one of: " + strings.Join(slices.Sorted(maps.Keys(roles)), ", ")
}

func parseTokenHash(s string) ([32]byte, error) {
	var sum [32]byte
	if len(s) != 2*len(sum) {
		return sum, fmt.Errorf("want 64 hexadecimal digits (the output of `nexus token hash`), got %d characters", len(s))
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, fmt.Errorf("want 64 hexadecimal digits (the output of `nexus token hash`): %w", err)
	}
	return sum, nil
}

// compile folds a principal's patterns into grants.
func compile(pats []pattern) *grants {
	g := &grants{exact: make(map[string]struct{})}
	for _, pat := range pats {
		switch pat.kind {
		case matchAll:
			g.all = true
		case matchPrefix:
			if !slices.Contains(g.prefixes, pat.value) {
				g.prefixes = append(g.prefixes, pat.value)
			}
		case matchExact:
			g.exact[pat.value] = struct{}{}
		}
	}
	slices.Sort(g.prefixes)
	return g
}

// allows reports whether the grants cover permission. The empty permission
// is never granted: no pattern can name it.
func (g *grants) allows(permission string) bool {
	if g == nil || permission == "" {
		return false
	}
	if g.all {
		return true
	}
	if _, ok := g.exact[permission]; ok {
		return true
	}
	for _, prefix := range g.prefixes {
		if len(permission) > len(prefix) && strings.HasPrefix(permission, prefix) {
			return true
		}
	}
	return false
}

// WithAdmin returns a copy of the policy in which principal is allowed
// everything ("*"), keeping its token if it has one. The daemon uses it for its
// own uid ("unix:0" when it runs as root). An empty principal returns p
// itself. p is not modified.
func (p *Policy) WithAdmin(principal string) *Policy {
	if principal == "" {
		return p
	}
	q := &Policy{principals: make(map[string]*grants), compare: subtle.ConstantTimeCompare}
	if p != nil {
		q.principals = maps.Clone(p.principals)
		q.tokens = p.tokens
		q.compare = p.compare
	}
	q.principals[principal] = &grants{all: true}
	return q
}

// Allowed reports whether principal may do permission. Unknown principals
// and principals without roles are allowed nothing.
func (p *Policy) Allowed(principal, permission string) bool {
	if p == nil {
		return false
	}
	return p.principals[principal].allows(permission)
}

// Known reports whether principal is declared (or was made admin). The
// daemon can use it to tell "who are you?" from "you may not".
func (p *Policy) Known(principal string) bool {
	if p == nil {
		return false
	}
	_, ok := p.principals[principal]
	return ok
}

var _ error = (*ConfigError)(nil)
