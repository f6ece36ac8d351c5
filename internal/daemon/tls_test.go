package daemon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate: a server one for 127.0.0.1 when server,
// else a client one with subject CN cn.
func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"nexus tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// writePair writes a certificate and its key as PEM files into dir.
func writePair(t *testing.T, dir, name string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// tlsHarness is a daemon whose TCP listener serves TLS with a certificate
// of ca and, when mutual, asks for client certificates of ca.
func tlsHarness(t *testing.T, ca *testCA, mutual bool, principals ...daemoncfg.Principal) (*harness, string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, "server", ca.issue(t, "nexus daemon", true))
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	var addr string
	h := startHarness(t, func(c *daemoncfg.Config) {
		tlsCfg := &daemoncfg.TLS{CertFile: certFile, KeyFile: keyFile}
		if mutual {
			tlsCfg.ClientCAFile = caFile
		}
		c.Listeners[1].TLS = tlsCfg
		addr = "https://" + c.Listeners[1].Address
		c.Principals = append(c.Principals, principals...)
	})
	return h, addr
}

// httpsClient trusts ca and presents cert when it is non-nil.
func httpsClient(ca *testCA, cert *tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func get(c *http.Client, url string, header map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func TestTLS_bearerTokenOverTLS(t *testing.T) {
	ca := newCA(t, "nexus test CA")
	_, addr := tlsHarness(t, ca, false)
	c := httpsClient(ca, nil)
	if st, body, err := get(c, addr+"/v1/status", bearer(operatorToken)); err != nil || st != 200 {
		t.Errorf("operator over TLS got: %d %s %v", st, truncate(body, 200), err)
	}
	if st, body, err := get(c, addr+"/v1/status", nil); err != nil || st != 401 || apiError(t, body).Code != api.CodeUnauth {
		t.Errorf("no token over TLS got: %d %s %v\nwant: 401", st, truncate(body, 200), err)
	}
	// A client that does not trust the daemon's CA gets no answer at all.
	if _, _, err := get(&http.Client{Timeout: time.Minute}, addr+"/v1/status", bearer(operatorToken)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the CA got: %v\nwant: a certificate error", err)
	}
}

func TestTLS_mutual(t *testing.T) {
	ca := newCA(t, "nexus test CA")
	rogue := newCA(t, "nexus test CA") // same name, another key
	h, addr := tlsHarness(t, ca, true,
		daemoncfg.Principal{Name: "deploy-bot", Roles: []string{"viewer"}})
	bot := ca.issue(t, "deploy-bot", false)
	stranger := ca.issue(t, "stranger", false)
	rogueBot := rogue.issue(t, "deploy-bot", false)
	// The daemon's own uid is admin on the socket; a certificate for it
	// must not be.
	unixRoot := ca.issue(t, fmt.Sprintf("unix:%d", os.Getuid()), false)

	tests := map[string]struct {
		cert       *tls.Certificate
		header     map[string]string
		path       string
		wantStatus int
		wantErr    string // a TLS-level refusal: no HTTP answer
		wantInMsg  []string
		wantMiss   []api.Missing
	}{
		"client certificate: principal is its CN": {cert: &bot, path: "/v1/status", wantStatus: 200},
		"client certificate: CN's role lacks the verb": {cert: &bot, path: "/v1/state", wantStatus: 403,
			wantInMsg: []string{"deploy-bot", "state.read"}, wantMiss: []api.Missing{{Permission: "state.read"}}},
		"client certificate of an undeclared CN": {cert: &stranger, path: "/v1/status", wantStatus: 403,
			wantInMsg: []string{"stranger"}},
		"client certificate of another CA": {cert: &rogueBot, path: "/v1/status", wantErr: "certificate"},
		"client certificate naming a unix principal": {cert: &unixRoot, path: "/v1/status", wantStatus: 401,
			wantInMsg: []string{"unix socket principal"}},
		"no client certificate, no token":         {path: "/v1/status", wantStatus: 401, wantInMsg: []string{"no credentials"}},
		"no client certificate, a token":          {header: bearer(operatorToken), path: "/v1/state/history", wantStatus: 200},
		"a wrong token beside a good certificate": {cert: &bot, header: bearer("wrong"), path: "/v1/status", wantStatus: 401},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st, body, err := get(httpsClient(ca, tt.cert), addr+tt.path, tt.header)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got: %d %s %v\nwant: refused at the TLS layer (%s)", st, truncate(body, 200), err, tt.wantErr)
				}
				return
			}
			if err != nil || st != tt.wantStatus {
				t.Fatalf("got: %d %s %v\nwant: %d", st, truncate(body, 300), err, tt.wantStatus)
			}
			if st < 400 {
				return
			}
			e := apiError(t, body)
			for _, s := range tt.wantInMsg {
				if !strings.Contains(e.Message, s) {
					t.Errorf("got: message %q\nwant: it to name %s", e.Message, s)
				}
			}
			if tt.wantMiss != nil && !slices.Equal(e.Missing, tt.wantMiss) {
				t.Errorf("got: missing %+v\nwant: %+v", e.Missing, tt.wantMiss)
			}
		})
	}
	var principals []string
	for _, r := range auditRecords(t, h) {
		if r.Type == "denied" && r.Principal != "" {
			principals = append(principals, r.Principal)
		}
	}
	slices.Sort(principals)
	if want := []string{"deploy-bot", "stranger"}; !slices.Equal(principals, want) {
		t.Errorf("got: denials audited for %v\nwant: %v", principals, want)
	}
}
