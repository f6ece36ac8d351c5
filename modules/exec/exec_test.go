package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

// helperPath is the test helper program (testdata/helper), built once.
var helperPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nexus-exec-helper-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helperPath = filepath.Join(dir, "helper")
	if out, err := osexec.Command("go", "build", "-o", helperPath, "./testdata/helper").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test helper: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helper returns a command value running the helper with args.
func helper(args ...string) cty.Value {
	vals := []cty.Value{cty.StringVal(helperPath)}
	for _, a := range args {
		vals = append(vals, cty.StringVal(a))
	}
	return cty.ListVal(vals)
}

func newExec(t *testing.T, attrs map[string]cty.Value, o modules.InstanceOptions) (*Exec, *modules.Instance) {
	t.Helper()
	o.Spec.Kind = "exec"
	o.Config = kindtest.Config(t, Manifest(), attrs)
	e := New().(*Exec)
	return e, kindtest.Instance(t, e, o)
}

func waitExit(t *testing.T, inst *modules.Instance) error {
	t.Helper()
	select {
	case err := <-inst.Exits():
		return err
	case <-time.After(kindtest.Timeout):
		t.Fatalf("the process did not exit within %s", kindtest.Timeout)
		return nil
	}
}

func readLog(t *testing.T, inst *modules.Instance, stream string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inst.Context().DataDir(), "logs", stream+".log"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// waitLog polls stream's log until it holds n lines with prefix, and returns them.
func waitLog(t *testing.T, inst *modules.Instance, stream, prefix string, n int) []string {
	t.Helper()
	var got []string
	kindtest.Eventually(t, func() bool {
		got = got[:0]
		for l := range strings.Lines(readLog(t, inst, stream)) {
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, "\n") {
				got = append(got, strings.TrimSuffix(l, "\n"))
			}
		}
		return len(got) >= n
	}, "%s.log: got %d lines starting %q, want %d", stream, len(got), prefix, n)
	return got
}

// proc identifies a process by pid and start time.
type proc struct {
	pid   int
	start uint64
}

func procOf(t *testing.T, pid int) proc {
	t.Helper()
	s, err := procgroup.ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return proc{pid, s.StartTime}
}

// gone reports whether p no longer runs: no such pid, a zombie, or another
// process under its pid.
func (p proc) gone() bool {
	s, err := procgroup.ReadStat(p.pid)
	return err != nil || !s.Alive() || s.StartTime != p.start
}

func healthPid(t *testing.T, inst *modules.Instance) int {
	t.Helper()
	pid, err := strconv.Atoi(kindtest.Health(inst).Details["pid"])
	if err != nil {
		t.Fatalf("health details have no pid: %v", kindtest.Health(inst).Details)
	}
	return pid
}

func TestExec_commandNotFound(t *testing.T) {
	notExecutable := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		command []string
		want    []string
	}{
		"bare name not in PATH": {[]string{"nexus-no-such-program"}, []string{`"nexus-no-such-program"`, "PATH"}},
		"missing path":          {[]string{"/nonexistent/prog"}, []string{`"/nonexistent/prog"`, "does not exist"}},
		"not executable":        {[]string{notExecutable}, []string{"not an executable"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := make([]cty.Value, len(tt.command))
			for i, c := range tt.command {
				cmd[i] = cty.StringVal(c)
			}
			_, inst := newExec(t, map[string]cty.Value{
				"command":      cty.ListVal(cmd),
				"secret_files": cty.MapVal(map[string]cty.Value{"token": cty.StringVal("x")}),
			}, modules.InstanceOptions{})
			kindtest.Do(t, inst, modules.TransitionInit, modules.TransitionLoad)
			err := inst.Do(context.Background(), modules.TransitionStart)
			if err == nil {
				t.Fatal("got: nil error, want: Start to fail")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got: %v\nwant: an error containing %s", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(inst.Context().DataDir(), "secrets")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got: secrets dir left after a failed start (%v), want: removed", err)
			}
		})
	}
}

func TestExec_exitReturnsTheExitError(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"exit 3":     {[]string{"exit", "3"}, "exit status 3"},
		"clean exit": {[]string{"exit", "0"}, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, inst := newExec(t, map[string]cty.Value{"command": helper(tt.args...)}, modules.InstanceOptions{})
			kindtest.Up(t, inst)
			err := waitExit(t, inst)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got: %v, want: %q", err, tt.wantErr)
			}
			h := kindtest.Health(inst)
			if h.Live || h.Ready || h.Details["exit"] == "" {
				t.Errorf("got: %+v, want: not live, not ready, with the exit in the details", h)
			}
		})
	}
}

