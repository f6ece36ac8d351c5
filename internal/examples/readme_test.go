package examples_test

import (
	"bytes"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// quickstartCommand is one line of the README's quickstart: the command and
// what its comment says one sees.
type quickstartCommand struct {
	line, comment string
}

// readmeQuickstart parses the README's "## Quickstart" section: the
// commands of its first code block, and the paragraph that follows it.
func readmeQuickstart(t *testing.T) (cmds []quickstartCommand, seen string) {
	t.Helper()
	sec := section(t, readDoc(t, "README.md"), "## Quickstart")
	lines := strings.Split(sec, "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "    ") && !strings.HasPrefix(lines[i], "```") {
		i++
	}
	fenced := i < len(lines) && strings.HasPrefix(lines[i], "```")
	if fenced {
		i++
	}
	for ; i < len(lines); i++ {
		l := lines[i]
		if fenced && strings.HasPrefix(l, "```") || !fenced && !strings.HasPrefix(l, "    ") {
			break
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		cmd, comment, _ := strings.Cut(l, " #")
		cmds = append(cmds, quickstartCommand{line: strings.TrimSpace(cmd), comment: strings.TrimSpace(comment)})
	}
	if len(cmds) == 0 {
		t.Fatal("the README's quickstart has no commands")
	}
	// The paragraph is wrapped, inside quotes too: read it as one line.
	return cmds, strings.Join(strings.Fields(strings.Join(lines[i:], "\n")), " ")
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	// startedHealthy matches a status table row of a started, healthy module.
	startedHealthy = regexp.MustCompile(`(?m)^\S+ +\S+ +started +healthy `)
)

// TestREADME_quickstart walks through the README's quickstart as a newcomer
// would: in a fresh copy of the repository (no data dir, no binaries), it
// runs exactly the commands the README shows, in order, the first in the
// foreground until the others are done, then presses Ctrl-C, and checks
// what the README says one sees. It then runs the first command again,
// which the README says brings the modules back.
func TestREADME_quickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nexus with make and runs the quickstart (a minute)")
	}
	cmds, seen := readmeQuickstart(t)
	if cmds[0].line != "make run" {
		t.Fatalf("the README's quickstart starts with %q; this test knows how to run `make run` in the foreground: teach it the new first step", cmds[0].line)
	}
	waitForPorts(t, "127.0.0.1:7420", "127.0.0.1:9100")
	repo := copyRepo(t)

	fg := startForeground(t, repo, cmds[0].line)
	fg.waitFor(t, "Running. Press Ctrl-C", 10*time.Minute)
	for _, c := range cmds[1:] {
		checkQuickstartStep(t, repo, c)
	}
	out := fg.interrupt(t)
	checkFirstRun(t, out, seen)

	// "the next `make run` brings them back"
	if !strings.Contains(seen, "next `make run` brings them back") {
		t.Fatalf("the README no longer says the next make run brings the modules back; update this test")
	}
	fg = startForeground(t, repo, cmds[0].line)
	out = fg.waitFor(t, "Running. Press Ctrl-C", 5*time.Minute)
	wantAll(t, "the second make run", out, "No changes.")
	if n := len(startedHealthy.FindAllString(out, -1)); n != 3 {
		t.Errorf("the second make run shows %d modules started and healthy, want 3:\n%s", n, out)
	}
	fg.interrupt(t)
}

// checkFirstRun checks the first make run's output against the README's
// "What you will see" paragraph.
func checkFirstRun(t *testing.T, out, seen string) {
	t.Helper()
	var phrases []string
	for _, m := range backticked.FindAllStringSubmatch(seen, -1) {
		p := m[1]
		if strings.HasPrefix(p, "Plan:") || strings.HasPrefix(p, "Apply complete!") {
			phrases = append(phrases, p)
		}
	}
	if len(phrases) < 2 {
		t.Fatalf("the README no longer quotes the plan and apply lines make run prints; update this test:\n%s", seen)
	}
	wantAll(t, "make run's output", out, phrases...)
	transitions := regexp.MustCompile(`(?m)^module\.[a-z.]+: (init|load|start) complete after `).FindAllString(out, -1)
	if len(transitions) != 9 {
		t.Errorf("make run printed %d finished transitions, want one line for each of the 9", len(transitions))
	}
	for _, id := range []string{"app/all", "synapse/bus", "vitals/heartbeat"} {
		if !strings.Contains(seen, "`"+id+"`") {
			t.Errorf("the README no longer names %s in the status table; update this test", id)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + ` +\S+ +started +healthy `).MatchString(out) {
			t.Errorf("make run's status table does not show %s started and healthy:\n%s", id, out)
		}
	}
	// "when it stops them in reverse dependency order and saves the state"
	wantAll(t, "the output after Ctrl-C", out, "Stopping modules...", "Stopped. The state is saved")
}

// checkQuickstartStep runs one of the commands after the first, as in a
// second terminal in the repository, and checks what its comment says.
func checkQuickstartStep(t *testing.T, repo string, c quickstartCommand) {
	t.Helper()
	r := run(t, repo, nil, "bash", "-c", c.line)
	if r.code != 0 {
		t.Fatalf("%s: %s", c.line, r)
	}
	fields := strings.Fields(c.line)
	switch {
	case strings.HasPrefix(c.line, "bin/nexus status"):
		// "three modules, started and healthy"
		if !strings.Contains(c.comment, "three modules, started and healthy") {
			t.Fatalf("the README's comment on %q changed: %q; update this test", c.line, c.comment)
		}
		if n := len(startedHealthy.FindAllString(r.stdout, -1)); n != 3 {
			t.Errorf("%s: %d modules started and healthy, want 3:\n%s", c.line, n, r.stdout)
		}
	case fields[0] == "curl" && strings.HasSuffix(c.line, "/beats"):
		// "the heartbeat's beats, counted by the bus"
		n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if err != nil || n < 1 {
			t.Errorf("%s: got %q, want a count of beats of at least 1", c.line, r.stdout)
		}
	case strings.HasPrefix(c.line, "bin/nexus plan"):
		quoted := regexp.MustCompile(`"([^"]+)"`).FindStringSubmatch(c.comment)
		if quoted == nil {
			t.Fatalf("the README's comment on %q quotes nothing to expect: %q", c.line, c.comment)
		}
		wantAll(t, c.line, r.stdout, quoted[1])
	case strings.HasPrefix(c.line, "bin/nexus audit"):
		// "who did what: the plan, the apply, each transition"
		for _, typ := range []string{"plan", "apply", "transition"} {
			if !strings.Contains(c.comment, typ) {
				t.Fatalf("the README's comment on %q no longer mentions %s; update this test", c.line, typ)
			}
			if !regexp.MustCompile(`(?m)^\d+ +\S+ \S+ +` + typ + ` `).MatchString(r.stdout) {
				t.Errorf("%s: no %s record:\n%s", c.line, typ, r.stdout)
			}
		}
	default:
		t.Fatalf("the README's quickstart runs %q, which this test does not know how to check: teach TestREADME_quickstart", c.line)
	}
}

// waitForPorts waits until nothing listens on the quickstart's fixed
// addresses, which a developer's own `make run` may hold.
func waitForPorts(t *testing.T, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("something listens on %s, which the quickstart needs: stop it (another `make run`?) and run the test again", a)
			}
			time.Sleep(time.Second)
		}
	}
}

