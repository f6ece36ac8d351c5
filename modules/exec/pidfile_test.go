package exec

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

// orphanGroup starts, outside any module, what a killed daemon leaves: the
// helper leading its own process group with two children. It returns the
// leader's command and every process of the group.
func orphanGroup(t *testing.T) (*osexec.Cmd, []proc) {
	t.Helper()
	cmd := osexec.Command(helperPath, "fork", "2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	procs := []proc{procOf(t, cmd.Process.Pid)}
	sc := bufio.NewScanner(out)
	for len(procs) < 3 && sc.Scan() {
		pid, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "child "))
		if err != nil {
			t.Fatalf("helper said %q", sc.Text())
		}
		procs = append(procs, procOf(t, pid))
	}
	if len(procs) < 3 {
		t.Fatalf("got: %d processes, want: the leader and 2 children", len(procs))
	}
	return cmd, procs
}

func TestInit_killsWhatAPreviousDaemonLeft(t *testing.T) {
	tests := map[string]struct {
		killLeader bool   // as Pdeathsig does when the daemon dies
		startDelta uint64 // recorded start time off by this: another process
		bootID     string // recorded boot id; "" for this boot's
		wantKilled bool
	}{
		"leader alive":                  {wantKilled: true},
		"leader killed, children left":  {killLeader: true, wantKilled: true},
		"pid reused by another process": {startDelta: 1, wantKilled: false},
		"record of another boot":        {bootID: "00000000-0000-0000-0000-000000000000", wantKilled: false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cmd, procs := orphanGroup(t)
			dataDir := t.TempDir()
			boot := tt.bootID
			if boot == "" {
				boot = procgroup.BootID()
			}
			rec := pidRecord{PGID: procs[0].pid, StartTime: procs[0].start + tt.startDelta, BootID: boot}
			if err := writePidfile(filepath.Join(dataDir, "exec.pid"), rec); err != nil {
				t.Fatal(err)
			}
			if tt.killLeader {
				cmd.Process.Kill()
				cmd.Wait()
			}
			_, inst := newExec(t, map[string]cty.Value{"command": helper("sleep", "1h")}, modules.InstanceOptions{DataDir: dataDir})
			kindtest.Do(t, inst, modules.TransitionInit)
			for _, p := range procs[1:] {
				if p.gone() != tt.wantKilled {
					t.Errorf("child %d: got: gone %v, want: %v", p.pid, p.gone(), tt.wantKilled)
				}
			}
			if _, err := os.Stat(filepath.Join(dataDir, "exec.pid")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got: pid file after Init (%v), want: removed", err)
			}
		})
	}
}

func TestInit_ignoresAnUnreadablePidFile(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "exec.pid")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, inst := newExec(t, map[string]cty.Value{"command": helper("sleep", "1h")}, modules.InstanceOptions{DataDir: dataDir})
	kindtest.Do(t, inst, modules.TransitionInit)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: pid file kept (%v), want: removed", err)
	}
}

func TestExec_startRecordsThePidFile(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{"command": helper("sleep", "1h")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	rec, err := readPidfile(filepath.Join(inst.Context().DataDir(), "exec.pid"))
	if err != nil {
		t.Fatal(err)
	}
	p := procOf(t, healthPid(t, inst))
	if rec.PGID != p.pid || rec.StartTime != p.start || rec.BootID != procgroup.BootID() {
		t.Errorf("got: %+v, want: pgid %d, start %d, this boot", rec, p.pid, p.start)
	}
	if left, err := leftovers(rec, procgroup.BootID()); err != nil || len(left) != 1 {
		t.Errorf("got: %v, %v, want: the running leader recognised as ours", left, err)
	}
}
