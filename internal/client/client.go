// Package client is the CLI's side of the daemon API: it speaks to a daemon
// over its unix socket or HTTPS, with the wire types of internal/api.
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/state"
)

// ErrNoDaemon is returned (wrapped) when nothing answers at the address.
var ErrNoDaemon = errors.New("no nexus daemon answers")

// Error is a daemon's refusal: its status and body.
type Error struct {
	Status int
	Body   api.Error
}

func (e *Error) Error() string { return e.Body.Message }

// Client talks to one daemon. It is safe for concurrent use.
type Client struct {
	http    *http.Client
	base    string
	token   string
	display string
}

// TLS says how a client checks an https:// daemon and proves itself to
// one: the PEM file of the CA that signed the daemon's certificate (empty:
// the system's roots) and, for mutual TLS, the client's certificate and key.
type TLS struct {
	CAFile, CertFile, KeyFile string
}

// New returns a client for address: "unix:///path/to.sock", a bare socket
// path, "https://host:port" or "http://127.0.0.1:port". token is sent as a
// bearer token (never over plain HTTP to a non-loopback host).
func New(address, token string) (*Client, error) {
	return NewTLS(address, token, TLS{})
}

// NewTLS is New with the TLS settings for an https:// address.
func NewTLS(address, token string, t TLS) (*Client, error) {
	c := &Client{token: token, display: address}
	tr := &http.Transport{MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: 0}
	switch {
	case strings.HasPrefix(address, "unix://") || strings.HasPrefix(address, "/") || strings.HasPrefix(address, "./") || strings.HasPrefix(address, ".nexus"):
		path := strings.TrimPrefix(address, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://nexus"
		c.display = "unix://" + path
	case strings.HasPrefix(address, "https://") || strings.HasPrefix(address, "http://"):
		u, err := url.Parse(address)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("--address %q: use unix:///path/to.sock or https://host:port", address)
		}
		if u.Scheme == "http" && token != "" && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("--address %q: a token is only sent over https:// or to a loopback address, never in clear over a network; use https://%s", address, u.Host)
		}
		c.base = strings.TrimSuffix(address, "/")
		cfg, err := t.config()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	default:
		return nil, fmt.Errorf("--address %q: use unix:///path/to.sock or https://host:port", address)
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// config builds the transport's TLS config; nil means Go's defaults.
func (t TLS) config() (*tls.Config, error) {
	if t == (TLS{}) {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("NEXUS_CACERT: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("NEXUS_CACERT: %s holds no PEM certificate", t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("set both NEXUS_CLIENT_CERT and NEXUS_CLIENT_KEY for mutual TLS, or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("NEXUS_CLIENT_CERT, NEXUS_CLIENT_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Address is the daemon's address as the user should read it.
func (c *Client) Address() string { return c.display }

// do sends a JSON request and decodes a JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read the daemon's answer to %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		req.Header.Set("X-Request-Id", id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isNoDaemon(err) {
			return nil, fmt.Errorf("%w at %s. Start one with `nexus daemon` (or run a topology in the foreground with `nexus up DIR`), or point --address / NEXUS_ADDR at a running daemon", ErrNoDaemon, c.display)
		}
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) {
			return nil, fmt.Errorf("talk to the daemon at %s: %w (set NEXUS_CACERT to the PEM file of the CA that signed its certificate)", c.display, err)
		}
		return nil, fmt.Errorf("talk to the daemon at %s: %w", c.display, err)
	}
	return resp, nil
}

// isLoopback reports whether host (a name or an IP, without port) is this
// machine's loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isNoDaemon(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// checkStatus turns a non-2xx answer into an *Error.
func checkStatus(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var body struct {
		Error api.Error `json:"error"`
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(buf, &body); err != nil || body.Error.Message == "" {
		return &Error{Status: resp.StatusCode, Body: api.Error{Code: api.CodeInternal, Message: fmt.Sprintf("the daemon answered %s: %s", resp.Status, strings.TrimSpace(string(buf)))}}
	}
	return &Error{Status: resp.StatusCode, Body: body.Error}
}

// Plan asks the daemon to plan. Diagnostics that prevented a plan come back
// in the response with an *Error of code invalid_config.
func (c *Client) Plan(ctx context.Context, req *api.PlanRequest) (*api.PlanResponse, error) {
	resp, err := c.send(ctx, http.MethodPost, "/v1/plan", req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnprocessableEntity {
		var pr api.PlanResponse
		if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
			return nil, fmt.Errorf("read the daemon's plan: %w", err)
		}
		return &pr, &Error{Status: resp.StatusCode, Body: api.Error{Code: api.CodeInvalid, Message: "the configuration has errors"}}
	}
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	var pr api.PlanResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
		return nil, fmt.Errorf("read the daemon's plan: %w", err)
	}
	return &pr, nil
}

// Apply sends a plan and calls onMessage for each line of the stream. It
// returns the closing summary; a refusal before the stream is an *Error.
// id names the apply for Cancel; it travels as the request id.
func (c *Client) Apply(ctx context.Context, id string, req *api.ApplyRequest, onMessage func(api.Message)) (*api.ApplySummary, error) {
	resp, err := c.send(withRequestID(ctx, id), http.MethodPost, "/v1/apply", req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var summary *api.ApplySummary
	for sc.Scan() {
		var m api.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return summary, fmt.Errorf("read the apply stream: %w", err)
		}
		if m.Summary != nil {
			summary = m.Summary
		}
		if onMessage != nil {
			onMessage(m)
		}
	}
	if err := sc.Err(); err != nil {
		return summary, fmt.Errorf("the apply stream broke off: %w", err)
	}
	if summary == nil {
		return nil, errors.New("the apply stream ended without a summary: the daemon may have stopped; run nexus status")
	}
	return summary, nil
}

// Cancel interrupts a running apply: no new transitions; with abort, the
// running ones are cancelled too.
func (c *Client) Cancel(ctx context.Context, id string, abort bool) error {
	return c.do(ctx, http.MethodPost, "/v1/apply/cancel", &api.CancelRequest{ID: id, Abort: abort}, nil)
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Status returns every project's modules, or one project's.
func (c *Client) Status(ctx context.Context, project string) (*api.StatusResponse, error) {
	var out api.StatusResponse
	return &out, c.do(ctx, http.MethodGet, "/v1/status"+query("project", project), nil, &out)
}

// Module returns one module by id or address.
func (c *Client) Module(ctx context.Context, project, id string) (*api.ModuleStatus, error) {
	var out api.ModuleStatus
	return &out, c.do(ctx, http.MethodGet, "/v1/modules/"+url.PathEscape(id)+query("project", project), nil, &out)
}

// State returns a project's state document, redacted.
func (c *Client) State(ctx context.Context, project string) (*state.State, error) {
	var out state.State
	return &out, c.do(ctx, http.MethodGet, "/v1/state"+query("project", project), nil, &out)
}

// StateHistory lists a project's recent serials.
func (c *Client) StateHistory(ctx context.Context, project string, limit int) (*api.StateHistoryResponse, error) {
	var out api.StateHistoryResponse
	q := query("project", project)
	if limit > 0 {
		q += sep(q) + fmt.Sprintf("limit=%d", limit)
	}
	return &out, c.do(ctx, http.MethodGet, "/v1/state/history"+q, nil, &out)
}

// StateRm forgets modules.
func (c *Client) StateRm(ctx context.Context, req *api.StateRmRequest) (*api.StateRmResponse, error) {
	var out api.StateRmResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/state/rm", req, &out)
}

// StatePush replaces a project's state.
func (c *Client) StatePush(ctx context.Context, req *api.StatePushRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/state/push", req, nil)
}

// ForceUnlock releases a project's lock by id.
func (c *Client) ForceUnlock(ctx context.Context, req *api.ForceUnlockRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/force-unlock", req, nil)
}

// Audit returns audit records since a duration or time.
func (c *Client) Audit(ctx context.Context, since string) (*api.AuditResponse, error) {
	var out api.AuditResponse
	return &out, c.do(ctx, http.MethodGet, "/v1/audit"+query("since", since), nil, &out)
}

// SecretPut writes a secret.
func (c *Client) SecretPut(ctx context.Context, req *api.SecretRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/secrets", req, nil)
}

// SecretDelete removes a secret.
func (c *Client) SecretDelete(ctx context.Context, req *api.SecretRequest) error {
	return c.do(ctx, http.MethodDelete, "/v1/secrets", req, nil)
}

// SecretList lists a provider's secret paths.
func (c *Client) SecretList(ctx context.Context, provider, prefix string) (*api.SecretsListResponse, error) {
	var out api.SecretsListResponse
	q := query("provider", provider)
	if prefix != "" {
		q += sep(q) + "prefix=" + url.QueryEscape(prefix)
	}
	return &out, c.do(ctx, http.MethodGet, "/v1/secrets"+q, nil, &out)
}

// Healthz checks that the daemon answers.
func (c *Client) Healthz(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

func query(k, v string) string {
	if v == "" {
		return ""
	}
	return "?" + k + "=" + url.QueryEscape(v)
}

func sep(q string) string {
	if q == "" {
		return "?"
	}
	return "&"
}
