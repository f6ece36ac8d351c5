package vaulttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake Vault. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	tokens   map[string]*token
	roles    map[string]*AppRole // by namespace|mount|role_id
	mounts   map[string]*mount   // by namespace|path ("kv/")
	stats    Stats
	requests []Request
}

// Stats counts what the server was asked.
type Stats struct {
	Logins      int // successful AppRole logins
	Renewals    int // successful renew-self calls
	LookupSelfs int // lookup-self calls, successful or not
	Reads       int // KV reads that returned a secret
	Denied      int // 403 answers
}

// Request is one request the server saw, without its token or body.
type Request struct {
	Method    string
	Path      string // without /v1/
	Namespace string // the X-Vault-Namespace header
}

// TokenOptions describe a token made by CreateToken.
type TokenOptions struct {
	// Namespace is where the token lives; "" is the root namespace.
	Namespace string
	// TTL is the token's lifetime; 0 means it never expires (like a root
	// token).
	TTL time.Duration
	// MaxTTL caps renewals, counted from creation; 0 means no cap.
	MaxTTL time.Duration
	// Renewable lets renew-self extend the token.
	Renewable bool
	// Allow lists the API paths (without /v1/, like "kv/data/app") the
	// token may use; an entry ending in '*' is a prefix. Nil allows
	// everything, like a root token. Every valid token may look itself up
	// and renew itself.
	Allow []string
}

// AppRole is a role AddAppRole registers.
type AppRole struct {
	Namespace string
	// Mount is the auth mount path; "" means "approle".
	Mount    string
	RoleName string
	RoleID   string
	SecretID string
	// TokenTTL and TokenMaxTTL are the issued tokens' TTLs; 0 means 1h and
	// no cap.
	TokenTTL, TokenMaxTTL time.Duration
	// Allow is the issued tokens' allow list (see TokenOptions.Allow).
	Allow []string
}

type token struct {
	id, accessor, namespace, path, displayName string
	ttl, maxTTL                                time.Duration
	renewable                                  bool
	allow                                      []string
	created, expires                           time.Time // expires zero: never
	revoked                                    bool
}

type mount struct {
	namespace, path string // path with trailing '/'
	version         int
	accessor        string
	secrets         map[string]*entry
}

type entry struct {
	versions []*version // versions[i] is version i+1
}

type version struct {
	data    map[string]any
	created time.Time
	deleted time.Time
}

// New starts a fake Vault over plain HTTP on 127.0.0.1, closed when the
// test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := newServer()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.Close)
	return s
}

// NewTLS starts a fake Vault over HTTPS with a self-signed certificate (see
// CACertPEM), closed when the test ends.
func NewTLS(tb testing.TB) *Server {
	tb.Helper()
	s := newServer()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Tests that check a client refuses the certificate would fill the
	// output with handshake errors.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	tb.Cleanup(s.Close)
	return s
}

func newServer() *Server {
	return &Server{tokens: map[string]*token{}, roles: map[string]*AppRole{}, mounts: map[string]*mount{}}
}

// URL returns the server's address, like "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.srv.URL }

