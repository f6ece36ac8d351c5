package procgroup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(t *testing.T, script string, stdout, stderr io.Writer) *Group {
	t.Helper()
	g, err := Start(exec.Command("/bin/sh", "-c", script), stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Terminate(context.Background(), syscall.SIGKILL, 0) })
	return g
}

func waitDone(t *testing.T, g *Group) {
	t.Helper()
	select {
	case <-g.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("process group did not end within 30s")
	}
}

// alive returns the pids of the group's live members.
func alive(t *testing.T, pgid int) []int {
	t.Helper()
	ms, err := Members(pgid)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, m := range ms {
		if m.Alive() {
			pids = append(pids, m.PID)
		}
	}
	return pids
}

func waitMembers(t *testing.T, pgid, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(alive(t, pgid)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got: %d live members of group %d, want: %d", len(alive(t, pgid)), pgid, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGroup_exitStatusAndOutput(t *testing.T) {
	var out, errOut bytes.Buffer
	g := sh(t, "echo out; echo err >&2; exit 3", &out, &errOut)
	waitDone(t, g)
	var ee *exec.ExitError
	if err := g.Err(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("got: %v, want: exit status 3", err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("got: stdout %q, stderr %q, want: %q, %q", out.String(), errOut.String(), "out\n", "err\n")
	}
	if g.StartTime() == 0 {
		t.Error("got: start time 0, want: the leader's start time")
	}
}

func TestGroup_leaderExitKillsLeftovers(t *testing.T) {
	var out bytes.Buffer
	// The background sleep keeps stdout open: Done must still come.
	g := sh(t, "sleep 300 & echo started", &out, nil)
	waitDone(t, g)
	if err := g.Err(); err != nil {
		t.Errorf("got: %v, want: a clean exit", err)
	}
	if pids := alive(t, g.Pid()); len(pids) != 0 {
		t.Errorf("got: live members %v after the leader exited, want: none", pids)
	}
	if out.String() != "started\n" {
		t.Errorf("got: %q, want: %q", out.String(), "started\n")
	}
}

func TestGroup_terminateKillsTheWholeGroup(t *testing.T) {
	g := sh(t, "sleep 300 & sleep 300 & wait", nil, nil)
	waitMembers(t, g.Pid(), 3)
	if err := g.Terminate(context.Background(), syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if pids := alive(t, g.Pid()); len(pids) != 0 {
		t.Errorf("got: live members %v after Terminate, want: none", pids)
	}
	if err := g.Terminate(context.Background(), syscall.SIGTERM, time.Second); err != nil {
		t.Errorf("second Terminate: got: %v, want: nil", err)
	}
}

func TestGroup_terminateEscalatesToKill(t *testing.T) {
	// An ignored signal stays ignored across fork and exec, so the whole
	// group ignores SIGTERM.
	g := sh(t, `trap "" TERM; sleep 300 & echo ready; wait`, nil, nil)
	waitMembers(t, g.Pid(), 2)
	if err := g.Terminate(context.Background(), syscall.SIGTERM, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ws := g.ProcessState().Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("got: %v, want: killed by SIGKILL", g.ProcessState())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestGroup_outputErrorDoesNotBlockTheChild(t *testing.T) {
	// 1 MiB is far more than a pipe holds: a pump that stopped reading
	// would block the child forever.
	g := sh(t, "head -c 1048576 /dev/zero; exit 0", failingWriter{}, nil)
	waitDone(t, g)
	if err := g.Err(); err != nil {
		t.Errorf("got: %v, want: a clean exit", err)
	}
	if err := g.OutputErr(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got: %v, want: the writer's error", err)
	}
}

func TestStart_commandNotFound(t *testing.T) {
	_, err := Start(exec.Command("/nonexistent/nexus-test-binary"), &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/nexus-test-binary") {
		t.Errorf("got: %v, want: an error naming the program", err)
	}
}

func TestEnv_cleanAndOrdered(t *testing.T) {
	t.Setenv("NEXUS_TEST_LEAK", "secret")
	t.Setenv("HOME", "/home/test")
	got := Env(map[string]string{"A": "1", "B": "2"}, map[string]string{"B": "3"})
	for _, kv := range got {
		if strings.HasPrefix(kv, "NEXUS_TEST_LEAK=") {
			t.Errorf("got: %s, want: only the inherited variables from the daemon", kv)
		}
	}
	for _, want := range []string{"A=1", "B=3", "HOME=/home/test"} {
		if !slices.Contains(got, want) {
			t.Errorf("got: %v, want: it to hold %s", got, want)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("got: %v, want: sorted", got)
	}
}

func TestCommand_resolvesTheProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "tool"), []byte("#!/bin/sh\necho tool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		argv    []string
		dir     string
		want    string // the resolved path, or a piece of the error
		wantErr bool
	}{
		"bare name from PATH":        {argv: []string{"sh", "-c", "true"}, want: "/sh"},
		"relative to dir":            {argv: []string{"./bin/tool"}, dir: dir, want: filepath.Join(dir, "bin", "tool")},
		"missing relative":           {argv: []string{"./bin/nope"}, dir: dir, want: "does not exist", wantErr: true},
		"dir that does not exist":    {argv: []string{"sh"}, dir: filepath.Join(dir, "nope"), want: "not a directory", wantErr: true},
		"a directory, not a program": {argv: []string{"./bin"}, dir: dir, want: "not an executable", wantErr: true},
		"empty":                      {argv: nil, want: "must name a program", wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cmd, err := Command(tt.argv, tt.dir, []string{"A=1"})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got: %v, want: an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(cmd.Path, tt.want) || cmd.Dir != tt.dir || !slices.Equal(cmd.Args, tt.argv) {
				t.Errorf("got: path %q dir %q args %q, want: path ending %q", cmd.Path, cmd.Dir, cmd.Args, tt.want)
			}
		})
	}
}

func TestGrace_endsAheadOfTheDeadline(t *testing.T) {
	if got := Grace(context.Background(), 0); got != DefaultGrace {
		t.Errorf("no timeout: got: %s, want: %s", got, DefaultGrace)
	}
	if got := Grace(context.Background(), time.Second); got != time.Second {
		t.Errorf("no deadline: got: %s, want: 1s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if got := Grace(ctx, 2*time.Hour); got > time.Hour-killMargin {
		t.Errorf("deadline sooner than the timeout: got: %s, want: at most %s", got, time.Hour-killMargin)
	}
}
