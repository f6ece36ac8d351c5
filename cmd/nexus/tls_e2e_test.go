package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA made for one test, writing its PEM files into dir.
type pki struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	p := &pki{t: t, dir: dir}
	p.key = p.newKey()
	tmpl := &x509.Certificate{SerialNumber: p.serial(), Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	if p.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.write(name+".pem", "CERTIFICATE", der)
	return p
}

// issue writes name.crt and name.key: a server certificate for 127.0.0.1,
// or a client one with subject CN name.
func (p *pki) issue(name string, server bool) (certFile, keyFile string) {
	p.t.Helper()
	key := p.newKey()
	tmpl := &x509.Certificate{SerialNumber: p.serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(name+".crt", "CERTIFICATE", der), p.write(name+".key", "PRIVATE KEY", keyDER)
}

func (p *pki) write(name, typ string, der []byte) string {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

func (p *pki) newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

func (p *pki) serial() *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// TestE2E_cliOverMutualTLS: the CLI reaches a daemon's mutual-TLS listener
// with NEXUS_CACERT, NEXUS_CLIENT_CERT and NEXUS_CLIENT_KEY; the principal
// is the certificate's CN; a certificate of another CA is refused.
func TestE2E_cliOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pkiDir := t.TempDir()
	ca := newPKI(t, pkiDir, "ca")
	// The same name, another key: the client sends its certificate, and
	// the daemon refuses it in the handshake.
	rogue := newPKI(t, t.TempDir(), "ca")
	serverCert, serverKey := ca.issue("server", true)
	botCert, botKey := ca.issue("deploy-bot", false)
	rogueCert, rogueKey := rogue.issue("deploy-bot", false)
	port, plain := freePort(t), freePort(t)
	writeDaemonConfig(t, dir, plain, fmt.Sprintf(`
listener "tcp" {
  address = "127.0.0.1:%d"
  tls {
    cert_file      = %q
    key_file       = %q
    client_ca_file = %q
  }
}
role "viewer" { permissions = ["status.read"] }
principal "deploy-bot" { roles = ["viewer"] }
`, port, serverCert, serverKey, filepath.Join(pkiDir, "ca.pem")))
	d := &daemonProc{t: t, dir: dir, sock: filepath.Join(dir, ".nexus", "nexus.sock"), http: fmt.Sprintf("http://127.0.0.1:%d", plain)}
	d.start()

	addr := fmt.Sprintf("NEXUS_ADDR=https://127.0.0.1:%d", port)
	caEnv := "NEXUS_CACERT=" + filepath.Join(pkiDir, "ca.pem")
	tests := map[string]struct {
		env      []string
		wantCode int
		want     string
	}{
		"client certificate":          {[]string{addr, caEnv, "NEXUS_CLIENT_CERT=" + botCert, "NEXUS_CLIENT_KEY=" + botKey}, 0, ""},
		"role lacks the verb":         {[]string{addr, caEnv, "NEXUS_CLIENT_CERT=" + botCert, "NEXUS_CLIENT_KEY=" + botKey}, 1, `"state.read" is missing`},
		"no client certificate":       {[]string{addr, caEnv}, 1, "NEXUS_CLIENT_CERT"},
		"certificate of another CA":   {[]string{addr, caEnv, "NEXUS_CLIENT_CERT=" + rogueCert, "NEXUS_CLIENT_KEY=" + rogueKey}, 1, "tls: "},
		"daemon's CA not trusted":     {[]string{addr, "NEXUS_CLIENT_CERT=" + botCert, "NEXUS_CLIENT_KEY=" + botKey}, 1, "NEXUS_CACERT"},
		"a certificate without a key": {[]string{addr, caEnv, "NEXUS_CLIENT_CERT=" + botCert}, 1, "NEXUS_CLIENT_KEY"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			args := []string{"status"}
			if name == "role lacks the verb" {
				args = []string{"state", "list"}
			}
			r := run(t, dir, "", tt.env, args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("got exit %d\n%s%s\nwant exit %d naming %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.want)
			}
		})
	}
	d.stop()
}
