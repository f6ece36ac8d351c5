package postgres_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/state/postgres"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

// TestStore_serverRestartedMidApply stops and starts a PostgreSQL server
// twice while a writer streams Applies and Puts, once with a fast shutdown
// (SIGINT: sessions ended, a checkpoint) and once with an immediate one
// (SIGQUIT: no checkpoint, crash recovery at the next start). Writes fail
// cleanly while it is down, the same write succeeds once it is back, no
// document read is ever half-written, and nothing acknowledged is lost.
// The server is a cluster of the test's own (initdb into a temporary
// dir, on a free port), so that the machine's shared server, which other
// tests use meanwhile, is never restarted.
func TestStore_serverRestartedMidApply(t *testing.T) {
	srv := startCluster(t)
	s, err := postgres.New(context.Background(), srv.dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	restart := func(at uint64, sig syscall.Signal) statetest.Outage {
		return statetest.Outage{At: at, Name: sig.String(), Stop: func() { srv.stop(t, sig) }, Start: func() { srv.start(t) }}
	}
	statetest.ServerRestarted(t, s, "postgres "+srv.target, restart(30, syscall.SIGINT), restart(80, syscall.SIGQUIT))
}

// cluster is a PostgreSQL server of one test's own.
type cluster struct {
	bin, data   string
	port        int
	dsn, target string
	cred        *syscall.Credential // the server's user when the test runs as root
	cmd         *exec.Cmd
	logs        *os.File
}

// startCluster initialises a cluster in a temporary dir and starts it on
// a free loopback port, as the postgres user when the test runs as root
// (PostgreSQL refuses to run as root). It fails, saying what to install,
// when the server's programs cannot be found: CI must never skip it.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bin := postgresBin(t)
	dir, err := os.MkdirTemp("", "nexus-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &cluster{bin: bin, data: filepath.Join(dir, "data")}
	if err := os.Mkdir(c.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, the test runs PostgreSQL as the user postgres, which does not exist: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(c.data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	initdb := c.command("initdb", "-D", c.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.target = fmt.Sprintf("127.0.0.1:%d/postgres", c.port)
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
	if c.logs, err = os.Create(filepath.Join(dir, "server.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.stop(t, syscall.SIGQUIT)
		c.logs.Close()
	})
	c.start(t)
	return c
}

// postgresBin finds the directory of initdb and postgres: on PATH, else
// where Debian and Ubuntu install them.
func postgresBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		t.Fatal("initdb is not on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL server (e.g. `apt-get install postgresql`)")
	}
	return filepath.Dir(matches[len(matches)-1])
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// start starts the server on the cluster's port, TCP on loopback only,
// and waits until it accepts connections.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	c.cmd = c.command("postgres", "-D", c.data, "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=on")
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.dsn)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(c.logs.Name())
			t.Fatalf("postgres on port %d did not accept connections within 30s: %v\n%s", c.port, err, b)
		}
	}
}

// stop signals the postmaster (SIGINT: fast shutdown, SIGQUIT: immediate)
// and waits for it to exit.
func (c *cluster) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if c.cmd == nil || c.cmd.ProcessState != nil {
		return
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Errorf("signal postgres: %v", err)
	}
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
		t.Errorf("postgres did not stop within 30s of %s", sig)
	}
}
