package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// startDaemonWith is startDaemon with more daemon config (roles,
// principals, …) appended to the generated file.
func startDaemonWith(t *testing.T, dir, extra string, env ...string) *daemonProc {
	t.Helper()
	port := freePort(t)
	writeDaemonConfig(t, dir, port, extra)
	d := &daemonProc{t: t, dir: dir, sock: filepath.Join(dir, ".nexus", "nexus.sock"), http: fmt.Sprintf("http://127.0.0.1:%d", port), env: env}
	d.start()
	return d
}

func writeDaemonConfig(t *testing.T, dir string, port int, extra string) {
	t.Helper()
	cfg := fmt.Sprintf("daemon {\n  data_dir = %q\n  node = \"test\"\n}\nlistener \"unix\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n}\n%s",
		filepath.Join(dir, ".nexus"), filepath.Join(dir, ".nexus", "nexus.sock"), port, extra)
	if err := os.WriteFile(filepath.Join(dir, "nexusd.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// overTCP runs the CLI against the daemon's TCP listener with a token.
func (d *daemonProc) overTCP(token string, args ...string) result {
	d.t.Helper()
	return run(d.t, d.dir, "", append([]string{"NEXUS_ADDR=" + d.http, "NEXUS_TOKEN=" + token}, d.env...), args...)
}

func TestE2E_secretsPutOutsideTheDirRefused(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	for _, path := range []string{"../x", "../../x", "ok/../../x", "/etc/x"} {
		r := d.nexus("value-of-"+path, "secrets", "put", "file", path)
		if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("%q", path)) {
			t.Errorf("secrets put file %s: got exit %d\n%s", path, r.code, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "value-of-") {
			t.Errorf("secrets put file %s: the value shows in the output", path)
		}
	}
	for _, p := range []string{filepath.Join(dir, ".nexus", "x"), filepath.Join(dir, "x")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused put created %s", p)
		}
	}
	d.nexusIn("s3cr3t", "secrets", "put", "file", "ok/token")
	if r := d.mustNexus("secrets", "ls"); strings.TrimSpace(r.stdout) != "ok/token" {
		t.Errorf("secrets ls got: %q, want: ok/token", r.stdout)
	}
}

// nexusIn runs the CLI with stdin and requires success.
func (d *daemonProc) nexusIn(stdin string, args ...string) result {
	d.t.Helper()
	r := d.nexus(stdin, args...)
	if r.code != 0 {
		d.t.Fatalf("nexus %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// TestE2E_auditVerifyFindsTampering edits, deletes and cuts copies of the
// daemon's own audit log: verify names the line and exits 1.
func TestE2E_auditVerifyFindsTampering(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, `module "a" "x" { kind = "target" }`)
	d.mustNexus("apply", "--auto-approve", "topo")
	d.nexusIn("v", "secrets", "put", "file", "app/token")
	live := filepath.Join(dir, ".nexus", "audit.log")
	orig, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(orig, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty piece after the last newline
	if len(lines) < 6 {
		t.Fatalf("got %d audit records, want at least 6:\n%s", len(lines), orig)
	}
	if r := d.mustNexus("audit", "verify", live); !strings.Contains(r.stdout, "intact") {
		t.Errorf("verify of the live log got: %s", r.stdout)
	}
	join := func(ls [][]byte) []byte { return bytes.Join(ls, nil) }
	edited := make([][]byte, len(lines))
	copy(edited, lines)
	edited[2] = bytes.Replace(lines[2], []byte(`"outcome":"`), []byte(`"outcome":"x`), 1)
	tests := map[string]struct {
		content []byte
		want    []string
	}{
		"an edited line":    {join(edited), []string{"line 3", "edited"}},
		"a deleted line":    {join(append(append([][]byte{}, lines[:3]...), lines[4:]...)), []string{"line 4", "deleted"}},
		"two lines swapped": {join(append(append(append([][]byte{}, lines[:1]...), lines[2], lines[1]), lines[3:]...)), []string{"line 2"}},
		"a truncated file":  {orig[:len(orig)-20], []string{fmt.Sprintf("line %d", len(lines)), "truncated"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(tt.content, orig) {
				t.Fatal("the copy is not tampered with")
			}
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			r := run(t, dir, "", nil, "audit", "verify", path)
			if r.code != 1 {
				t.Fatalf("got exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			for _, s := range tt.want {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
	if after, _ := os.ReadFile(live); !bytes.HasPrefix(after, orig) {
		t.Error("the live audit log changed other than by appending")
	}
}

const tokenConfig = `
role "viewer" { permissions = ["status.read"] }
principal "ci@example.com" {
  token_sha256 = "%s"
  roles        = ["viewer"]
  expires      = "%s"
}
principal "old@example.com" {
  token_sha256 = "%s"
  roles        = ["viewer"]
  expires      = "2020-01-01T00:00:00Z"
}
`

// TestE2E_tokenExpiryAndRevocation: an expired principal's token is
// refused; a principal removed from the config and SIGHUP revokes its
// token; a broken expires keeps the daemon from starting.
func TestE2E_tokenExpiryAndRevocation(t *testing.T) {
	dir := t.TempDir()
	ciHash := strings.TrimSpace(run(t, dir, "ci-token\n", nil, "token", "hash").stdout)
	oldHash := strings.TrimSpace(run(t, dir, "old-token\n", nil, "token", "hash").stdout)
	d := startDaemonWith(t, dir, fmt.Sprintf(tokenConfig, ciHash, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), oldHash))
	if r := d.overTCP("ci-token", "status"); r.code != 0 {
		t.Fatalf("a valid token: exit %d\n%s", r.code, r.stderr)
	}
	if r := d.overTCP("old-token", "status"); r.code != 1 || !strings.Contains(r.stderr, "expired at 2020-01-01T00:00:00Z") {
		t.Errorf("an expired token: exit %d\n%s", r.code, r.stderr)
	}
	if r := d.overTCP("ci-token", "state", "list"); r.code != 1 || !strings.Contains(r.stderr, `"state.read" is missing`) {
		t.Errorf("a token without state.read: exit %d\n%s", r.code, r.stderr)
	}

	// Revoke: the principal leaves the config, SIGHUP reloads it.
	port := strings.TrimPrefix(d.http, "http://127.0.0.1:")
	var portN int
	fmt.Sscan(port, &portN)
	writeDaemonConfig(t, dir, portN, `role "viewer" { permissions = ["status.read"] }`)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload to revoke the token", 20*time.Second, func() bool {
		r := d.overTCP("ci-token", "status")
		return r.code == 1 && strings.Contains(r.stderr, "not valid")
	})
	if r := d.mustNexus("status"); r.code != 0 {
		t.Errorf("the socket after the reload: exit %d", r.code)
	}
	d.stop()

	bad := t.TempDir()
	writeDaemonConfig(t, bad, freePort(t), "role \"r\" { permissions = [] }\nprincipal \"p\" {\n  roles   = [\"r\"]\n  expires = \"next tuesday\"\n}\n")
	r := run(t, bad, "", nil, "daemon", "--config", "nexusd.hcl", "--no-color")
	if r.code != 1 || !strings.Contains(r.stderr, "Invalid expiry time") || !strings.Contains(r.stderr, "nexusd.hcl") {
		t.Errorf("a daemon config with a bad expires: exit %d\n%s", r.code, r.stderr)
	}
}

// TestE2E_tokenNeverSentInClear: the CLI refuses to send a token over
// plain HTTP to anything but loopback, before connecting.
func TestE2E_tokenNeverSentInClear(t *testing.T) {
	ip := nonLoopbackIP(t)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	var got atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			got.Add(1)
		}
		w.WriteHeader(500)
	})}
	go srv.Serve(l)
	defer srv.Close()
	addr := "http://" + l.Addr().String()
	r := run(t, t.TempDir(), "", []string{"NEXUS_ADDR=" + addr, "NEXUS_TOKEN=precious"}, "status")
	if r.code != 1 || !strings.Contains(r.stderr, "https://") || strings.Contains(r.stderr, "precious") {
		t.Errorf("got exit %d\n%s", r.code, r.stderr)
	}
	if got.Load() != 0 {
		t.Error("the token reached a plain-HTTP server on the network")
	}
}

func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}