func TestExec_healthWhileRunning(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{"command": helper("sleep", "1h")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	h := kindtest.Health(inst)
	if h.Status != modules.StatusHealthy || !h.Ready || !h.Live || h.Details["limits"] != limitsNone || h.Details["pid"] == "" {
		t.Errorf("got: %+v, want: healthy, ready, live, with pid and limits none", h)
	}
}

func TestExec_stopKillsWhatIgnoresTheStopSignal(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{"command": helper("ignoreterm")}, modules.InstanceOptions{
		Spec: modules.Spec{Timeouts: modules.Timeouts{Start: modules.Duration(time.Minute), Stop: modules.Duration(200 * time.Millisecond)}},
	})
	kindtest.Up(t, inst)
	waitLog(t, inst, "stdout", "ready", 1)
	p := procOf(t, healthPid(t, inst))
	kindtest.Do(t, inst, modules.TransitionStop)
	if !p.gone() {
		t.Errorf("got: pid %d still running after Stop, want: killed", p.pid)
	}
	kindtest.Do(t, inst, modules.TransitionStop) // idempotent
}

func TestExec_stopKillsForkedChildren(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{"command": helper("fork", "3")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	procs := []proc{procOf(t, healthPid(t, inst))}
	for _, l := range waitLog(t, inst, "stdout", "child ", 3) {
		pid, err := strconv.Atoi(strings.TrimPrefix(l, "child "))
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, procOf(t, pid))
	}
	kindtest.Do(t, inst, modules.TransitionStop)
	for _, p := range procs {
		if !p.gone() {
			t.Errorf("got: pid %d still running after Stop, want: the whole group gone", p.pid)
		}
	}
	if _, err := os.Stat(filepath.Join(inst.Context().DataDir(), "exec.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: pid file after Stop (%v), want: removed", err)
	}
}

func TestExec_floodedLogsStayBounded(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{
		"command":         helper("flood", "200000"),
		"log_max_size_mb": cty.NumberFloatVal(0.01),
		"log_max_files":   cty.NumberIntVal(2),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	if err := waitExit(t, inst); err != nil {
		t.Fatal(err)
	}
	checkRotated(t, filepath.Join(inst.Context().DataDir(), "logs"), 2, 10485)
}

// checkRotated checks that dir holds stdout.log and exactly files rotated
// stdout logs, none larger than max.
func checkRotated(t *testing.T, dir string, files int, max int64) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "stdout.log*"))
	if len(names) != files+1 {
		t.Errorf("got: %v, want: stdout.log and %d rotated files", names, files)
	}
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max {
			t.Errorf("got: %s of %d bytes, want: at most %d", n, st.Size(), max)
		}
	}
}

func TestExec_reconfigureChangesLogRotation(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	script := fmt.Sprintf(`while [ ! -e %q ]; do sleep 0.01; done; exec %q flood 100000`, gate, helperPath)
	cmd := cty.ListVal([]cty.Value{cty.StringVal("/bin/sh"), cty.StringVal("-c"), cty.StringVal(script)})
	_, inst := newExec(t, map[string]cty.Value{"command": cmd}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	cfg := kindtest.Config(t, Manifest(), map[string]cty.Value{
		"command":         cmd,
		"log_max_size_mb": cty.NumberFloatVal(0.01),
		"log_max_files":   cty.NumberIntVal(1),
	})
	if err := inst.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, inst); err != nil {
		t.Fatal(err)
	}
	checkRotated(t, filepath.Join(inst.Context().DataDir(), "logs"), 1, 10485)
}

func TestExec_environmentAndSecretFiles(t *testing.T) {
	t.Setenv("NEXUS_TEST_LEAK", "must not reach the child")
	_, inst := newExec(t, map[string]cty.Value{
		"command":      helper("env"),
		"env":          cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("hello")}),
		"secret_files": cty.MapVal(map[string]cty.Value{"token": cty.StringVal("s3cret")}),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	waitLog(t, inst, "stdout", "end", 1)
	env := readLog(t, inst, "stdout")
	secrets := filepath.Join(inst.Context().DataDir(), "secrets")
	for _, want := range []string{"GREETING=hello\n", "NEXUS_MODULE_ID=test/exec\n", "NEXUS_SECRETS_DIR=" + secrets + "\n", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("got environment:\n%s\nwant it to hold %q", env, want)
		}
	}
	if strings.Contains(env, "NEXUS_TEST_LEAK") {
		t.Errorf("got: the daemon's NEXUS_TEST_LEAK in the child's environment, want: a clean environment")
	}
	checkMode(t, secrets, 0o700|fs.ModeDir)
	checkMode(t, filepath.Join(secrets, "token"), 0o600)
	if b, _ := os.ReadFile(filepath.Join(secrets, "token")); string(b) != "s3cret" {
		t.Errorf("got: secret file %q, want: %q", b, "s3cret")
	}
	kindtest.Do(t, inst, modules.TransitionStop)
	if _, err := os.Stat(secrets); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: secrets dir after Stop (%v), want: removed", err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode() & (fs.ModePerm | fs.ModeDir); got != want {
		t.Errorf("%s: got: mode %v, want: %v", path, got, want)
	}
}

