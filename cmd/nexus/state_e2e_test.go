package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nexus-run/nexus/internal/state"
	filestate "github.com/nexus-run/nexus/internal/state/file"
)

const stateTopology = `
module "a" "x" { kind = "target" }
module "a" "proc" {
  kind  = "exec"
  state = "%s"
  config { command = ["sleep", "3001"] }
}
`

// TestE2E_stateCommands drives state pull, push, rm, history and
// force-unlock through the daemon, with their refusals, and checks that
// each is audited.
func TestE2E_stateCommands(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	writeTopology(t, dir, fmt.Sprintf(stateTopology, "started"))
	d.mustNexus("apply", "--auto-approve", "topo")

	// pull writes what plan --state reads: planning against it finds
	// nothing to do.
	pulled := d.mustNexus("state", "pull").stdout
	doc, err := state.Decode([]byte(pulled))
	if err != nil {
		t.Fatalf("state pull is not a state document: %v\n%s", err, pulled)
	}
	if len(doc.Modules) != 2 || doc.Lineage == "" || doc.Serial == 0 {
		t.Fatalf("state pull got: %d modules, lineage %q, serial %d", len(doc.Modules), doc.Lineage, doc.Serial)
	}
	writeState(t, dir, "pulled.json", doc)
	if r := d.nexus("", "plan", "--state", "pulled.json", "--detailed-exitcode", "topo"); r.code != 0 {
		t.Errorf("plan --state of the pulled state: exit %d, want 0 (no changes)\n%s%s", r.code, r.stdout, r.stderr)
	}

	if r := d.mustNexus("state", "history"); !strings.Contains(r.stdout, "SERIAL") || !strings.Contains(r.stdout, fmt.Sprintf("%d ", doc.Serial)) {
		t.Errorf("state history lacks serial %d:\n%s", doc.Serial, r.stdout)
	}

	// push: refused unless the lineage matches and the serial is newer.
	if r := d.nexus("", "state", "push", "pulled.json"); r.code != 1 || !strings.Contains(r.stderr, "not newer") {
		t.Errorf("push of the same serial: exit %d\n%s", r.code, r.stderr)
	}
	other := doc.Clone()
	other.Lineage, other.Serial = uuid.NewString(), doc.Serial+10
	writeState(t, dir, "other.json", other)
	if r := d.nexus("", "state", "push", "other.json"); r.code != 1 || !strings.Contains(r.stderr, "lineage") {
		t.Errorf("push of another lineage: exit %d\n%s", r.code, r.stderr)
	}
	newer := doc.Clone()
	newer.Serial++
	writeState(t, dir, "newer.json", newer)
	if r := d.mustNexus("state", "push", "newer.json"); !strings.Contains(r.stdout, "Pushed") {
		t.Errorf("push of a newer serial: %s", r.stdout)
	}
	d.mustNexus("state", "push", "--force", "other.json")
	if got := pullState(t, d); got.Lineage != doc.Lineage || got.Serial <= newer.Serial {
		t.Errorf("after push --force got lineage %s serial %d, want the project's lineage %s and a serial above %d", got.Lineage, got.Serial, doc.Lineage, newer.Serial)
	}

	// rm: refused while the module runs, or for an address the state lacks.
	if r := d.nexus("", "state", "rm", "module.a.proc"); r.code != 1 || !strings.Contains(r.stderr, "is running") {
		t.Errorf("rm of a running module: exit %d\n%s", r.code, r.stderr)
	}
	if r := d.nexus("", "state", "rm", "module.a.nope"); r.code != 1 || !strings.Contains(r.stderr, "has no module.a.nope") {
		t.Errorf("rm of an unknown address: exit %d\n%s", r.code, r.stderr)
	}
	writeTopology(t, dir, fmt.Sprintf(stateTopology, "stopped"))
	d.mustNexus("apply", "--auto-approve", "topo")
	if r := d.mustNexus("state", "rm", "module.a.proc"); !strings.Contains(r.stdout, "Removed 1 modules") {
		t.Errorf("rm of a stopped module: %s", r.stdout)
	}
	if r := d.mustNexus("state", "list"); strings.TrimSpace(r.stdout) != "module.a.x" {
		t.Errorf("state list after rm got: %q", r.stdout)
	}

	// force-unlock: a lock another process holds is refused (its flock
	// goes with it), an unknown id is not found.
	store, err := filestate.New(filepath.Join(dir, ".nexus", "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Lock(ctx, "default", state.LockInfo{ID: "held-by-test", Operation: "test", Who: "the test", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := d.nexus("", "apply", "--auto-approve", "--lock-timeout", "0s", "topo"); r.code != 1 || !strings.Contains(r.stderr, "held-by-test") || !strings.Contains(r.stderr, "the test") {
		t.Errorf("apply while another process holds the lock: exit %d\n%s", r.code, r.stderr)
	}
	if r := d.nexus("", "force-unlock", "held-by-test"); r.code != 1 || !strings.Contains(r.stderr, "another running process") {
		t.Errorf("force-unlock of another process's lock: exit %d\n%s", r.code, r.stderr)
	}
	if err := store.Unlock(ctx, "default", "held-by-test"); err != nil {
		t.Fatal(err)
	}
	if r := d.nexus("", "force-unlock", "no-such-lock"); r.code != 1 || !strings.Contains(r.stderr, "holds no lock with id no-such-lock") {
		t.Errorf("force-unlock of an unknown id: exit %d\n%s", r.code, r.stderr)
	}
	forceUnlockStuckApply(t, d, dir)

	// Each of them is audited with its principal and outcome.
	type rec struct {
		Type, Principal, Outcome string
		Details                  map[string]string
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(d.mustNexus("audit", "--json").stdout), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit --json line %q: %v", line, err)
		}
		if (r.Type == "state.read" || r.Type == "state.edit") && r.Principal != "" {
			got = append(got, r.Type+" "+r.Details["operation"]+" "+r.Outcome)
		}
	}
	for _, want := range []string{
		"state.read read ok", "state.read history ok",
		"state.edit push error", "state.edit push ok",
		"state.edit rm error", "state.edit rm ok",
		"state.edit force-unlock error", "state.edit force-unlock ok",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the audit log lacks %q; it has:\n%s", want, strings.Join(got, "\n"))
		}
	}
	d.stop()
}

