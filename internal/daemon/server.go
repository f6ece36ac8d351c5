package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/rbac"
)

type ctxKey int

const (
	keyPeerUID ctxKey = iota
	keyListener
	keyPrincipal
	keyRequestID
)

// listen opens every configured listener and serves the API on each.
func (d *Daemon) listen() error {
	handler := d.routes()
	for _, l := range d.cfg.Listeners {
		ln, err := d.openListener(l)
		if err != nil {
			return err
		}
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          nil,
			ConnContext:       connContext(l.Type),
		}
		if l.TLS != nil {
			cfg, err := tlsConfig(l.TLS)
			if err != nil {
				ln.Close()
				return err
			}
			srv.TLSConfig = cfg
			ln = tls.NewListener(ln, cfg)
		}
		d.servers = append(d.servers, srv)
		d.serveWG.Add(1)
		go func() {
			defer d.serveWG.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("listener stopped", "listener", ln.Addr().String(), "error", err)
			}
		}()
	}
	return nil
}

func (d *Daemon) listenerNames() []string {
	var out []string
	for _, l := range d.cfg.Listeners {
		if l.Type == "unix" {
			out = append(out, "unix://"+l.Path)
		} else if l.TLS != nil {
			out = append(out, "https://"+l.Address)
		} else {
			out = append(out, "http://"+l.Address)
		}
	}
	return out
}

func (d *Daemon) openListener(l daemoncfg.Listener) (net.Listener, error) {
	switch l.Type {
	case "unix":
		if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
			return nil, fmt.Errorf("listener %s: %w", l.Path, err)
		}
		if err := removeStaleSocket(l.Path); err != nil {
			return nil, err
		}
		// The socket is created with the final mode: no window in which
		// another user could connect.
		old := unix.Umask(0o777 &^ int(l.Mode))
		ln, err := net.Listen("unix", l.Path)
		unix.Umask(old)
		if err != nil {
			return nil, fmt.Errorf("listen on unix socket %s: %w", l.Path, err)
		}
		if err := os.Chmod(l.Path, os.FileMode(l.Mode)); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listener %s: %w", l.Path, err)
		}
		return ln, nil
	case "tcp":
		if l.TLS == nil && !isLoopback(l.Address) {
			return nil, fmt.Errorf("listener tcp %s: plain HTTP is only served on a loopback address; add a tls block to listen on %s", l.Address, l.Address)
		}
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w (is another nexus daemon running? set a listener \"tcp\" address in the daemon config)", l.Address, err)
		}
		return ln, nil
	}
	return nil, fmt.Errorf("unknown listener type %q", l.Type)
}

// removeStaleSocket removes a socket file no daemon answers on; a live one
// means another daemon runs here.
func removeStaleSocket(path string) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another nexus daemon is already listening on %s; stop it first", path)
	}
	return os.Remove(path)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func tlsConfig(t *daemoncfg.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("listener tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("listener tls client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("listener tls client_ca_file %s holds no PEM certificate", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// connContext tags each connection with its listener type and, on a unix
// socket, the peer's uid from SO_PEERCRED.
func connContext(typ string) func(ctx context.Context, c net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		ctx = context.WithValue(ctx, keyListener, typ)
		uc, ok := c.(*net.UnixConn)
		if !ok {
			return ctx
		}
		raw, err := uc.SyscallConn()
		if err != nil {
			return ctx
		}
		var cred *unix.Ucred
		_ = raw.Control(func(fd uintptr) {
			cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		})
		if err == nil && cred != nil {
			ctx = context.WithValue(ctx, keyPeerUID, int(cred.Uid))
		}
		return ctx
	}
}

// authenticate names the caller: unix:<uid> on the socket, the principal of
// a bearer token, or a client certificate's subject on mutual TLS. Tokens
// only ever arrive over TLS or loopback: openListener serves plain HTTP on
// loopback addresses only. A principal past its `expires` time is refused
// like an unknown one. "" means unauthenticated.
func (d *Daemon) authenticate(r *http.Request) (string, error) {
	acc := d.access.Load()
	principal, err := identify(r, acc.policy)
	if err != nil {
		return "", err
	}
	if exp, ok := acc.expires[principal]; ok && !d.now().Before(exp) {
		return "", fmt.Errorf("the credentials of %s expired at %s: issue new ones, update its principal block (token_sha256, expires) and reload the daemon (SIGHUP)",
			principal, exp.UTC().Format(time.RFC3339))
	}
	return principal, nil
}

// identify names the caller from its connection and credentials.
func identify(r *http.Request, policy *rbac.Policy) (string, error) {
	if uid, ok := r.Context().Value(keyPeerUID).(int); ok {
		return unixPrincipal(uid), nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return "", errors.New("the Authorization header must be \"Bearer <token>\"")
		}
		if p, ok := policy.Authenticate(tok); ok {
			return p, nil
		}
		return "", errors.New("the token is not valid (wrong, revoked, or not in this daemon's config)")
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		cert := r.TLS.VerifiedChains[0][0]
		name := cert.Subject.CommonName
		if name == "" {
			name = cert.Subject.String()
		}
		// unix:<uid> names callers on the socket, whose uid the kernel
		// vouches for; a certificate must not pass for one (unix:0 is admin).
		if strings.HasPrefix(name, "unix:") {
			return "", fmt.Errorf("the client certificate's subject %q names a unix socket principal, which only the socket's peer credentials can prove; issue the certificate for another name", name)
		}
		return name, nil
	}
	return "", errors.New("no credentials: send a bearer token (--token or NEXUS_TOKEN), a client certificate to a mutual-TLS listener (NEXUS_CLIENT_CERT and NEXUS_CLIENT_KEY), or use the unix socket")
}
