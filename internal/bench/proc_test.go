package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat.
const clockTicks = 100

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// nexusBin builds the nexus binary once per test process (cached by the go
// build cache) and returns its path. The benchmarks time the real binary,
// exec and all, as a user runs it.
func nexusBin(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nexus-bench-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "nexus")
		var out bytes.Buffer
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/nexus-run/nexus/cmd/nexus")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return buildBin
}

// daemonProc is a `nexus daemon` child process with its own data directory,
// unix socket and HTTP port (for /readyz).
type daemonProc struct {
	b    *testing.B
	bin  string
	dir  string
	sock string
	url  string
	cmd  *exec.Cmd
	log  *os.File
}

// newDaemon writes a daemon config for a fresh directory; start runs it.
func newDaemon(b *testing.B, bin string) *daemonProc {
	b.Helper()
	dir, err := os.MkdirTemp("", "nxb-") // short: a socket path has a length limit
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	port := freePort(b)
	d := &daemonProc{b: b, bin: bin, dir: dir, sock: filepath.Join(dir, "nexus.sock"), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	conf := fmt.Sprintf("daemon {\n  data_dir = %q\n  node = \"bench\"\n}\nlistener \"unix\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n}\n",
		filepath.Join(dir, "data"), d.sock, port)
	if err := os.WriteFile(filepath.Join(dir, "nexusd.hcl"), []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	return d
}

// start execs the daemon and returns when it did, without waiting for it.
func (d *daemonProc) start() time.Time {
	d.b.Helper()
	log, err := os.OpenFile(filepath.Join(d.dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.b.Fatal(err)
	}
	d.log = log
	d.cmd = exec.Command(d.bin, "daemon", "--config", filepath.Join(d.dir, "nexusd.hcl"))
	d.cmd.Dir, d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = d.dir, cleanEnv(), log, log
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		d.b.Fatal(err)
	}
	d.b.Cleanup(func() { d.kill() })
	return start
}

// waitHTTP polls path every interval until it answers 200 and returns
// when it did; it fails b after a generous deadline.
func (d *daemonProc) waitHTTP(path string, interval time.Duration) time.Time {
	d.b.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(d.url + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			d.b.Fatalf("%s did not answer 200 within a minute (last error %v); daemon log:\n%s", path, err, d.logTail())
		}
		time.Sleep(interval)
	}
}

// cpu returns the daemon's CPU time so far, from /proc (10 ms resolution).
func (d *daemonProc) cpu() time.Duration {
	buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	rest := string(buf[bytes.LastIndexByte(buf, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemonProc) stop() {
	d.b.Helper()
	if d.cmd == nil || d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		d.b.Fatalf("daemon exit: %v\n%s", err, d.logTail())
	}
	d.log.Close()
}

func (d *daemonProc) kill() {
	if d.cmd == nil || d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.log.Close()
}

func (d *daemonProc) logTail() string {
	buf, _ := os.ReadFile(filepath.Join(d.dir, "daemon.log"))
	if len(buf) > 4000 {
		buf = buf[len(buf)-4000:]
	}
	return string(buf)
}

// cliRun is one run of the nexus CLI.
type cliRun struct {
	wall, cpu time.Duration
	out       string
}

// nexus runs the CLI against d and fails b unless it exits 0.
func (d *daemonProc) nexus(args ...string) cliRun {
	d.b.Helper()
	cmd := exec.Command(d.bin, append(args, "--no-color", "--address", "unix://"+d.sock)...)
	cmd.Dir, cmd.Env = d.dir, cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil || errors.As(err, &ee) {
		d.b.Fatalf("nexus %s: %v\n%s\ndaemon log:\n%s", strings.Join(args, " "), err, tail(out.String(), 3000), d.logTail())
	}
	return cliRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), out: out.String()}
}

// writeConfig writes files into a new directory under d's and returns it.
func (d *daemonProc) writeConfig(name string, files map[string][]byte) string {
	d.b.Helper()
	dir := filepath.Join(d.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.b.Fatal(err)
	}
	for n, src := range files {
		if err := os.WriteFile(filepath.Join(dir, n), src, 0o600); err != nil {
			d.b.Fatal(err)
		}
	}
	return dir
}

func freePort(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cleanEnv is the environment without NEXUS_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEXUS_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
