package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// kept returns the content of path's rotated files, oldest first, then of
// path itself, and fails if any file exceeds maxSize.
func kept(t *testing.T, path string, maxSize int64, maxFiles int) []byte {
	t.Helper()
	var all []byte
	for i := maxFiles + 3; i >= 0; i-- {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		buf, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > maxFiles {
			t.Errorf("got: %s, want: at most %d rotated files", name, maxFiles)
		}
		if int64(len(buf)) > maxSize {
			t.Errorf("got: %s of %d bytes, want: at most %d", name, len(buf), maxSize)
		}
		all = append(all, buf...)
	}
	return all
}

func lines(n, width int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%0*d\n", width-1, i)
	}
	return b.Bytes()
}

func TestWriter_rotatesBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "stdout.log")
	w, err := Open(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := lines(100, 10)
	for l := range bytes.Lines(in) {
		if _, err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := kept(t, path, 100, 2)
	if want := in[len(in)-300:]; !bytes.Equal(got, want) {
		t.Errorf("got: %q\nwant: the last 300 bytes written, %q", got, want)
	}
}

func TestWriter_cutsAtLastNewline(t *testing.T) {
	tests := map[string]struct {
		writes   []string
		wantLive string
		wantOld  string
	}{
		"a line that does not fit starts the next file": {
			writes: []string{"aaaaaa\n", "bbbbbb\n"}, wantOld: "aaaaaa\n", wantLive: "bbbbbb\n",
		},
		"a chunk is cut after its last line that fits": {
			writes: []string{"aaa\nbbb\ncccccc\n"}, wantOld: "aaa\nbbb\n", wantLive: "cccccc\n",
		},
		"a line longer than a file is cut at the size": {
			writes: []string{"0123456789abcd"}, wantOld: "0123456789", wantLive: "abcd",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			w, err := Open(path, 10, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			live, _ := os.ReadFile(path)
			old, _ := os.ReadFile(path + ".1")
			if string(live) != tt.wantLive || string(old) != tt.wantOld {
				t.Errorf("got: live %q, .1 %q\nwant: live %q, .1 %q", live, old, tt.wantLive, tt.wantOld)
			}
		})
	}
}

func TestWriter_appendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	if err := os.WriteFile(path, []byte("12345678\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := Open(path, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write([]byte("abc\n")); err != nil {
		t.Fatal(err)
	}
	live, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if string(old) != "12345678\n" || string(live) != "abc\n" {
		t.Errorf("got: live %q, .1 %q\nwant: the old content rotated out, the new one in the live file", live, old)
	}
}

func TestWriter_setLimitsPrunesExtraFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := Open(path, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(lines(8, 4))
	if _, err := os.Stat(path + ".5"); err != nil {
		t.Fatalf("want 5 rotated files before lowering the limit: %v", err)
	}
	if err := w.SetLimits(4, 2); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("xyz\n"))
	kept(t, path, 4, 2)
}

func TestWriter_keepNoRotatedFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := Open(path, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("abc\ndef\n"))
	if got := kept(t, path, 4, 0); string(got) != "def\n" {
		t.Errorf("got: %q, want: %q", got, "def\n")
	}
}

func TestWriter_invalidLimits(t *testing.T) {
	dir := t.TempDir()
	for _, lim := range [][2]int{{0, 1}, {-1, 1}, {10, -1}} {
		if _, err := Open(filepath.Join(dir, "x.log"), int64(lim[0]), lim[1]); err == nil {
			t.Errorf("Open with size %d, files %d: got: nil error, want: an error", lim[0], lim[1])
		}
	}
}

func TestWriter_writeAfterClose(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "out.log"), 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: got: %v, want: nil", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("got: %v, want: ErrClosed", err)
	}
}

func TestWriter_concurrentLinesStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := Open(path, 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				fmt.Fprintf(w, "writer %d line %03d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Close()
	got := kept(t, path, 1000, 100)
	for l := range strings.Lines(string(got)) {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d\n", &g, &i); err != nil {
			t.Fatalf("got: torn line %q", l)
		}
	}
	if n := strings.Count(string(got), "\n"); n != 800 {
		t.Errorf("got: %d lines, want: 800", n)
	}
}

// FuzzWriter checks the two promises for any sequence of writes: no file is
// larger than the maximum, and what is kept is exactly the tail of what was
// written.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint8(5), uint8(2), uint8(3))
	f.Add([]byte("no newline at all, a long line"), uint8(7), uint8(1), uint8(4))
	f.Add([]byte("\n\n\n\n"), uint8(1), uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, size, files, chunk uint8) {
		maxSize, maxFiles, step := int64(size%64)+1, int(files%4), int(chunk%16)+1
		path := filepath.Join(t.TempDir(), "out.log")
		w, err := Open(path, maxSize, maxFiles)
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; {
			n := min(step, len(rest))
			if m, err := w.Write(rest[:n]); err != nil || m != n {
				t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
			}
			rest = rest[n:]
		}
		w.Close()
		got := kept(t, path, maxSize, maxFiles)
		if !bytes.HasSuffix(data, got) {
			t.Errorf("got: %q, want: a suffix of %q", got, data)
		}
	})
}

func TestConfigLimits(t *testing.T) {
	tests := map[string]struct {
		sizeMB, files float64
		wantSize      int64
		wantFiles     int
		wantErr       bool
	}{
		"defaults":          {10, 3, 10 << 20, 3, false},
		"fraction of a MiB": {0.5, 1, 1 << 19, 1, false},
		"at least 1 KiB":    {1e-9, 1, 1 << 10, 1, false},
		"zero size":         {0, 3, 0, 0, true},
		"no files":          {10, 0, 0, 0, true},
		"half a file":       {10, 1.5, 0, 0, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			size, files, err := ConfigLimits(tt.sizeMB, tt.files)
			if (err != nil) != tt.wantErr || size != tt.wantSize || files != tt.wantFiles {
				t.Errorf("got: %d, %d, %v, want: %d, %d, error %v", size, files, err, tt.wantSize, tt.wantFiles, tt.wantErr)
			}
		})
	}
}
