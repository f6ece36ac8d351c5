package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/client"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// TestSecrets_pathsLeavingTheDirRefused: the file provider's confinement
// holds through the API, for writes, deletes and listings; every refusal
// is a 400 naming the path, audited by path, never by value.
func TestSecrets_pathsLeavingTheDirRefused(t *testing.T) {
	h := startHarness(t, nil)
	op := h.tokenClient(operatorToken)
	ctx := context.Background()
	const value = "value-that-must-not-land-anywhere"
	for _, path := range []string{"../x", "../../x", "a/../../x", "/tmp/x", "a/./b", "a//b", ".hidden", "a/", "x\x00y"} {
		t.Run(path, func(t *testing.T) {
			err := op.SecretPut(ctx, &api.SecretRequest{Provider: "file", Path: path, Value: value})
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != 400 || ce.Body.Code != api.CodeBadRequest {
				t.Fatalf("put %q got: %v\nwant: 400 bad_request", path, err)
			}
			err = op.SecretDelete(ctx, &api.SecretRequest{Provider: "file", Path: path})
			if !errors.As(err, &ce) || ce.Status != 400 {
				t.Errorf("rm %q got: %v\nwant: 400", path, err)
			}
		})
	}
	if _, err := op.SecretList(ctx, "file", "../"); !isStatus(err, 400) {
		t.Errorf("ls --prefix ../ got: %v\nwant: 400", err)
	}
	for _, p := range []string{filepath.Join(h.dataDir, "x"), filepath.Join(filepath.Dir(h.dataDir), "x"), "/tmp/x"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused put created %s", p)
		}
	}
	refused := 0
	for _, r := range auditRecords(t, h) {
		if r.Type == audit.TypeSecretWrite && r.Outcome == audit.OutcomeError && r.Principal == "ci@example.com" {
			refused++
		}
	}
	if want := 2 * 9; refused != want {
		t.Errorf("got: %d audited refusals, want: %d", refused, want)
	}
	raw, _ := os.ReadFile(h.cfg.Audit.Path)
	if strings.Contains(string(raw), value) || strings.Contains(h.log.String(), value) {
		t.Error("a refused secret's value reached the audit log or the daemon log")
	}
}

