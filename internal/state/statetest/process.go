package statetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/state"
)

// Environment of helper processes.
const (
	envRole    = "NEXUS_STATETEST_ROLE"
	envProject = "NEXUS_STATETEST_PROJECT"
	envLineage = "NEXUS_STATETEST_LINEAGE"
	envLockID  = "NEXUS_STATETEST_LOCK_ID"
)

// Helper runs the helper-process role this process was started for, then
// exits; in a normal test run (no role set) it skips the test. Each store
// package calls it from a TestHelperProcess whose open builds a Store from
// the environment its own tests passed to StartHelper.
//
// Roles: "lock" takes the lock and prints "locked" or "refused <error>",
// then holds it until killed or its stdin closes; "writer" writes an
// endless stream (see WriteAt), printing "ack <serial>" after each write.
func Helper(t *testing.T, open func(ctx context.Context) (state.Store, error)) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("helper process for the fault tests; runs only when they start it")
	}
	ctx := context.Background()
	s, err := open(ctx)
	if err != nil {
		fmt.Printf("error open: %v\n", err)
		os.Exit(3)
	}
	project := os.Getenv(envProject)
	switch role {
	case "lock":
		info := state.LockInfo{ID: os.Getenv(envLockID), Operation: "apply", Who: fmt.Sprintf("helper-%d", os.Getpid()), Created: time.Now().UTC()}
		if err := s.Lock(ctx, project, info); err != nil {
			fmt.Printf("refused %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Println("locked")
		}
		_, _ = io.Copy(io.Discard, os.Stdin) // hold until killed or told to go
		_ = s.Close()
	case "writer":
		lineage := os.Getenv(envLineage)
		doc, err := s.Get(ctx, project)
		if err != nil {
			fmt.Printf("error get: %v\n", err)
			os.Exit(3)
		}
		for serial := doc.Serial + 1; ; serial++ {
			if err := WriteAt(ctx, s, project, lineage, serial); err != nil {
				fmt.Printf("error write %d: %v\n", serial, err)
				os.Exit(3)
			}
			fmt.Printf("ack %d\n", serial)
		}
	default:
		fmt.Printf("error: unknown role %q\n", role)
		os.Exit(3)
	}
	os.Exit(0)
}

// Stream fixtures: serial 1 is StreamDocument(project, lineage, 1); every
// later serial is one write that WriteAt performs and ExpectedAt replays.
const streamModules = 20

// StreamDocument returns the document the write stream starts from.
func StreamDocument(project, lineage string) *state.State {
	return Document(project, lineage, streamModules, 1)
}

// streamWrite returns the write that makes serial: every 25th a Put of a
// whole new document, the others an Apply of a small change.
func streamWrite(project, lineage string, serial uint64) (put *state.State, c state.Change) {
	if serial%25 == 0 {
		return Document(project, lineage, streamModules-int(serial%7), serial), c
	}
	c.Set = []*state.Module{Module(int(serial%23), serial)}
	if serial%5 == 0 {
		c.Delete = []string{Address(int(serial*7) % 23)}
	}
	return nil, c
}

// WriteAt performs the stream's write that makes serial (from serial-1).
func WriteAt(ctx context.Context, s state.Store, project, lineage string, serial uint64) error {
	if put, c := streamWrite(project, lineage, serial); put != nil {
		return s.Put(ctx, put, serial-1, "push")
	} else {
		return s.Apply(ctx, project, serial-1, c)
	}
}

// ExpectedAt returns the stream's document at serial.
func ExpectedAt(project, lineage string, serial uint64) *state.State {
	base := serial - serial%25
	doc := StreamDocument(project, lineage)
	if base >= 25 {
		doc, _ = streamWrite(project, lineage, base)
	} else {
		base = 1
	}
	for k := base + 1; k <= serial; k++ {
		_, c := streamWrite(project, lineage, k)
		doc.Apply(c)
	}
	doc.Serial = serial
	return doc
}

// Child is a running helper process.
type Child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wg    sync.WaitGroup

	mu    sync.Mutex
	lines []string      // every line the child printed
	next  int           // the next line Line returns
	more  chan struct{} // signalled (cap 1) when a line comes or output ends
	eof   bool
}

// StartHelper starts this test binary again, running only the test named
// helperTest (which calls Helper) in the given role, with env added to the
// environment. The child is killed when the test ends.
func StartHelper(t *testing.T, helperTest, role, project string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"="+role, envProject+"="+project)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	c := &Child{cmd: cmd, more: make(chan struct{}, 1)}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	c.wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			c.signal()
		}
		c.mu.Lock()
		c.eof = true
		c.mu.Unlock()
		c.signal()
	})
	t.Cleanup(c.Kill)
	return c
}

func (c *Child) signal() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Line returns the child's next line of output, or fails the test when
// none comes within timeout or the child exits first.
func (c *Child) Line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if c.next < len(c.lines) {
			l := c.lines[c.next]
			c.next++
			c.mu.Unlock()
			if strings.HasPrefix(l, "error") {
				t.Fatalf("helper %d: %s", c.Pid(), l)
			}
			return l
		}
		eof := c.eof
		c.mu.Unlock()
		if eof {
			t.Fatalf("helper %d exited without the expected output", c.Pid())
		}
		select {
		case <-c.more:
		case <-deadline.C:
			t.Fatalf("helper %d said nothing for %s", c.Pid(), timeout)
		}
	}
}

// Release closes the child's stdin: a "lock" helper then unlocks and exits.
func (c *Child) Release() { _ = c.stdin.Close() }

// Wait waits for the child to exit by itself.
func (c *Child) Wait() error {
	c.wg.Wait() // all output read before Wait closes the pipe
	return c.cmd.Wait()
}

// Kill SIGKILLs the child and waits for it and its output. It may be
// called more than once.
func (c *Child) Kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
}

// LastAck returns the highest serial a (finished) writer acknowledged, or
// 0 when it acknowledged none.
func (c *Child) LastAck() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last uint64
	for _, l := range c.lines {
		if n, ok := parseAck(l); ok {
			last = max(last, n)
		}
	}
	return last
}

// WaitAck waits until the writer acknowledged serial at least.
func (c *Child) WaitAck(t *testing.T, serial uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := c.Line(t, time.Until(deadline))
		if n, ok := parseAck(l); ok && n >= serial {
			return
		}
	}
}

func parseAck(l string) (uint64, bool) {
	s, ok := strings.CutPrefix(l, "ack ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
