package examples_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/secrets/vault/vaulttest"
)

// topologies are the example directories of *.nexus.hcl files, the binary
// that knows their kinds, and how many modules each declares.
var topologies = []struct {
	dir     string
	bin     *string
	modules int
}{
	{"quickstart", &nexusBin, 3},
	{"vault", &nexusBin, 3},
	{"postgres-state", &nexusBin, 2},
	{"multi-team/payments", &nexusBin, 2},
	{"multi-team/search", &nexusBin, 2},
	{"custom-module", &helloBin, 2},
}

// TestExamples_validateAndPlanOffline runs what every example's comments
// say works anywhere: validate, an offline plan against an empty state,
// and fmt --check (the examples are written in the canonical style).
func TestExamples_validateAndPlanOffline(t *testing.T) {
	needBinaries(t)
	for _, tt := range topologies {
		t.Run(tt.dir, func(t *testing.T) {
			dir := example(tt.dir)
			work := t.TempDir()
			r := mustRun(t, 0, work, nil, *tt.bin, "validate", "--no-color", dir)
			wantAll(t, "validate", r.stdout, fmt.Sprintf("Success! The configuration is valid: %d modules.", tt.modules))
			r = mustRun(t, 2, work, nil, *tt.bin, "plan", "--no-color", "--detailed-exitcode", "--state", filepath.Join(work, "none.json"), dir)
			wantAll(t, "plan", r.stdout, fmt.Sprintf("Plan: %d to create, 0 to update, 0 to replace, 0 to destroy.", tt.modules))
			mustRun(t, 0, work, nil, *tt.bin, "fmt", "--check", "--diff", dir)
		})
	}
}

