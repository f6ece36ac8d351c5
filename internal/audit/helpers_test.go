package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// t0 is the fake clock's start.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock advances by step on every reading.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: t0, step: time.Minute} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// testKey is a fixed HMAC key for tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// openTest opens a log in a fresh temporary directory and closes it when
// the test ends.
func openTest(t testing.TB) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{Key: testKey, Now: newFakeClock().Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

// appendN appends n records numbered from 1 in their principal and details.
func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		r := Record{
			Type: TypeTransition, Principal: fmt.Sprintf("p%d", i), RequestID: fmt.Sprintf("req-%d", i),
			Outcome: OutcomeOK, Module: "synapse/bus", Details: map[string]string{"transition": "start", "n": fmt.Sprint(i)},
		}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// readLines returns the file's lines, each without its newline.
func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// joinLines is the inverse of readLines.
func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

// verifyFile verifies the log file at path and fails the test on an error.
func verifyFile(t testing.TB, path string) Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Verify(f)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// opensslHMAC is HMAC-SHA256(testKey, "hunter2") as openssl computes it.
const opensslHMAC = "3920d54ec70f500ee54e1da041d2364a8e57dd252f7a81ed8acd58ad6cf3b6d0"
