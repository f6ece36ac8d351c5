package vaulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// defaultKVv1TTL is the lease_duration Vault reports on KV v1 reads (the
// system default lease TTL, 768h).
const defaultKVv1TTL = 2764800

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErrors(w, http.StatusNotFound)
		return
	}
	ns := strings.Trim(r.Header.Get("X-Vault-Namespace"), "/")
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: method, Path: p, Namespace: ns})

	if strings.HasPrefix(p, "auth/") && strings.HasSuffix(p, "/login") && p != "auth/token/login" {
		s.login(w, r, ns, strings.TrimSuffix(strings.TrimPrefix(p, "auth/"), "/login"))
		return
	}
	t := s.tokens[r.Header.Get("X-Vault-Token")]
	now := time.Now()
	if !t.valid(ns, now) {
		if p == "auth/token/lookup-self" {
			s.stats.LookupSelfs++
		}
		s.deny(w)
		return
	}
	switch {
	case p == "auth/token/lookup-self" && method == http.MethodGet:
		s.stats.LookupSelfs++
		writeJSON(w, http.StatusOK, envelope(lookupData(t, now), nil, nil))
	case p == "auth/token/renew-self" && (method == http.MethodPost || method == http.MethodPut):
		s.renewSelf(w, r, t, now)
	case strings.HasPrefix(p, "sys/internal/ui/mounts/") && method == http.MethodGet:
		s.mountInfo(w, t, ns, strings.TrimPrefix(p, "sys/internal/ui/mounts/"))
	case strings.HasPrefix(p, "auth/") || strings.HasPrefix(p, "sys/"):
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
	case !t.allows(p):
		s.deny(w)
	default:
		s.kv(w, r, method, ns, p, now)
	}
}

