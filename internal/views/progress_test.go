package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// terminal is a pseudo-terminal whose output is read into a screen model.
type terminal struct {
	ptmx, tty *os.File
	mu        sync.Mutex
	raw       bytes.Buffer
	done      chan struct{}
}

func openTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{ptmx: ptmx, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.raw.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return // EIO once the tty side is closed
			}
		}
	}()
	t.Cleanup(func() { tm.closeTTY(); ptmx.Close() })
	return tm
}

// closeTTY closes the terminal's tty side and waits for its output.
func (tm *terminal) closeTTY() {
	if tm.tty != nil {
		tm.tty.Close()
		tm.tty = nil
		<-tm.done
	}
}

// screen is what the terminal shows now.
func (tm *terminal) screen() []string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return render(tm.raw.String())
}

// waitFor polls the screen until a line contains every one of parts.
func (tm *terminal) waitFor(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, l := range tm.screen() {
			if containsAll(l, parts...) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("got screen:\n%s\nwant: a line with %q", strings.Join(tm.screen(), "\n"), parts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// render plays terminal output onto a screen: text, newlines, carriage
// returns, and the escape sequences mpb redraws with (cursor up, erase to
// the end of the screen); colours are dropped.
func render(out string) []string {
	var lines [][]rune
	row, col := 0, 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, nil)
		}
		for len(lines[row]) < col {
			lines[row] = append(lines[row], ' ')
		}
		if col < len(lines[row]) {
			lines[row][col] = r
		} else {
			lines[row] = append(lines[row], r)
		}
		col++
	}
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '\n':
			row, col = row+1, 0
		case '\r':
			col = 0
		case '\x1b':
			j := i + 1
			if j < len(rs) && rs[j] == '[' {
				j++
				for j < len(rs) && (rs[j] < '@' || rs[j] > '~') {
					j++
				}
				if j < len(rs) {
					param := string(rs[i+2 : j])
					switch rs[j] {
					case 'A':
						n, err := strconv.Atoi(param)
						if err != nil {
							n = 1
						}
						row = max(row-n, 0)
					case 'J':
						if row < len(lines) {
							lines[row] = lines[row][:min(col, len(lines[row]))]
							lines = lines[:row+1]
						}
					case 'K':
						if row < len(lines) {
							lines[row] = lines[row][:min(col, len(lines[row]))]
						}
					}
				}
			}
			i = j
		default:
			put(r)
		}
	}
	out2 := make([]string, 0, len(lines))
	for _, l := range lines {
		out2 = append(out2, strings.TrimRight(string(l), " "))
	}
	for len(out2) > 0 && out2[len(out2)-1] == "" {
		out2 = out2[:len(out2)-1]
	}
	return out2
}

// testPlan is three creates: module.g.a and module.g.c in wave 1,
// module.g.b (depending on a) in wave 2.
func testPlan() *planner.Plan {
	create := []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
	return &planner.Plan{FormatVersion: planner.FormatVersion, Project: "default", Changes: []*planner.Change{
		{Address: "module.g.a", ID: "g/a", Action: planner.Create, Wave: 1, Transitions: create},
		{Address: "module.g.c", ID: "g/c", Action: planner.Create, Wave: 1, Transitions: create},
		{Address: "module.g.b", ID: "g/b", Action: planner.Create, Wave: 2, Transitions: create},
	}}
}

// stream builds apply messages.
type stream struct{ t0 time.Time }

func (s stream) msg(typ, addr string, t modules.Transition, ms int64) api.Message {
	m := api.Message{Level: "info", Module: "nexus.ui", Timestamp: s.t0, Type: typ}
	if addr != "" {
		m.Hook = &api.Hook{Address: addr, ID: strings.TrimPrefix(addr, "module."), Action: "create", Transition: string(t), ElapsedMS: ms}
	}
	switch typ {
	case "apply_start":
		m.Text = "Applying 3 changes"
	case "transition_start":
		m.Text = addr + ": " + string(t) + "..."
	case "transition_complete":
		m.Text = addr + ": " + string(t) + " complete after " + strconv.FormatInt(ms, 10) + "ms"
	}
	return m
}

func (s stream) complete(ok, failed, skipped int) api.Message {
	return api.Message{Level: "info", Type: "apply_complete", Timestamp: s.t0,
		Summary: &api.ApplySummary{Changes: ok + failed + skipped, Succeeded: ok, Failed: failed, Skipped: skipped,
			Transitions: 3 * (ok + failed), ElapsedMS: 42, Serial: 7}}
}

// succeed sends the start and completion of each transition of addr.
func (s stream) succeed(v ApplyView, addr string) {
	for i, t := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
		v.Message(s.msg("transition_start", addr, t, 0))
		v.Message(s.msg("transition_complete", addr, t, int64(i+1)))
	}
}

func countLines(screen []string, parts ...string) int {
	n := 0
	for _, l := range screen {
		if containsAll(l, parts...) {
			n++
		}
	}
	return n
}