// copyRepo copies the repository's working tree into a new temp dir,
// without .git, binaries, data dirs and test binaries: a fresh clone.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	root := repoRoot()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (name == ".git" || name == ".nexus" || rel == "bin") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(name, ".test") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// foreground is a command running in a terminal of its own: its own
// process group, which Ctrl-C signals as a whole.
type foreground struct {
	line string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func startForeground(t *testing.T, dir, line string) *foreground {
	t.Helper()
	f := &foreground{line: line, done: make(chan error, 1)}
	f.cmd = exec.Command("bash", "-c", line)
	f.cmd.Dir = dir
	f.cmd.Env = cleanEnv()
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f.cmd.Stdout, f.cmd.Stderr = f, f
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
			<-f.done
		}
	})
	return f
}

// Write collects the output; it is the command's stdout and stderr.
func (f *foreground) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(p)
}

func (f *foreground) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

// waitFor waits for text in the output; the command exiting first fails
// the test.
func (f *foreground) waitFor(t *testing.T, text string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(f.output(), text) {
		select {
		case err := <-f.done:
			f.done <- err
			t.Fatalf("%s exited (%v) before printing %q:\n%s", f.line, err, text, f.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s:\n%s", f.line, text, timeout, f.output())
		}
	}
	return f.output()
}

// interrupt presses Ctrl-C: SIGINT to the whole process group, as a
// terminal sends it. make reports the interrupt of its recipe and exits
// non-zero; what counts is that nexus stopped cleanly.
func (f *foreground) interrupt(t *testing.T) string {
	t.Helper()
	if err := syscall.Kill(-f.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s did not stop within 3 minutes of Ctrl-C:\n%s", f.line, f.output())
	}
	out := f.output()
	if !strings.Contains(out, "Stopped.") {
		t.Errorf("%s after Ctrl-C: no %q in its output:\n%s", f.line, "Stopped.", out)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:9100", time.Second); err == nil {
		c.Close()
		t.Errorf("the quickstart's bus still listens after Ctrl-C")
	}
	return out
}