func (s *Server) deny(w http.ResponseWriter) {
	s.stats.Denied++
	writeErrors(w, http.StatusForbidden, "permission denied")
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, ns, authMount string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	role := s.roles[ns+"|"+authMount+"|"+body.RoleID]
	if role == nil || body.SecretID != role.SecretID {
		writeErrors(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	t := s.newToken(ns, role.TokenTTL, role.TokenMaxTTL, true, role.Allow)
	t.path, t.displayName = "auth/"+authMount+"/login", authMount
	s.stats.Logins++
	auth := authBlock(t, role.TokenTTL, map[string]any{"role_name": role.RoleName})
	writeJSON(w, http.StatusOK, envelope(nil, auth, nil))
}

func (s *Server) renewSelf(w http.ResponseWriter, r *http.Request, t *token, now time.Time) {
	if !t.renewable || t.expires.IsZero() {
		writeErrors(w, http.StatusBadRequest, "lease is not renewable")
		return
	}
	var body struct {
		Increment json.Number `json:"increment"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	ttl := t.ttl
	if n, err := body.Increment.Int64(); err == nil && n > 0 {
		ttl = time.Duration(n) * time.Second
	}
	var warnings []string
	if t.maxTTL > 0 {
		if left := t.created.Add(t.maxTTL).Sub(now); ttl > left {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", ttl.String(), left.Truncate(time.Second).String()))
			ttl = left
		}
	}
	t.expires = now.Add(ttl)
	s.stats.Renewals++
	writeJSON(w, http.StatusOK, envelope(nil, authBlock(t, ttl, nil), warnings))
}

func (s *Server) mountInfo(w http.ResponseWriter, t *token, ns, p string) {
	m := s.findMount(ns, strings.Trim(p, "/"))
	if m == nil || !t.allowsUnder(m.path) {
		s.stats.Denied++
		writeErrors(w, http.StatusForbidden, fmt.Sprintf("preflight capability check returned 403, please ensure client's policies grant access to path %q", strings.Trim(p, "/")+"/"))
		return
	}
	data := map[string]any{
		"accessor":                m.accessor,
		"config":                  map[string]any{"default_lease_ttl": 0, "force_no_cache": false, "max_lease_ttl": 0},
		"description":             "key/value secret storage",
		"external_entropy_access": false,
		"local":                   false,
		"options":                 map[string]any{"version": strconv.Itoa(m.version)},
		"path":                    m.path,
		"plugin_version":          "",
		"running_plugin_version":  "v0.20.0+builtin",
		"running_sha256":          "",
		"seal_wrap":               false,
		"type":                    "kv",
		"uuid":                    m.accessor,
	}
	writeJSON(w, http.StatusOK, envelope(data, nil, nil))
}

func (s *Server) kv(w http.ResponseWriter, r *http.Request, method, ns, p string, now time.Time) {
	m := s.findMount(ns, p)
	if m == nil {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	rest := strings.TrimPrefix(p+"/", m.path)
	rest = strings.TrimSuffix(rest, "/")
	if m.version == 2 {
		switch {
		case strings.HasPrefix(rest, "data/") && method != "LIST":
			rest = strings.TrimPrefix(rest, "data/")
		case strings.HasPrefix(rest+"/", "metadata/") && method == "LIST":
			s.list(w, m, strings.TrimPrefix(rest+"/", "metadata/"))
			return
		default:
			writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
			return
		}
	}
	switch method {
	case http.MethodGet:
		s.read(w, m, rest)
	case http.MethodPost, http.MethodPut:
		s.write(w, r, m, rest, now)
	case http.MethodDelete:
		m.deleteLatest(rest, now)
		w.WriteHeader(http.StatusNoContent)
	case "LIST":
		s.list(w, m, rest+"/")
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func (s *Server) read(w http.ResponseWriter, m *mount, path string) {
	e := m.secrets[path]
	if e == nil || len(e.versions) == 0 {
		writeErrors(w, http.StatusNotFound)
		return
	}
	n := len(e.versions)
	v := e.versions[n-1]
	if m.version == 1 {
		s.stats.Reads++
		body := envelope(v.data, nil, nil)
		body["lease_duration"] = defaultKVv1TTL
		writeJSON(w, http.StatusOK, body)
		return
	}
	meta := map[string]any{"created_time": v.created.UTC().Format(time.RFC3339Nano), "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": n}
	if !v.deleted.IsZero() {
		// Vault answers a deleted version with 404 and its metadata.
		meta["deletion_time"] = v.deleted.UTC().Format(time.RFC3339Nano)
		writeJSON(w, http.StatusNotFound, envelope(map[string]any{"data": nil, "metadata": meta}, nil, nil))
		return
	}
	s.stats.Reads++
	writeJSON(w, http.StatusOK, envelope(map[string]any{"data": v.data, "metadata": meta}, nil, nil))
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, m *mount, path string, now time.Time) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	if m.version == 1 {
		m.put(path, body, now)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	data, ok := body["data"].(map[string]any)
	if !ok {
		writeErrors(w, http.StatusBadRequest, "no data provided")
		return
	}
	if opts, ok := body["options"].(map[string]any); ok {
		if cas, ok := opts["cas"].(json.Number); ok {
			current := 0
			if e := m.secrets[path]; e != nil {
				current = len(e.versions)
			}
			if n, err := cas.Int64(); err != nil || int(n) != current {
				writeErrors(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
				return
			}
		}
	}
	n := m.put(path, data, now)
	meta := map[string]any{"created_time": now.UTC().Format(time.RFC3339Nano), "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": n}
	writeJSON(w, http.StatusOK, envelope(meta, nil, nil))
}

func (s *Server) list(w http.ResponseWriter, m *mount, folder string) {
	if folder == "/" {
		folder = ""
	}
	keys := m.list(folder)
	if len(keys) == 0 {
		writeErrors(w, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, envelope(map[string]any{"keys": keys}, nil, nil))
}

// envelope is Vault's response body around data, auth and warnings.
func envelope(data, auth map[string]any, warnings []string) map[string]any {
	body := map[string]any{
		"request_id":     randomHex(4) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(6),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           nil,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
	}
	if data != nil {
		body["data"] = data
	}
	if auth != nil {
		body["auth"] = auth
	}
	if warnings != nil {
		body["warnings"] = warnings
	}
	return body
}

func authBlock(t *token, ttl time.Duration, metadata map[string]any) map[string]any {
	return map[string]any{
		"client_token":    t.id,
		"accessor":        t.accessor,
		"policies":        []string{"default"},
		"token_policies":  []string{"default"},
		"metadata":        metadata,
		"lease_duration":  int(ttl / time.Second),
		"renewable":       t.renewable,
		"entity_id":       "",
		"token_type":      "service",
		"orphan":          true,
		"mfa_requirement": nil,
		"num_uses":        0,
	}
}

func lookupData(t *token, now time.Time) map[string]any {
	var expire any
	ttl := 0
	if !t.expires.IsZero() {
		expire = t.expires.Format(time.RFC3339Nano)
		ttl = int(t.expires.Sub(now) / time.Second)
	}
	return map[string]any{
		"accessor":         t.accessor,
		"creation_time":    t.created.Unix(),
		"creation_ttl":     int(t.ttl / time.Second),
		"display_name":     t.displayName,
		"entity_id":        "",
		"expire_time":      expire,
		"explicit_max_ttl": 0,
		"id":               t.id,
		"issue_time":       t.created.Format(time.RFC3339Nano),
		"meta":             nil,
		"num_uses":         0,
		"orphan":           true,
		"path":             t.path,
		"policies":         []string{"default"},
		"renewable":        t.renewable,
		"ttl":              ttl,
		"type":             "service",
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeErrors answers with Vault's error body, {"errors":[…]}; a 404 for a
// missing secret has an empty list.
func writeErrors(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}
