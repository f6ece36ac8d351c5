package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// gatedWriter records what it is given; while its gate is shut, writes
// wait.
type gatedWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{} // nil: open
	err    error
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if g.gate != nil {
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes++
	g.buf.Write(p)
	return len(p), g.err
}

func (g *gatedWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestAsyncWriter_keepsEveryLineInOrder(t *testing.T) {
	g := &gatedWriter{}
	a := NewAsyncWriter(g, 256) // small: writers wait for room often
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := range 500 {
				fmt.Fprintf(a, "w%d %04d\n", w, n)
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	lines := strings.Split(strings.TrimSpace(g.String()), "\n")
	for _, l := range lines {
		var w string
		var n int
		if _, err := fmt.Sscanf(l, "%s %d", &w, &n); err != nil {
			t.Fatalf("got: a torn line %q", l)
		}
		if n != next[w] {
			t.Fatalf("got: %s line %d after %d\nwant: each writer's lines in order", w, n, next[w]-1)
		}
		next[w]++
	}
	if len(lines) != 8*500 {
		t.Errorf("got: %d lines\nwant: %d", len(lines), 8*500)
	}
	if g.writes >= len(lines) {
		t.Errorf("got: %d writes for %d lines\nwant: lines batched", g.writes, len(lines))
	}
}

func TestAsyncWriter_writesReturnAtOnceUntilFull(t *testing.T) {
	g := &gatedWriter{gate: make(chan struct{})}
	a := NewAsyncWriter(g, 10)
	if _, err := a.Write([]byte("0123456789")); err != nil { // taken at once, or by the goroutine now stuck at the gate
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = a.Write([]byte("abcdefghij"))
		_, _ = a.Write([]byte("klmnopqrst")) // no room until the gate opens
	}()
	select {
	case <-done:
		t.Fatal("got: writes past the buffer's size returned while nothing could be written out\nwant: them waiting")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-done
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := g.String(); got != "0123456789abcdefghijklmnopqrst" {
		t.Errorf("got: %q\nwant: everything, in order", got)
	}
}

func TestAsyncWriter_flushAndCloseReportWriteErrors(t *testing.T) {
	g := &gatedWriter{err: errors.New("broken pipe")}
	a := NewAsyncWriter(g, 0)
	fmt.Fprintln(a, "one")
	if err := a.Flush(); err == nil || err.Error() != "broken pipe" {
		t.Errorf("Flush: got: %v\nwant: the write error", err)
	}
	if err := a.Close(); err == nil {
		t.Errorf("Close: got: nil\nwant: the write error")
	}
	if err := a.Close(); err == nil {
		t.Errorf("second Close: got: nil\nwant: the same error")
	}
	g.err = nil
	fmt.Fprintln(a, "after close")
	if got := g.String(); got != "one\nafter close\n" {
		t.Errorf("got: %q\nwant: writes after Close written through", got)
	}
}

func TestNewLogger_flushesWarningsAtOnce(t *testing.T) {
	g := &gatedWriter{}
	a := NewAsyncWriter(g, 0)
	defer a.Close()
	l, err := NewLogger(a, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("first")
	l.With("module_id", "g/a").Warn("second")
	// Flushed before Warn returned: both records are out, in order.
	got := g.String()
	if i, j := strings.Index(got, `"msg":"first"`), strings.Index(got, `"msg":"second"`); i < 0 || j < i {
		t.Errorf("got: %q\nwant: both records written out when Warn returns", got)
	}
}

func TestNewLogger_seesTheTerminalBehindAnAsyncWriter(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	a, b := NewAsyncWriter(tty, 0), NewAsyncWriter(&bytes.Buffer{}, 0)
	defer a.Close()
	defer b.Close()
	if !isTerminal(a) || isTerminal(b) {
		t.Errorf("got: isTerminal %v, %v\nwant: true for a terminal behind an AsyncWriter, false for a buffer", isTerminal(a), isTerminal(b))
	}
}