func TestApplyProgress_keepsFinishedLinesAndWaves(t *testing.T) {
	tm := openTerminal(t)
	v := NewApplyProgress(tm.tty, testPlan(), ProgressOptions{RefreshRate: 5 * time.Millisecond})
	s := stream{t0: time.Now()}
	v.Message(s.msg("apply_start", "", "", 0))
	s.succeed(v, "module.g.a")
	s.succeed(v, "module.g.c")
	tm.waitFor(t, "Wave 1", "6/6", "done in")
	s.succeed(v, "module.g.b")
	v.Message(s.complete(3, 0, 0))
	v.Close()
	tm.closeTTY()

	screen := tm.screen()
	for _, want := range [][]string{
		{"Applying 3 changes..."},
		{"Wave 1: 6/6 transitions done in"},
		{"Wave 2: 3/3 transitions done in"},
		{"✓ module.g.a: init complete after 1ms"},
		{"✓ module.g.a: load complete after 2ms"},
		{"✓ module.g.a: start complete after 3ms"},
		{"✓ module.g.c: start complete after 3ms"},
		{"✓ module.g.b: init complete after 1ms"},
		{"✓ module.g.b: start complete after 3ms"},
		{"Apply complete! 3 changed in 42ms (9 transitions). State serial 7."},
	} {
		if n := countLines(screen, want...); n != 1 {
			t.Errorf("got: %d lines with %q on the screen\nwant: 1\nscreen:\n%s", n, want, strings.Join(screen, "\n"))
		}
	}
	// The live part (bars, running lines, the footer) is gone.
	if n := countLines(screen, "running,"); n != 0 || countLines(screen, "[") != 0 {
		t.Errorf("got: the live display left on the screen\n%s", strings.Join(screen, "\n"))
	}
	// Lines keep the order things happened in: wave 1's line comes
	// after its last transition and before wave 2's first.
	order := []string{"module.g.a: init", "module.g.c: start", "Wave 1:", "module.g.b: init", "Wave 2:", "Apply complete!"}
	for i := 1; i < len(order); i++ {
		if a, b := lineIndex(screen, order[i-1]), lineIndex(screen, order[i]); a < 0 || b <= a {
			t.Errorf("got: %q at line %d, %q at line %d\nwant: in that order\nscreen:\n%s", order[i-1], a, order[i], b, strings.Join(screen, "\n"))
		}
	}
}