func TestExec_memoryLimitAsRlimit(t *testing.T) {
	lim := modules.Limits{MemoryMB: 64, CPUPercent: 50}
	if cg, err := newCgroup(lim, "nexus-test-probe"); err == nil {
		cg.remove()
		t.Skip("cgroup v2 limits apply on this host instead of rlimits")
	}
	tests := map[string]struct {
		limits  modules.Limits
		args    []string
		wantErr bool
	}{
		"allocating past memory_mb fails": {lim, []string{"alloc", "256", "limited"}, true},
		"without limits it succeeds":      {modules.Limits{}, []string{"alloc", "256"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, inst := newExec(t, map[string]cty.Value{"command": helper(tt.args...)}, modules.InstanceOptions{
				Spec: modules.Spec{Limits: tt.limits},
			})
			kindtest.Up(t, inst)
			err := waitExit(t, inst)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got: exit %v, want error: %v\nstderr: %s", err, tt.wantErr, readLog(t, inst, "stderr"))
			}
			if !tt.wantErr {
				return
			}
			// Depending on when the limit lands, the Go runtime of the helper
			// fails to reserve its heap at start or to grow it in alloc.
			if stderr := readLog(t, inst, "stderr"); !strings.Contains(stderr, "fatal error") || !strings.Contains(stderr, "memory") {
				t.Errorf("got stderr:\n%s\nwant: the helper failed for lack of memory", stderr)
			}
			h := kindtest.Health(inst)
			if h.Details["limits"] != limitsRlimit || !strings.Contains(h.Details["limits_note"], "cpu_percent not enforced") {
				t.Errorf("got: details %v, want: limits rlimit and a note that cpu_percent is not enforced", h.Details)
			}
		})
	}
}

func TestExec_usageGrowsForABusyProcess(t *testing.T) {
	e, inst := newExec(t, map[string]cty.Value{"command": helper("spin")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	var first modules.Usage
	kindtest.Eventually(t, func() bool { first = e.Usage(); return first.CPUSeconds > 0 }, "cpu seconds stayed 0")
	if first.MemoryMB <= 0 {
		t.Errorf("got: memory %v MB, want: > 0", first.MemoryMB)
	}
	var later modules.Usage
	kindtest.Eventually(t, func() bool { later = e.Usage(); return later.CPUSeconds > first.CPUSeconds },
		"cpu seconds stayed at %v", first.CPUSeconds)
	kindtest.Do(t, inst, modules.TransitionStop)
	if after := e.Usage(); after.CPUSeconds < later.CPUSeconds || after.MemoryMB != 0 {
		t.Errorf("got: %+v after Stop, want: cpu at least %v and no memory", after, later.CPUSeconds)
	}
}

func TestDecode_rejectsBadConfig(t *testing.T) {
	tests := map[string]struct {
		attrs map[string]cty.Value
		want  string
	}{
		"empty command": {map[string]cty.Value{"command": cty.ListValEmpty(cty.String)}, "command must name a program"},
		"bad signal": {map[string]cty.Value{"command": helper(), "stop_signal": cty.StringVal("SIGSTOP")},
			`stop_signal "SIGSTOP"`},
		"kill to reload": {map[string]cty.Value{"command": helper(), "reload_signal": cty.StringVal("SIGKILL")},
			`reload_signal "SIGKILL"`},
		"secret file name with a slash": {map[string]cty.Value{"command": helper(),
			"secret_files": cty.MapVal(map[string]cty.Value{"../x": cty.StringVal("v")})}, "plain file name"},
		"fractional log files": {map[string]cty.Value{"command": helper(), "log_max_files": cty.NumberFloatVal(1.5)},
			"whole number"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := validate(kindtest.Config(t, Manifest(), tt.attrs))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v, want: an error containing %q", err, tt.want)
			}
		})
	}
	if err := validate(kindtest.Config(t, Manifest(), map[string]cty.Value{"command": helper(), "stop_signal": cty.StringVal("sigint")})); err != nil {
		t.Errorf("lower-case signal: got: %v, want: nil", err)
	}
}

