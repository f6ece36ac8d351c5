package tfbench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	LauncherMain() // run() starts measured commands through the test binary
	os.Exit(m.Run())
}

func TestRun_maxRSSExcludesTheHarness(t *testing.T) {
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1 // resident, so that it would show in an inherited max RSS
	}
	dir := t.TempDir()
	u, _, err := run(context.Background(), command{dir: dir, args: []string{"true"}, log: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatalf("got: %v\nwant: no error", err)
	}
	if u.MaxRSS <= 0 || u.MaxRSS > 64<<20 {
		t.Errorf("got: max RSS %d MiB for true(1)\nwant: a few MiB, not the harness's 256 MiB", u.MaxRSS>>20)
	}
	runtime.KeepAlive(ballast)
}

func TestParseStatCPU_fields(t *testing.T) {
	tests := map[string]struct {
		stat    string
		want    time.Duration
		wantErr string
	}{
		"plain": {
			stat: "1234 (nexus) S 1 1234 1234 0 -1 4194560 2000 0 0 0 150 25 0 0 20 0 12 0",
			want: 1750 * time.Millisecond,
		},
		"name with spaces and parens": {
			stat: "1234 (a) b (c) R 1 1234 1234 0 -1 4194560 2000 0 0 0 7 3 0 0 20 0 12 0",
			want: 100 * time.Millisecond,
		},
		"no name":   {stat: "1234 S 1", wantErr: "no command name"},
		"truncated": {stat: "1234 (x) S 1 2 3", wantErr: "fields after the command name"},
		"not a number": {
			stat:    "1234 (x) S 1 1234 1234 0 -1 4194560 2000 0 0 0 x 25 0 0",
			wantErr: "invalid syntax",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got: %v\nwant: an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got: %v, %v\nwant: %v, no error", got, err, tt.want)
			}
		})
	}
}

func TestParseStatusKB_lookup(t *testing.T) {
	status := "Name:\tnexus\nVmPeak:\t  900 kB\nVmHWM:\t   64848 kB\nVmRSS:\t 1 kB\n"
	got, err := parseStatusKB(strings.NewReader(status), "VmHWM")
	if err != nil || got != 64848*1024 {
		t.Errorf("got: %d, %v\nwant: %d, no error", got, err, 64848*1024)
	}
	if _, err := parseStatusKB(strings.NewReader(status), "VmSwap"); err == nil {
		t.Errorf("got: no error for a missing key\nwant: an error")
	}
	if _, err := parseStatusKB(strings.NewReader("VmHWM: lots\n"), "VmHWM"); err == nil {
		t.Errorf("got: no error for a malformed value\nwant: an error")
	}
}

func TestRun_measuresRealProcess(t *testing.T) {
	dir := t.TempDir()
	c := command{dir: dir, args: []string{"sh", "-c", "echo hello; exit 2"}, log: filepath.Join(dir, "log"), ok: []int{2}}
	u, code, err := run(context.Background(), c)
	if err != nil || code != 2 {
		t.Fatalf("got: code %d, %v\nwant: code 2, no error", code, err)
	}
	if u.Wall <= 0 || u.MaxRSS <= 0 {
		t.Errorf("got: %+v\nwant: a positive wall time and max RSS", u)
	}
}

func TestRun_unexpectedExitQuotesOutput(t *testing.T) {
	dir := t.TempDir()
	c := command{dir: dir, args: []string{"sh", "-c", "echo Error: no such thing; exit 1"}, log: filepath.Join(dir, "log")}
	_, code, err := run(context.Background(), c)
	if err == nil || code != 1 {
		t.Fatalf("got: code %d, %v\nwant: code 1 and an error", code, err)
	}
	if !strings.Contains(err.Error(), "Error: no such thing") {
		t.Errorf("got: %v\nwant: the command's output quoted", err)
	}
}

func TestRun_timeout(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := command{dir: dir, args: []string{"sleep", "60"}, log: filepath.Join(dir, "log")}
	_, _, err := run(ctx, c)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("got: %v\nwant: an error wrapping ErrTimeout", err)
	}
}