var lockID = regexp.MustCompile(`lock ([0-9a-f-]{36}) held by`)

// forceUnlockStuckApply holds the lock with an apply that waits for a
// gate, and releases it with force-unlock.
func forceUnlockStuckApply(t *testing.T, d *daemonProc, dir string) {
	t.Helper()
	gate := filepath.Join(dir, "gate")
	writeTopology(t, dir, fmt.Sprintf(`
module "a" "x" { kind = "target" }
module "a" "slow" {
  kind = "exec"
  config { command = ["sleep", "3002"] }
  health {
    exec     = ["test", "-f", %q]
    interval = "100ms"
  }
  timeouts { start = "60s" }
}
module "a" "after" {
  kind       = "target"
  depends_on = [module.a.slow]
}
`, gate))
	first := make(chan result, 1)
	go func() { first <- d.nexus("", "apply", "--auto-approve", "topo") }()
	waitFor(t, "the apply to hold the lock", 20*time.Second, func() bool {
		return d.status().states()["module.a.slow"] == "started"
	})
	r := d.nexus("", "apply", "--auto-approve", "--lock-timeout", "0s", "topo")
	m := lockID.FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil {
		t.Fatalf("a second apply: exit %d, want a lock error naming the lock id\n%s", r.code, r.stderr)
	}
	if r := d.mustNexus("force-unlock", m[1]); !strings.Contains(r.stdout, "Released lock "+m[1]) {
		t.Errorf("force-unlock got: %s", r.stdout)
	}
	if r := d.nexus("", "force-unlock", m[1]); r.code != 1 {
		t.Errorf("a second force-unlock of the same id: exit %d, want 1", r.code)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := <-first; r.code != 0 {
		t.Errorf("the apply whose lock was released: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func writeState(t *testing.T, dir, name string, s *state.State) {
	t.Helper()
	buf, err := state.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o600); err != nil {
		t.Fatal(err)
	}
}

func pullState(t *testing.T, d *daemonProc) *state.State {
	t.Helper()
	s, err := state.Decode([]byte(d.mustNexus("state", "pull").stdout))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
