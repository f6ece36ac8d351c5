package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/telemetry"
	"github.com/nexus-run/nexus/internal/version"
)

// routes is the API: every /v1 route authenticates its caller and checks
// its verb; health and metrics are open.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	v1 := func(pattern, verb string, h func(http.ResponseWriter, *http.Request, string)) {
		mux.Handle(pattern, d.guard(pattern, verb, h))
	}
	v1("POST /v1/plan", "plan", d.handlePlan)
	v1("POST /v1/apply", "apply", d.handleApply)
	v1("POST /v1/apply/cancel", "apply", d.handleApplyCancel)
	v1("GET /v1/status", "status.read", d.handleStatus)
	v1("GET /v1/modules/{id...}", "status.read", d.handleModule)
	v1("GET /v1/state", "state.read", d.handleState)
	v1("GET /v1/state/history", "state.read", d.handleStateHistory)
	v1("POST /v1/state/rm", "state.write", d.handleStateRm)
	v1("POST /v1/state/push", "state.write", d.handleStatePush)
	v1("POST /v1/force-unlock", "state.write", d.handleForceUnlock)
	v1("GET /v1/audit", "audit.read", d.handleAudit)
	v1("GET /v1/secrets", "secret.write", d.handleSecretsList)
	v1("POST /v1/secrets", "secret.write", d.handleSecretsPut)
	v1("DELETE /v1/secrets", "secret.write", d.handleSecretsDelete)
	mux.HandleFunc("GET /healthz", d.handleHealthz)
	mux.HandleFunc("GET /readyz", d.handleReadyz)
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { noRoute(mux, w, r) })
	return d.logRequests(mux)
}

// noRoute answers a request no route matched, in JSON like every other
// refusal: 405 with an Allow header when the path has routes for other
// methods, else 404.
func noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, api.Error{Code: api.CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s does not take %s; use %s", r.URL.Path, r.Method, strings.Join(allow, " or "))})
		return
	}
	writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
}

// guard authenticates the caller, checks the route's verb, and passes the
// principal on. Denials are audited and counted.
func (d *Daemon) guard(route, verb string, h func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, err := d.authenticate(r)
		if err != nil {
			d.metrics.Authz(false)
			d.auditEvent(r.Context(), audit.Record{Type: "denied", RequestID: requestID(r), Outcome: "denied",
				Details: map[string]string{"route": route, "reason": err.Error()}})
			writeError(w, http.StatusUnauthorized, api.Error{Code: api.CodeUnauth, Message: err.Error()})
			return
		}
		setPrincipal(r, principal)
		// Whatever the request logs with its context (every transition of
		// an apply) names who asked, and which request it was.
		r = r.WithContext(telemetry.WithLogAttrs(r.Context(), slog.String("principal", principal), slog.String("request_id", requestID(r))))
		allowed := d.policy().Allowed(principal, verb)
		d.metrics.Authz(allowed)
		if !allowed {
			d.auditEvent(r.Context(), audit.Record{Type: "denied", Principal: principal, RequestID: requestID(r), Outcome: "denied",
				Details: map[string]string{"route": route, "permission": verb}})
			writeError(w, http.StatusForbidden, api.Error{Code: api.CodeDenied,
				Message: fmt.Sprintf("%s may not %s: the permission %q is missing", principal, route, verb),
				Missing: []api.Missing{{Permission: verb}}})
			return
		}
		h(w, r, principal)
	})
}

// requestInfo is filled by the handlers for the request log.
type requestInfo struct {
	id        string
	principal string
}

// logRequests gives every request an id and logs it once, with principal,
// status and duration.
func (d *Daemon) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := d.now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		info := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, info))
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d.metrics.Request(route, sw.status)
		if r.URL.Path == "/metrics" || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return
		}
		d.log.Info("api request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"principal", info.principal, "request_id", id, "duration_ms", d.now().Sub(start).Milliseconds())
	})
}

func setPrincipal(r *http.Request, p string) {
	if info, ok := r.Context().Value(keyRequestID).(*requestInfo); ok {
		info.principal = p
	}
}

func requestID(r *http.Request) string {
	if info, ok := r.Context().Value(keyRequestID).(*requestInfo); ok {
		return info.id
	}
	return ""
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, e api.Error) {
	writeJSON(w, status, struct {
		Error api.Error `json:"error"`
	}{e})
}

// decode reads a JSON request body into v: it must be application/json, at
// most api.MaxRequestBytes, and hold no unknown fields. It writes the 4xx
// answer itself and reports whether decoding succeeded.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, api.Error{Code: api.CodeUnsupported, Message: "send the request body as Content-Type: application/json"})
		return false
	}
	// A body announced too big is refused before a byte of it is read.
	if r.ContentLength > api.MaxRequestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, tooLarge())
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, api.MaxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, tooLarge())
			return false
		}
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "malformed JSON request: " + err.Error()})
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "malformed JSON request: more than one JSON value"})
		return false
	}
	return true
}

func tooLarge() api.Error {
	return api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("the request body is larger than %d MiB", api.MaxRequestBytes>>20)}
}

func (d *Daemon) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": version.Version,
		"uptime_seconds": d.now().Sub(d.startedAt).Seconds()})
}

// handleReadyz is ready when the daemon has started and every started
// module of every project is ready; the answer lists those that are not.
func (d *Daemon) handleReadyz(w http.ResponseWriter, r *http.Request) {
	var notReady []string
	for _, p := range d.projectList() {
		notReady = append(notReady, p.notReady()...)
	}
	if !d.ready.Load() || len(notReady) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "starting": !d.ready.Load(), "not_ready": notReady})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

// auditEvent appends a record, logging (not failing the request) when the
// audit log cannot be written.
func (d *Daemon) auditEvent(ctx context.Context, rec audit.Record) {
	if d.audit == nil {
		return
	}
	if d.scrub.active() {
		rec.Details = maps.Clone(rec.Details)
		d.scrub.scrubMap(rec.Details)
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.audit.Append(actx, rec); err != nil {
		d.log.Error("audit append failed", "type", rec.Type, "error", err)
	}
}