// TestExamples_everyTopologyIsExercised fails when an example directory of
// *.nexus.hcl files is missing from the table above.
func TestExamples_everyTopologyIsExercised(t *testing.T) {
	known := map[string]bool{}
	for _, tt := range topologies {
		known[tt.dir] = true
	}
	root := filepath.Join(repoRoot(), "examples")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".nexus.hcl") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if !known[rel] && !strings.Contains(rel, ".nexus") {
			t.Errorf("examples/%s holds a topology no test validates: add it to topologies", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExamples_daemonConfigsLoad loads every example's nexusd.hcl as the
// daemon does, with every env() call answered, and checks that it is in
// the canonical style.
func TestExamples_daemonConfigsLoad(t *testing.T) {
	needBinaries(t)
	paths, err := filepath.Glob(filepath.Join(repoRoot(), "examples", "*", "nexusd.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("found %d daemon configs, want one per example that runs a daemon: %v", len(paths), paths)
	}
	env := func(name string) (string, bool) { return "postgres://x/" + name, true }
	for _, p := range paths {
		name, _ := filepath.Rel(repoRoot(), p)
		t.Run(name, func(t *testing.T) {
			cfg, _, diags := daemoncfg.LoadFile(p, env)
			if diags.HasErrors() {
				t.Fatalf("%s: %v", name, diags)
			}
			if len(cfg.Listeners) == 0 || cfg.DataDir == "" {
				t.Errorf("got %+v", cfg)
			}
			mustRun(t, 0, t.TempDir(), nil, nexusBin, "fmt", "--check", "--diff", p)
		})
	}
}

// TestExample_vault runs the vault example against a fake Vault: the
// daemon logs in with AppRole, the heartbeat sends the key it read from
// Vault, and the key appears nowhere but on the wire.
func TestExample_vault(t *testing.T) {
	needBinaries(t)
	const apiKey = "vault-held-api-key-5e1f"
	v := vaulttest.New(t)
	v.MountKV("", "kv", 2)
	v.Put("", "kv", "heartbeat", map[string]any{"api_key": apiKey})
	v.Put("", "kv", "reports", map[string]any{"token": "report-token"})
	const tlsKey = "vault-held-tls-key-77c2"
	v.Put("", "kv", "proxy", map[string]any{"tls_key": tlsKey})
	v.AddAppRole(vaulttest.AppRole{RoleName: "nexus", RoleID: "role-nexus", SecretID: "secret-id-1", Allow: []string{"kv/*"}})

	var mu sync.Mutex
	var bearers []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		bearers = append(bearers, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()

	dir, httpAddr := copyExample(t, "vault")
	secretIDFile := filepath.Join(dir, "vault-secret-id")
	if err := os.WriteFile(secretIDFile, []byte("secret-id-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nexusBin, dir, httpAddr,
		"VAULT_ADDR="+v.URL(), "VAULT_ROLE_ID=role-nexus", "VAULT_SECRET_ID_FILE="+secretIDFile)

	r := d.nexus("apply", "--auto-approve", "--no-color", "--var", "collector_url="+sink.URL+"/beat", ".")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	wantAll(t, "apply", r.stdout, "(secret: vault kv/heartbeat#api_key)", "(secret: vault kv/proxy#tls_key)", "Apply complete! 3 changed")
	keyFile := filepath.Join(dir, ".nexus", "projects", "vault-demo", "modules", "web.proxy", "secrets", "tls.key")
	if b, err := os.ReadFile(keyFile); err != nil || string(b) != tlsKey {
		t.Errorf("the proxy's tls.key: got %q, %v; want the key from Vault", b, err)
	}
	waitFor(t, "a beat carrying the key from Vault", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bearers {
			if b == "Bearer "+apiKey {
				return true
			}
		}
		return false
	})

	pulled := d.nexus("state", "pull", "--project", "vault-demo")
	if pulled.code != 0 {
		t.Fatalf("state pull: %s", pulled)
	}
	d.nexus("destroy", "--auto-approve", ".")
	d.stop()
	leaks := map[string]string{"the plan and apply output": r.stdout, "the state": pulled.stdout}
	for _, f := range []string{".nexus/audit.log", "daemon.out"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		leaks[f] = string(b)
	}
	for where, text := range leaks {
		if strings.Contains(text, apiKey) || strings.Contains(text, tlsKey) {
			t.Errorf("the secret's value leaked into %s", where)
		}
	}
}

// postgresDSN is the test server: NEXUS_TEST_POSTGRES_DSN, or the local one.
func postgresDSN() string {
	if d := os.Getenv("NEXUS_TEST_POSTGRES_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// postgresSchema creates a schema for one test, dropped when it ends, and
// returns a DSN whose search_path selects it, as the example's comments
// say to. It fails, saying how to start the server, when PostgreSQL cannot
// be reached: make test must never skip it silently.
func postgresSchema(t *testing.T) (dsn, schema string, conn *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, postgresDSN())
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable (%v).\nStart it (trust auth for user postgres, a database named test), "+
			"or point NEXUS_TEST_POSTGRES_DSN at a server.", err)
	}
	schema = "nexus_example_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	u, err := url.Parse(postgresDSN())
	if err != nil {
		t.Fatalf("NEXUS_TEST_POSTGRES_DSN must be a URL for this test: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema, conn
}

// TestExample_postgresState applies the postgres-state example with its
// state in PostgreSQL, restarts the daemon and sees the modules come back
// from the database, then destroys them.
func TestExample_postgresState(t *testing.T) {
	needBinaries(t)
	dsn, schema, conn := postgresSchema(t)
	u, _ := url.Parse(dsn)
	dir, httpAddr := copyExample(t, "postgres-state")
	d := startDaemon(t, nexusBin, dir, httpAddr, "NEXUS_STATE_DSN="+dsn)

	r := d.nexus("apply", "--auto-approve", "--no-color", "--var", "postgres_addr="+u.Host, ".")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	wantAll(t, "apply", r.stdout, "Apply complete! 2 changed")
	rows := func() []string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs, err := conn.Query(ctx, "SELECT address FROM "+pgx.Identifier{schema, "nexus_state_modules"}.Sanitize()+" WHERE project = 'pg-demo' ORDER BY address")
		if err != nil {
			t.Fatal(err)
		}
		addrs, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return addrs
	}
	if got := strings.Join(rows(), " "); got != "module.app.worker module.db.reachable" {
		t.Fatalf("got: rows %q in %s.nexus_state_modules\nwant: the two modules", got, schema)
	}

	d.stop()
	d.start()
	waitFor(t, "the modules to come back from the PostgreSQL state", time.Minute, func() bool {
		return strings.Count(d.nexus("status", "--no-color", "--project", "pg-demo").stdout, "started") == 2
	})
	if r := d.nexus("plan", "--detailed-exitcode", "--var", "postgres_addr="+u.Host, "."); r.code != 0 {
		t.Errorf("after the restart, want no changes: %s", r)
	}
	if r := d.nexus("destroy", "--auto-approve", "."); r.code != 0 {
		t.Fatalf("destroy: %s", r)
	}
	if got := rows(); len(got) != 0 {
		t.Errorf("got: rows %q after destroy\nwant: none", got)
	}
}

// The demo tokens of examples/multi-team (their hashes are in its nexusd.hcl).
const (
	paymentsToken = "demo-payments-token-CHANGE-ME"
	searchToken   = "demo-search-token-CHANGE-ME"
	oncallToken   = "demo-oncall-token-CHANGE-ME"
)

// TestExample_multiTeam starts a daemon with the multi-team config and shows
// that each team's token applies its own modules and not the other's, and
// that the viewer can look but not touch.
func TestExample_multiTeam(t *testing.T) {
	needBinaries(t)
	dir, httpAddr := copyExample(t, "multi-team")
	d := startDaemon(t, nexusBin, dir, httpAddr)
	as := func(token string, args ...string) result {
		t.Helper()
		env := []string{"NEXUS_ADDR=http://" + httpAddr, "NEXUS_TOKEN=" + token}
		return run(t, dir, env, nexusBin, append([]string{"--no-color"}, args...)...)
	}

	if r := as(paymentsToken, "apply", "--auto-approve", "payments"); r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 2 changed") {
		t.Fatalf("payments applying its own topology: %s", r)
	}
	r := as(paymentsToken, "apply", "--auto-approve", "search")
	if r.code != 1 {
		t.Fatalf("payments applying search's topology: want a denial, got %s", r)
	}
	wantAll(t, "the denial", r.stderr, `permission denied for principal "ci-payments": missing`,
		"heartbeat.send, team.search for module.search.heartbeat", "team.search for module.search.indexer")

	if r := as(searchToken, "apply", "--auto-approve", "search"); r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 2 changed") {
		t.Fatalf("search applying its own topology: %s", r)
	}
	if r := as(searchToken, "destroy", "--auto-approve", "payments"); r.code != 1 || !strings.Contains(r.stderr, "team.payments for module.payments.api") {
		t.Errorf("search destroying payments: want a denial naming team.payments, got %s", r)
	}
	// Dropping the owner's tag does not help: the module's recorded
	// permissions are needed to replace it.
	src, err := os.ReadFile(filepath.Join(dir, "payments", "payments.nexus.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	takeover := strings.NewReplacer("permissions = local.owner", "permissions = []", `"sleep", "infinity"`, `"sleep", "31337"`).Replace(string(src))
	if err := os.MkdirAll(filepath.Join(dir, "takeover"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "takeover", "main.nexus.hcl"), []byte(takeover), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := as(searchToken, "apply", "--auto-approve", "takeover"); r.code != 1 || !strings.Contains(r.stderr, "team.payments for module.payments.api") {
		t.Errorf("search replacing payments' module without its tag: want a denial naming team.payments, got %s", r)
	}

	status := as(oncallToken, "status")
	if status.code != 0 || strings.Count(status.stdout, "started") != 4 {
		t.Errorf("the viewer's status: want the 4 modules started, got %s", status)
	}
	r = as(oncallToken, "destroy", "--auto-approve", "payments")
	if r.code != 1 {
		t.Fatalf("the viewer destroying: want a denial, got %s", r)
	}
	wantAll(t, "the viewer's denial", r.stderr, "oncall may not POST /v1/apply", `the permission "apply" is missing`)
	audit := as(oncallToken, "audit", "--since", "1h")
	wantAll(t, "the audit log", audit.stdout, "denied  ", "ci-payments", "oncall")
	if r := as("not-a-token", "status"); r.code != 1 || !strings.Contains(r.stderr, "the token is not valid") {
		t.Errorf("an unknown token: got %s", r)
	}

	// The daemon's own uid, on the socket, is an admin: it cleans up.
	for _, team := range []string{"payments", "search"} {
		if r := d.nexus("destroy", "--auto-approve", team); r.code != 0 {
			t.Errorf("admin destroy %s: %s", team, r)
		}
	}
}

// TestExample_customModule builds nexus-hello (TestMain did), runs the
// topology with it, and shows a stock nexus planning against its daemon.
func TestExample_customModule(t *testing.T) {
	needBinaries(t)
	// A stock build does not know the kind, and says so.
	r := mustRun(t, 1, t.TempDir(), nil, nexusBin, "validate", "--no-color", example("custom-module"))
	wantAll(t, "stock validate", r.stderr, "Unsupported module kind", `This nexus build has no module kind "hello"`)

	dir, httpAddr := copyExample(t, "custom-module")
	cfg := fmt.Sprintf("listener \"unix\" {\n  path = \".nexus/nexus.sock\"\n}\nlistener \"tcp\" {\n  address = %q\n}\n", httpAddr)
	if err := os.WriteFile(filepath.Join(dir, "nexusd.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := startDaemon(t, helloBin, dir, httpAddr)
	r = d.nexus("apply", "--auto-approve", "--no-color", "--var", "listen="+listen, ".")
	if r.code != 0 {
		t.Fatalf("a stock client applying hello modules through the custom daemon: %s", r)
	}
	wantAll(t, "apply", r.stdout, "+ module.web.hello (hello 1.0.0)", "Apply complete! 2 changed")
	resp, err := http.Get("http://" + listen + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(body)); got != "Hello from a custom nexus kind!" {
		t.Errorf("got: %q from the hello module", got)
	}
	metrics := d.get("/metrics")
	// The probe module's checks are greetings too: at least the test's one.
	if got := metricValue(metrics, "nexus_hello_greetings_total", `module="web/hello"`); got == "" || got == "0" {
		t.Errorf("got: nexus_hello_greetings_total{module=\"web/hello\"} = %q\nwant: 1 or more", got)
	}
	if got := metricValue(metrics, "nexus_module_ready", `module="web/hello"`); got != "1" {
		t.Errorf("got: nexus_module_ready{module=\"web/hello\"} = %q\nwant: 1", got)
	}
	if r := d.nexus("plan", "--detailed-exitcode", "--var", "listen="+listen, "."); r.code != 0 {
		t.Errorf("plan after apply: want no changes, got %s", r)
	}
	if r := d.nexus("destroy", "--auto-approve", "--var", "listen="+listen, "."); r.code != 0 {
		t.Errorf("destroy: %s", r)
	}
}

// TestExample_systemd checks the unit file: its sections and keys, that its
// ExecStart parses with the real CLI, that the daemon config it runs agrees
// with the directories the unit creates, and systemd-analyze verify when
// the host has systemd.
func TestExample_systemd(t *testing.T) {
	needBinaries(t)
	unitPath := filepath.Join(example("systemd"), "nexus.service")
	unit := parseUnit(t, unitPath)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if unit[s] == nil {
			t.Errorf("nexus.service has no [%s] section", s)
		}
	}
	svc := unit["Service"]
	for key, want := range map[string]string{
		"Type": "exec", "User": "nexus", "KillMode": "mixed", "StateDirectory": "nexus", "RuntimeDirectory": "nexus",
		"LogsDirectory": "nexus", "ConfigurationDirectory": "nexus", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "Delegate": "yes", "ExecReload": "/bin/kill -HUP $MAINPID",
	} {
		if got := svc[key]; got != want {
			t.Errorf("[Service] %s = %q, want %q", key, got, want)
		}
	}
	argv := strings.Fields(svc["ExecStart"])
	if len(argv) < 4 || argv[0] != "/usr/local/bin/nexus" || argv[2] != "--config" {
		t.Fatalf("ExecStart = %q", svc["ExecStart"])
	}
	r := mustRun(t, 0, t.TempDir(), nil, nexusBin, append(argv[1:], "--help")...)
	wantAll(t, "ExecStart's command", r.stdout, "Usage:\n  nexus daemon [flags]")

	cfg, _, diags := daemoncfg.LoadFile(filepath.Join(example("systemd"), "nexusd.hcl"), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for what, path := range map[string]string{"data_dir": cfg.DataDir, "the socket": cfg.SocketPath(), "the audit log": cfg.Audit.Path} {
		if !strings.HasPrefix(path, "/var/lib/nexus") && !strings.HasPrefix(path, "/run/nexus/") && !strings.HasPrefix(path, "/var/log/nexus/") {
			t.Errorf("%s %q is outside the directories the unit creates (ProtectSystem=strict makes the rest read-only)", what, path)
		}
	}
	if argv[3] != "/etc/nexus/nexusd.hcl" {
		t.Errorf("ExecStart's --config %q is not in ConfigurationDirectory /etc/nexus", argv[3])
	}
	systemdVerify(t, unitPath)
}

// parseUnit reads a systemd unit file into section → key → value.
func parseUnit(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var section map[string]string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = map[string]string{}
			out[line[1:len(line)-1]] = section
		case section == nil:
			t.Errorf("%s:%d: %q before any section", path, i+1, line)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.Contains(k, " ") {
				t.Errorf("%s:%d: %q is not Key=Value", path, i+1, line)
				continue
			}
			section[k] = v
		}
	}
	return out
}

// systemdVerify runs systemd-analyze verify on a copy of the unit whose
// ExecStart is the built binary. Keys newer than the host's systemd are
// reported as unknown and ignored by systemd; those are allowed.
func systemdVerify(t *testing.T, unitPath string) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze is not installed; skipping systemd-analyze verify")
		return
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "nexus.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/nexus", nexusBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, t.TempDir(), []string{"SYSTEMD_LOG_COLOR=0"}, analyze, "verify", copyPath)
	newer := map[string]bool{"DelegateSubgroup": true} // systemd 254
	for _, line := range strings.Split(strings.TrimSpace(r.stderr+r.stdout), "\n") {
		if line == "" {
			continue
		}
		if k, ok := unknownKey(line); ok && newer[k] {
			continue
		}
		t.Errorf("systemd-analyze verify: %s", line)
	}
	if r.code != 0 {
		t.Errorf("systemd-analyze verify: %s", r)
	}
}

// unknownKey extracts K from systemd's "Unknown key 'K' in section" warning.
func unknownKey(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, "Unknown key '")
	if !ok {
		return "", false
	}
	k, _, ok := strings.Cut(rest, "'")
	return k, ok
}

// metricValue finds the sample of metric name whose labels include label
// in Prometheus exposition text, and returns its value ("" if none).
func metricValue(exposition, name, label string) string {
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, label) {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return ""
}