// CACertPEM returns the PEM certificate a client must trust to talk to a
// server made by NewTLS (nil for a plain HTTP server).
func (s *Server) CACertPEM() []byte {
	cert := s.srv.Certificate()
	if cert == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// Close shuts the server down. It is safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// MountKV mounts a KV secrets engine of the given version (1 or 2) at path
// in namespace ns.
func (s *Server) MountKV(ns, path string, version int) {
	p := strings.Trim(path, "/") + "/"
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[ns+"|"+p] = &mount{namespace: ns, path: p, version: version, accessor: "kv_" + randomHex(4), secrets: map[string]*entry{}}
}

// Put writes a new version of the secret at path in the mount at
// mountPath, as `vault kv put` would. It panics when no such mount exists.
func (s *Server) Put(ns, mountPath, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mounts[ns+"|"+strings.Trim(mountPath, "/")+"/"]
	if m == nil {
		panic("vaulttest: Put into a mount that does not exist: " + mountPath)
	}
	m.put(path, data, time.Now())
}

// DeleteLatest soft-deletes the latest version of a KV v2 secret, as
// `vault kv delete` does: reads then answer 404 with the version's
// metadata.
func (s *Server) DeleteLatest(ns, mountPath, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mounts[ns+"|"+strings.Trim(mountPath, "/")+"/"]; m != nil {
		m.deleteLatest(path, time.Now())
	}
}

// CreateToken makes a token and returns its id.
func (s *Server) CreateToken(o TokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newToken(o.Namespace, o.TTL, o.MaxTTL, o.Renewable, o.Allow)
	t.path, t.displayName = "auth/token/create", "token"
	return t.id
}

// AddAppRole registers an AppRole role.
func (s *Server) AddAppRole(r AppRole) {
	if r.Mount == "" {
		r.Mount = "approle"
	}
	if r.TokenTTL == 0 {
		r.TokenTTL = time.Hour
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[r.Namespace+"|"+r.Mount+"|"+r.RoleID] = &r
}

// Revoke invalidates a token at once.
func (s *Server) Revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		t.revoked = true
	}
}

// RevokeAll invalidates every token issued so far, as if an operator had
// revoked them; logins afterwards issue new, valid tokens.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Requests returns the requests seen so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) newToken(ns string, ttl, maxTTL time.Duration, renewable bool, allow []string) *token {
	now := time.Now()
	t := &token{
		id: "hvs." + randomHex(12), accessor: randomHex(12), namespace: ns,
		ttl: ttl, maxTTL: maxTTL, renewable: renewable, allow: allow, created: now,
	}
	if ttl > 0 {
		t.expires = now.Add(ttl)
	}
	s.tokens[t.id] = t
	return t
}

// valid reports whether t may be used now in namespace ns.
func (t *token) valid(ns string, now time.Time) bool {
	if t == nil || t.revoked || (!t.expires.IsZero() && !now.Before(t.expires)) {
		return false
	}
	return t.namespace == "" || ns == t.namespace || strings.HasPrefix(ns, t.namespace+"/")
}

// allows reports whether t's allow list covers the API path p.
func (t *token) allows(p string) bool {
	if t.allow == nil {
		return true
	}
	for _, a := range t.allow {
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(p, prefix) || a == p {
			return true
		}
	}
	return false
}

// allowsUnder reports whether t may use any path under the mount path mp,
// what Vault's preflight check asks.
func (t *token) allowsUnder(mp string) bool {
	if t.allow == nil {
		return true
	}
	for _, a := range t.allow {
		if strings.HasPrefix(strings.TrimSuffix(a, "*"), mp) || strings.HasPrefix(mp, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// findMount returns the mount in ns with the longest path that prefixes p.
func (s *Server) findMount(ns, p string) *mount {
	var best *mount
	for _, m := range s.mounts {
		if m.namespace == ns && strings.HasPrefix(p+"/", m.path) && (best == nil || len(m.path) > len(best.path)) {
			best = m
		}
	}
	return best
}

func (m *mount) put(path string, data map[string]any, now time.Time) int {
	e := m.secrets[path]
	if e == nil {
		e = &entry{}
		m.secrets[path] = e
	}
	cp := make(map[string]any, len(data))
	for k, v := range data {
		cp[k] = v
	}
	if m.version == 1 {
		e.versions = []*version{{data: cp, created: now}}
		return 1
	}
	e.versions = append(e.versions, &version{data: cp, created: now})
	return len(e.versions)
}

func (m *mount) deleteLatest(path string, now time.Time) {
	if e := m.secrets[path]; e != nil && len(e.versions) > 0 {
		if m.version == 1 {
			delete(m.secrets, path)
			return
		}
		e.versions[len(e.versions)-1].deleted = now
	}
}

// list returns the keys directly under folder, Vault style: "name" for a
// secret, "name/" for a folder, sorted.
func (m *mount) list(folder string) []string {
	seen := map[string]bool{}
	for p, e := range m.secrets {
		if len(e.versions) == 0 || !strings.HasPrefix(p, folder) {
			continue
		}
		rest := strings.TrimPrefix(p, folder)
		if i := strings.Index(rest, "/"); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