// TestSecrets_symlinkOutsideRefused: a symlink in the secrets dir pointing
// outside it is not followed, neither to read a secret (plan reports it
// missing, without its content) nor to write one.
func TestSecrets_symlinkOutsideRefused(t *testing.T) {
	h := startHarness(t, nil)
	op := h.tokenClient(operatorToken)
	ctx := context.Background()
	outside := t.TempDir()
	const stolen = "content-of-a-file-outside-the-secrets-dir"
	if err := os.WriteFile(filepath.Join(outside, "stolen"), []byte(stolen), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dataDir, "secrets")
	if err := os.Symlink(filepath.Join(outside, "stolen"), filepath.Join(dir, "leak")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "elsewhere")); err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{`secret("file", "leak")`, `secret("file", "elsewhere/stolen")`} {
		src := "module \"a\" \"app\" {\n  kind = \"exec\"\n  config {\n    command = [\"true\"]\n    env = { TOKEN = " + ref + " }\n  }\n}\n"
		resp, err := op.Plan(ctx, &api.PlanRequest{Dir: "topo", Files: map[string][]byte{"main.nexus.hcl": []byte(src)}})
		if !isStatus(err, 422) || resp == nil || len(resp.Diagnostics) == 0 || resp.Diagnostics[0].Summary != "Secret not available" {
			t.Errorf("plan with %s got: %v %+v\nwant: 422 Secret not available", ref, err, resp)
			continue
		}
		if buf, _ := json.Marshal(resp); strings.Contains(string(buf), stolen) {
			t.Errorf("the plan's answer shows the content behind %s", ref)
		}
	}
	err := op.SecretPut(ctx, &api.SecretRequest{Provider: "file", Path: "elsewhere/new", Value: "overwritten"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status/100 != 4 {
		t.Errorf("put elsewhere/new got: %v\nwant: a 4xx refusal", err)
	}
	// Writing over the symlink replaces the link itself, inside the dir.
	if err := op.SecretPut(ctx, &api.SecretRequest{Provider: "file", Path: "leak", Value: "overwritten"}); err != nil {
		t.Errorf("put leak: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "leak")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("after put leak got: %v %v\nwant: a 0600 regular file in place of the link", fi, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("a put through a symlinked directory wrote outside the secrets dir")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "stolen")); string(b) != stolen {
		t.Errorf("a put through a symlink changed the file outside to %q", b)
	}
	if strings.Contains(h.log.String(), stolen) {
		t.Error("the daemon log shows the content behind the symlink")
	}
	raw, _ := os.ReadFile(h.cfg.Audit.Path)
	if strings.Contains(string(raw), stolen) {
		t.Error("the audit log shows the content behind the symlink")
	}
}

// TestSecrets_rotationReloadsAnExecModuleInPlace: a secret rotated in the
// file provider reaches a running exec module with on_secret_change =
// "reload" through its secret file and reload_signal, in the same process;
// the rotation is logged and audited, and neither value lands in the
// daemon's log, the audit log, the state or the status.
func TestSecrets_rotationReloadsAnExecModuleInPlace(t *testing.T) {
	h := startHarness(t, func(c *daemoncfg.Config) { c.SecretCheckInterval = 50 * time.Millisecond })
	oldValue, newValue := "canary-old-"+uuid.NewString(), "canary-new-"+uuid.NewString()
	c := h.admin()
	// Through the daemon, as `nexus secrets put file app/token` writes it.
	writeSecret := func(v string) {
		if err := c.SecretPut(context.Background(), &api.SecretRequest{Provider: "file", Path: "app/token", Value: v}); err != nil {
			t.Fatalf("secrets put: %v", err)
		}
	}
	writeSecret(oldValue)
	// The process prints its pid and a digest of the file at start and at
	// each SIGHUP: the test sees that the value changed, never the value.
	const script = `report() { echo "pid=$$ sum=$(cksum < "$NEXUS_SECRETS_DIR/token")"; }
trap report HUP
report
while :; do sleep 0.05; done`
	sum, err := apply(t, c, plan(t, c, `
module "app" "reader" {
  kind             = "exec"
  on_secret_change = "reload"
  config {
    command       = ["/bin/sh", "-c", `+strconv.Quote(script)+`]
    secret_files  = { token = secret("file", "app/token") }
    reload_signal = "SIGHUP"
  }
}
`))
	if err != nil || sum.Failed > 0 {
		t.Fatalf("apply: %+v, %v", sum, err)
	}
	stdout := filepath.Join(h.dataDir, "projects", "default", "modules", "app.reader", "logs", "stdout.log")
	// reports are the lines "pid=P sum=CRC SIZE" the process printed.
	reports := func() [][]string {
		b, _ := os.ReadFile(stdout)
		var out [][]string
		for l := range strings.Lines(string(b)) {
			if strings.HasSuffix(l, "\n") {
				out = append(out, strings.Fields(l))
			}
		}
		return out
	}
	waitFor(t, "the first report", 10*time.Second, func() bool { return len(reports()) >= 1 })
	writeSecret(newValue)
	waitFor(t, "a report after the rotation", 10*time.Second, func() bool { return len(reports()) >= 2 })
	got := reports()
	if before, after := got[0], got[len(got)-1]; before[0] != after[0] || before[1] == after[1] {
		t.Errorf("reports got: %q\nwant: the same pid, another checksum of the secret file", got)
	}
	waitFor(t, "the rotation in the daemon's log", 10*time.Second, func() bool { return strings.Contains(h.log.String(), `"secret rotated"`) })
	waitFor(t, "the rotation in the audit log", 10*time.Second, func() bool {
		return slices.ContainsFunc(auditRecords(t, h), func(r audit.Record) bool { return r.Type == "module.secret_rotated" })
	})
	doc, err := c.State(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	answers, _ := json.Marshal([]any{doc, st})
	raw, _ := os.ReadFile(h.cfg.Audit.Path)
	for _, v := range []string{oldValue, newValue} {
		for name, text := range map[string]string{"daemon log": h.log.String(), "audit log": string(raw), "state and status": string(answers)} {
			if strings.Contains(text, v) {
				t.Errorf("the secret value reached the %s", name)
			}
		}
	}
}