func TestExec_reconfigureRewritesSecretFiles(t *testing.T) {
	secretFiles := func(kv ...string) cty.Value {
		m := map[string]cty.Value{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = cty.StringVal(kv[i+1])
		}
		return cty.MapVal(m)
	}
	_, inst := newExec(t, map[string]cty.Value{
		"command":      helper("sleep", "1h"),
		"secret_files": secretFiles("token", "old", "cert", "pem"),
	}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	cfg := kindtest.Config(t, Manifest(), map[string]cty.Value{
		"command":      helper("sleep", "1h"),
		"secret_files": secretFiles("token", "rotated"),
	})
	pid := healthPid(t, inst)
	if err := inst.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(inst.Context().DataDir(), "secrets")
	if b, _ := os.ReadFile(filepath.Join(secrets, "token")); string(b) != "rotated" {
		t.Errorf("got: token %q, want: %q", b, "rotated")
	}
	checkMode(t, filepath.Join(secrets, "token"), 0o600)
	if _, err := os.Stat(filepath.Join(secrets, "cert")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: the dropped secret file still there (%v), want: removed", err)
	}
	if got := healthPid(t, inst); got != pid {
		t.Errorf("got: pid %d after reconfigure, want: the same process %d", got, pid)
	}
}

func TestExec_noSecretFilesNoSecretsDir(t *testing.T) {
	_, inst := newExec(t, map[string]cty.Value{"command": helper("env")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	waitLog(t, inst, "stdout", "end", 1)
	if env := readLog(t, inst, "stdout"); strings.Contains(env, "NEXUS_SECRETS_DIR=") || !strings.Contains(env, "NEXUS_MODULE_ID=test/exec\n") {
		t.Errorf("got environment:\n%s\nwant NEXUS_MODULE_ID and no NEXUS_SECRETS_DIR (the module has no secret_files)", env)
	}
	if _, err := os.Stat(filepath.Join(inst.Context().DataDir(), "secrets")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got: a secrets dir for a module without secret_files (%v), want: none", err)
	}
}

// reload_signal tells the process to read its secret files again once a
// reconfigure (a rotated secret, on_secret_change = "reload") rewrote
// them, and only then.
func TestExec_reloadSignalAfterSecretFilesRewritten(t *testing.T) {
	attrs := func(token string) map[string]cty.Value {
		return map[string]cty.Value{
			"command":       helper("hup", "token"),
			"secret_files":  cty.MapVal(map[string]cty.Value{"token": cty.StringVal(token)}),
			"reload_signal": cty.StringVal("SIGHUP"),
		}
	}
	_, inst := newExec(t, attrs("old"), modules.InstanceOptions{})
	kindtest.Up(t, inst)
	waitLog(t, inst, "stdout", "ready", 1)
	pid := healthPid(t, inst)
	reconfigure := func(token string) {
		if err := inst.Reconfigure(context.Background(), kindtest.Config(t, Manifest(), attrs(token))); err != nil {
			t.Fatal(err)
		}
	}
	reconfigure("rotated")
	waitLog(t, inst, "stdout", "token ", 1) // the next signal must not merge with this one
	reconfigure("rotated")
	reconfigure("again")
	got := waitLog(t, inst, "stdout", "token ", 2)
	if want := []string{"token rotated", "token again"}; !slices.Equal(got, want) {
		t.Errorf("got: %q\nwant: %q (a signal for each rewrite, none for a reconfigure that changed no file)", got, want)
	}
	if got := healthPid(t, inst); got != pid {
		t.Errorf("got: pid %d after the reloads, want: the same process %d", got, pid)
	}
}

func TestExec_startAgainAfterAnExit(t *testing.T) {
	e, inst := newExec(t, map[string]cty.Value{"command": helper("exit", "3")}, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	err := waitExit(t, inst)
	inst.MarkFailed(err) // what the runtime does past the restart policy
	kindtest.Do(t, inst, modules.TransitionStart)
	if err := waitExit(t, inst); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("got: %v, want: the second run's exit status 3", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil || e.proc.stdout == nil {
		t.Fatal("got: no process after the second start")
	}
}