func lineIndex(screen []string, part string) int {
	for i, l := range screen {
		if strings.Contains(l, part) {
			return i
		}
	}
	return -1
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func TestApplyProgress_showsRunningTransitionWithElapsedTime(t *testing.T) {
	tm := openTerminal(t)
	clk := &clock{}
	clk.add(time.Hour)
	v := NewApplyProgress(tm.tty, testPlan(), ProgressOptions{RefreshRate: 5 * time.Millisecond, Now: clk.now})
	s := stream{t0: time.Now()}
	v.Message(s.msg("apply_start", "", "", 0))
	v.Message(s.msg("transition_start", "module.g.a", modules.TransitionInit, 0))
	clk.add(2500 * time.Millisecond)
	tm.waitFor(t, "module.g.a: init", "2.50s")
	tm.waitFor(t, "Wave 1 [", "] 0/6  2.50s")
	tm.waitFor(t, "0/9 transitions, 1 running, 2.50s")
	v.Message(s.msg("transition_complete", "module.g.a", modules.TransitionInit, 2500))
	tm.waitFor(t, "✓ module.g.a: init complete after 2.50s")
	tm.waitFor(t, "Wave 1 [", "] 1/6")
	v.Close()
}

func TestApplyProgress_failureSkipsAndInterruption(t *testing.T) {
	tm := openTerminal(t)
	v := NewApplyProgress(tm.tty, testPlan(), ProgressOptions{RefreshRate: 5 * time.Millisecond})
	s := stream{t0: time.Now()}
	v.Message(s.msg("apply_start", "", "", 0))
	v.Message(s.msg("transition_start", "module.g.a", modules.TransitionInit, 0))
	errored := s.msg("transition_errored", "module.g.a", modules.TransitionInit, 5)
	errored.Hook.Error = "boom"
	v.Message(errored)
	skipped := s.msg("transition_skipped", "module.g.b", modules.TransitionInit, 0)
	skipped.Hook.Cause = "module.g.a"
	v.Message(skipped)
	v.Message(skipped) // a change's down and up halves are both reported
	v.Message(s.msg("transition_start", "module.g.c", modules.TransitionInit, 0))
	// The stream breaks off: no completion, no summary.
	v.Close()
	tm.closeTTY()

	screen := tm.screen()
	for _, want := range [][]string{
		{"✗ module.g.a: init failed after 5ms: boom"},
		{"- module.g.b: skipped (module.g.a failed)"},
		{"Wave 2: 3/3 transitions, 1 skipped, in"},
		{"… module.g.c: init interrupted"},
		{"Wave 1: 3/6 transitions interrupted after"},
	} {
		if n := countLines(screen, want...); n != 1 {
			t.Errorf("got: %d lines with %q\nwant: 1\nscreen:\n%s", n, want, strings.Join(screen, "\n"))
		}
	}
	if strings.Contains(strings.Join(screen, "\n"), "Apply complete") {
		t.Errorf("got: a summary\nwant: none, the stream had none\nscreen:\n%s", strings.Join(screen, "\n"))
	}
}

func TestApplyProgress_closeTwiceAndUnknownChanges(t *testing.T) {
	tm := openTerminal(t)
	v := NewApplyProgress(tm.tty, nil, ProgressOptions{RefreshRate: 5 * time.Millisecond})
	s := stream{t0: time.Now()}
	v.Message(s.msg("transition_start", "module.x.y", modules.TransitionStart, 0))
	v.Message(s.msg("transition_complete", "module.x.y", modules.TransitionStart, 1))
	v.Message(s.complete(1, 0, 0))
	v.Close()
	v.Close()
	tm.closeTTY()
	screen := tm.screen()
	for _, want := range [][]string{{"✓ module.x.y: start complete after 1ms"}, {"Other: 1/1 transitions done"}, {"Apply complete!"}} {
		if countLines(screen, want...) != 1 {
			t.Errorf("got screen:\n%s\nwant: a line with %q", strings.Join(screen, "\n"), want)
		}
	}
}

func TestApplyPlain_oneLinePerFinishedTransition(t *testing.T) {
	var buf bytes.Buffer
	v := NewApplyPlain(&buf, false)
	s := stream{t0: time.Now()}
	v.Message(s.msg("apply_start", "", "", 0))
	s.succeed(v, "module.g.a")
	errored := s.msg("transition_errored", "module.g.c", modules.TransitionInit, 5)
	errored.Hook.Error = "boom"
	v.Message(s.msg("transition_start", "module.g.c", modules.TransitionInit, 0))
	v.Message(errored)
	skipped := s.msg("transition_skipped", "module.g.b", modules.TransitionInit, 0)
	skipped.Hook.Cause = "module.g.c"
	v.Message(skipped)
	sum := s.complete(1, 1, 1)
	sum.Summary.Errors = []string{"init module.g.c: boom"}
	v.Message(sum)
	v.Close()
	want := `Applying 3 changes...
module.g.a: init complete after 1ms
module.g.a: load complete after 2ms
module.g.a: start complete after 3ms
module.g.c: init failed: boom
module.g.b: skipped (module.g.c failed)

Apply failed. 1 changed, 1 failed, 1 skipped, 0 not started. State serial 7.
  Error: init module.g.c: boom
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("got: escape codes in plain output\n%q", buf.String())
	}
}

func TestApplyJSON_terraformMessageShape(t *testing.T) {
	var buf bytes.Buffer
	v := NewApplyJSON(&buf)
	s := stream{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	v.Message(s.msg("apply_start", "", "", 0))
	s.succeed(v, "module.g.a")
	v.Message(s.complete(1, 0, 0))
	v.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("got: %d lines\nwant: 8 (start, 3 starts, 3 completions, summary)\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, l)
		}
		for _, k := range []string{"@level", "@message", "@timestamp", "@module", "type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d: got: no %q\nwant: Terraform's apply -json keys\n%s", i+1, k, l)
			}
		}
		if m["@timestamp"] != "2026-01-02T03:04:05Z" {
			t.Errorf("line %d: got: @timestamp %v\nwant: RFC 3339", i+1, m["@timestamp"])
		}
	}
	if !strings.Contains(lines[7], `"type":"apply_complete"`) || !strings.Contains(lines[7], `"changes":{`) {
		t.Errorf("got last line: %s\nwant: apply_complete with its changes", lines[7])
	}
}

// BenchmarkApplyProgress_10000 feeds the progress display the messages of
// a 10,000-change apply (30,000 transitions in 20 waves, ten at a time),
// on a pseudo-terminal: the display must keep up with the stream, or the
// daemon's apply waits for the terminal.
func BenchmarkApplyProgress_10000(b *testing.B) {
	const n, waves, par = 10000, 20, 10
	create := []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
	p := &planner.Plan{}
	for i := range n {
		p.Changes = append(p.Changes, &planner.Change{Address: fmt.Sprintf("module.g.m%05d", i), Wave: 1 + i*waves/n, Transitions: create})
	}
	s := stream{t0: time.Now()}
	for b.Loop() {
		b.StopTimer()
		ptmx, tty, err := pty.Open()
		if err != nil {
			b.Skipf("no pseudo-terminal here: %v", err)
		}
		_ = pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 120})
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, ptmx); close(drained) }()
		b.StartTimer()
		v := NewApplyProgress(tty, p, ProgressOptions{})
		v.Message(s.msg("apply_start", "", "", 0))
		for i := 0; i < n; i += par {
			for _, t := range create {
				for j := i; j < i+par; j++ {
					v.Message(s.msg("transition_start", p.Changes[j].Address, t, 0))
				}
				for j := i; j < i+par; j++ {
					v.Message(s.msg("transition_complete", p.Changes[j].Address, t, 1))
				}
			}
		}
		v.Message(s.complete(n, 0, 0))
		v.Close()
		b.StopTimer()
		tty.Close()
		<-drained
		ptmx.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/apply")
}
