package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/daemon"
	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// viewDaemon starts an in-process daemon listening only on a unix socket
// and returns its address.
func viewDaemon(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nxview") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "nexus.sock")
	cfg := &daemoncfg.Config{
		DataDir: filepath.Join(dir, "data"), Node: "test", SecretCheckInterval: time.Hour,
		Listeners: []daemoncfg.Listener{{Type: "unix", Path: sock, Mode: 0o600}},
		State:     daemoncfg.State{Type: "file", Path: filepath.Join(dir, "data", "state")},
		Secrets:   []daemoncfg.Secrets{{Type: "env", Name: "env", Prefix: daemoncfg.DefaultEnvPrefix}},
		Audit:     daemoncfg.Audit{Path: filepath.Join(dir, "data", "audit.log")},
	}
	ctx := context.Background()
	d, err := daemon.New(ctx, cfg, builtin.Registry(), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := d.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "unix://" + sock
}

// viewTopology writes three target modules, b depending on a.
func viewTopology(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := `module "g" "a" { kind = "target" }
module "g" "b" {
  kind       = "target"
  depends_on = [module.g.a]
}
module "g" "c" { kind = "target" }
`
	if err := os.WriteFile(filepath.Join(dir, "main.nexus.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func viewApp(stdout *os.File, out *bytes.Buffer, term string) *App {
	a := &App{Registry: builtin.Registry(), Stdin: strings.NewReader(""), Stderr: &bytes.Buffer{},
		Getenv: func(k string) string {
			if k == "TERM" {
				return term
			}
			return ""
		}}
	if stdout != nil {
		a.Stdout = stdout
	} else {
		a.Stdout = out
	}
	return a
}

func TestApply_progressOnTerminal(t *testing.T) {
	addr, dir := viewDaemon(t), viewTopology(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var raw bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			raw.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	code := viewApp(tty, nil, "xterm-256color").Run([]string{"apply", "--auto-approve", "--no-color", "--address", addr, dir})
	tty.Close()
	<-read
	out := raw.String()
	if code != 0 {
		t.Fatalf("got: exit %d\nwant: 0\n%s", code, out)
	}
	// The ✓ marks are the progress display's (the plain view has none);
	// its live rendering is tested in package views.
	text := strings.ReplaceAll(out, "\r", "")
	for _, want := range []string{
		"✓ module.g.a: init complete after", "✓ module.g.a: start complete after", "✓ module.g.b: start complete after",
		"Wave 1: 6/6 transitions done in", "Wave 2: 3/3 transitions done in", "Apply complete! 3 changed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("got:\n%s\nwant: a line with %q", text, want)
		}
	}
}

func TestApply_plainLinesOffTerminal(t *testing.T) {
	addr, dir := viewDaemon(t), viewTopology(t)
	var out bytes.Buffer
	if code := viewApp(nil, &out, "xterm").Run([]string{"apply", "--auto-approve", "--address", addr, dir}); code != 0 {
		t.Fatalf("got: exit %d\nwant: 0\n%s", code, out.String())
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("got: escape codes off a terminal\n%q", out.String())
	}
	var finished int
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "module.g.") && strings.Contains(l, " complete after ") {
			finished++
		}
	}
	if finished != 9 {
		t.Errorf("got: %d transition lines\nwant: 9, one per finished transition\n%s", finished, out.String())
	}
}

func TestApply_jsonStream(t *testing.T) {
	addr, dir := viewDaemon(t), viewTopology(t)
	var out bytes.Buffer
	if code := viewApp(nil, &out, "xterm").Run([]string{"apply", "--auto-approve", "--json", "--address", addr, dir}); code != 0 {
		t.Fatalf("got: exit %d\nwant: 0\n%s", code, out.String())
	}
	types := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("got: a line that is not JSON: %v\n%s", err, sc.Text())
		}
		for _, k := range []string{"@level", "@message", "@timestamp", "type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("got: no %q in %s", k, sc.Text())
			}
		}
		types[m["type"].(string)]++
	}
	if types["apply_start"] != 1 || types["transition_complete"] != 9 || types["apply_complete"] != 1 {
		t.Errorf("got: %v\nwant: 1 apply_start, 9 transition_complete, 1 apply_complete", types)
	}
}

func TestApplyView_terminalThatCannotRedrawGetsPlainLines(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for name, tc := range map[string]struct {
		term    string
		size    bool
		display bool
	}{
		"sized xterm":       {term: "xterm", size: true, display: true},
		"dumb terminal":     {term: "dumb", size: true},
		"terminal, no size": {term: "xterm"},
	} {
		t.Run(name, func(t *testing.T) {
			ws := &pty.Winsize{}
			if tc.size {
				ws = &pty.Winsize{Rows: 24, Cols: 80}
			}
			if err := pty.Setsize(ptmx, ws); err != nil {
				t.Fatal(err)
			}
			if got := viewApp(tty, nil, tc.term).canRedraw(tty); got != tc.display {
				t.Errorf("got: canRedraw %v\nwant: %v", got, tc.display)
			}
		})
	}
}
