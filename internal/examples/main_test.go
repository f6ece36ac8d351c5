package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The binaries under test: the stock nexus and the custom-module example's
// nexus-hello, built once, on first need (see needBinaries), into binDir.
var (
	nexusBin, helloBin string
	binDir             string
	buildOnce          sync.Once
	buildErr           error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needBinaries builds the binaries the first time a test needs them; tests
// of the docs alone do not wait for a build.
func needBinaries(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "nexus-examples-"); buildErr != nil {
			return
		}
		nexusBin, helloBin = filepath.Join(binDir, "nexus"), filepath.Join(binDir, "nexus-hello")
		for _, b := range []struct{ bin, pkg string }{{nexusBin, "./cmd/nexus"}, {helloBin, "./examples/custom-module"}} {
			build := exec.Command("go", "build", "-o", b.bin, b.pkg)
			build.Dir = repoRoot()
			if out, err := build.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// example is the path of examples/<name>.
func example(name string) string { return filepath.Join(repoRoot(), "examples", name) }

// result is what one run of a binary did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs bin with args in dir, with the environment minus NEXUS_*
// variables, plus env.
func run(t *testing.T, dir string, env []string, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return result{out.String(), errb.String(), code}
}

// mustRun is run that fails the test unless the exit code is want.
func mustRun(t *testing.T, want int, dir string, env []string, bin string, args ...string) result {
	t.Helper()
	r := run(t, dir, env, bin, args...)
	if r.code != want {
		t.Fatalf("%s %s: want exit %d, got %s", filepath.Base(bin), strings.Join(args, " "), want, r)
	}
	return r
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEXUS_") {
			env = append(env, kv)
		}
	}
	return env
}

// wantAll fails the test for each of wants that text lacks.
func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// copyExample copies examples/<name> into a new temp dir, giving the daemon
// configs' TCP listener (127.0.0.1:7420 in every example) a free port so
// that tests and a developer's own daemon do not collide. It returns the
// copy and the listener's address.
func copyExample(t *testing.T, name string) (dir, httpAddr string) {
	t.Helper()
	dir = t.TempDir()
	httpAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	src := example(name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			if d.Name() == ".nexus" {
				return filepath.SkipDir
			}
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".hcl") {
			b = bytes.ReplaceAll(b, []byte("127.0.0.1:7420"), []byte(httpAddr))
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, httpAddr
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemonProc is a `nexus daemon --config nexusd.hcl` child process running
// in dir, the directory of an example's copy.
type daemonProc struct {
	t    *testing.T
	bin  string
	dir  string
	http string // the TCP listener's base URL
	env  []string
	cmd  *exec.Cmd
	log  string
	// exited receives the process's exit once it is reaped.
	exited chan error
}

// startDaemon starts bin's daemon with dir/nexusd.hcl and waits for its
// /healthz on httpAddr. Cleanup stops it (SIGTERM, which stops its modules).
func startDaemon(t *testing.T, bin, dir, httpAddr string, env ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, bin: bin, dir: dir, http: "http://" + httpAddr, env: env, log: filepath.Join(dir, "daemon.out")}
	d.start()
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			d.stop()
		}
		if t.Failed() {
			b, _ := os.ReadFile(d.log)
			t.Logf("daemon log (last lines):\n%s", tail(string(b), 40))
		}
	})
	return d
}

func (d *daemonProc) start() {
	d.t.Helper()
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(d.bin, "daemon", "--config", "nexusd.hcl", "--log-format", "json")
	d.cmd.Dir = d.dir
	d.cmd.Env = append(cleanEnv(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(d.log)
			d.t.Fatalf("the daemon exited at start (%v):\n%s", err, b)
		default:
		}
		if resp, err := http.Get(d.http + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(d.log)
			d.t.Fatalf("the daemon did not answer /healthz within a minute:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.exited = exited
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemonProc) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Errorf("daemon exit: %v", err)
		}
	case <-time.After(2 * time.Minute):
		_ = d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("the daemon did not stop within 2 minutes of SIGTERM")
	}
}

// nexus runs the stock CLI in the daemon's directory, on its unix socket
// (the default address there), as the daemon's own uid: an admin.
func (d *daemonProc) nexus(args ...string) result {
	d.t.Helper()
	return run(d.t, d.dir, nil, nexusBin, args...)
}

// get fetches path from the daemon's TCP listener.
func (d *daemonProc) get(path string) string {
	d.t.Helper()
	resp, err := http.Get(d.http + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitFor polls ok until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
