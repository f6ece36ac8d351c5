package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
)

// resolvers returns the resolution modes this host can test: openat2 (when
// the kernel has it) and the EvalSymlinks fallback.
func resolvers(t *testing.T) []bool {
	t.Helper()
	modes := []bool{false}
	if openat2Works(t.TempDir()) {
		modes = append(modes, true)
	} else {
		t.Log("openat2 is not available here; testing the fallback only")
	}
	return modes
}

func modeName(beneath bool) string {
	if beneath {
		return "openat2"
	}
	return "fallback"
}

// newStore returns a store in a fresh directory, forced to one resolution
// mode, and the directory that holds it (for things placed outside).
func newStore(t *testing.T, beneath bool) (*Store, string) {
	t.Helper()
	parent := t.TempDir()
	s, err := New(filepath.Join(parent, "secrets"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.beneath = beneath
	return s, parent
}

func canary(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "canary-" + hex.EncodeToString(b[:])
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestStore_roundTrip(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, _ := newStore(t, beneath)
			values := map[string]string{
				"token":            "s3cr3t",
				"db/password":      "with spaces and ünïcode",
				"a/b/c/deep":       "deep",
				"trailing-newline": "line\n",
				"empty":            "",
				"multi/line":       "one\ntwo\r\nthree",
			}
			for p, v := range values {
				if err := s.Put(ctx, p, "", v); err != nil {
					t.Fatalf("Put(%q): %v", p, err)
				}
			}
			for p, want := range values {
				got, err := s.Get(ctx, p, "")
				if err != nil {
					t.Fatalf("Get(%q): %v", p, err)
				}
				if got != want {
					t.Errorf("Get(%q) got: %q want: %q", p, got, want)
				}
				if err := s.Exists(ctx, p, ""); err != nil {
					t.Errorf("Exists(%q): %v", p, err)
				}
			}
			if err := s.Put(ctx, "token", "", "rotated"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, "token", ""); got != "rotated" {
				t.Errorf("after overwrite got: %q want: %q", got, "rotated")
			}
			if err := s.Delete(ctx, "token", ""); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(ctx, "token", ""); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Get after Delete got: %v want: ErrNotFound", err)
			}
			if err := s.Delete(ctx, "token", ""); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("second Delete got: %v want: ErrNotFound", err)
			}
		})
	}
}

func TestStore_handWrittenFile(t *testing.T) {
	s, _ := newStore(t, false)
	writeFile(t, filepath.Join(s.Dir(), "crlf"), "value\r\n", 0o600)
	writeFile(t, filepath.Join(s.Dir(), "two"), "value\n\n", 0o400)
	for path, want := range map[string]string{"crlf": "value", "two": "value\n"} {
		got, err := s.Get(context.Background(), path, "")
		if err != nil {
			t.Fatalf("Get(%q): %v", path, err)
		}
		if got != want {
			t.Errorf("Get(%q) got: %q want: %q (one trailing newline trimmed)", path, got, want)
		}
	}
}

func TestStore_jsonKeys(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, _ := newStore(t, beneath)
			if err := s.Put(ctx, "db", "user", "app"); err != nil {
				t.Fatalf("Put user: %v", err)
			}
			if err := s.Put(ctx, "db", "password", "pw\"quoted\""); err != nil {
				t.Fatalf("Put password: %v", err)
			}
			for key, want := range map[string]string{"user": "app", "password": "pw\"quoted\""} {
				got, err := s.Get(ctx, "db", key)
				if err != nil {
					t.Fatalf("Get(db, %q): %v", key, err)
				}
				if got != want {
					t.Errorf("Get(db, %q) got: %q want: %q", key, got, want)
				}
			}
			if err := s.Exists(ctx, "db", "nope"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Exists(db, nope) got: %v want: ErrNotFound", err)
			}
			if err := s.Delete(ctx, "db", "user"); err != nil {
				t.Fatalf("Delete key: %v", err)
			}
			if _, err := s.Get(ctx, "db", "user"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Get deleted key got: %v want: ErrNotFound", err)
			}
			if got, _ := s.Get(ctx, "db", "password"); got != "pw\"quoted\"" {
				t.Errorf("other key after Delete got: %q", got)
			}
			if err := s.Delete(ctx, "db", "user"); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("Delete missing key got: %v want: ErrNotFound", err)
			}
		})
	}
}

func TestStore_jsonFieldTypes(t *testing.T) {
	s, _ := newStore(t, false)
	writeFile(t, filepath.Join(s.Dir(), "obj"), `{"n": 12345678901234567890, "f": 1.5, "b": true, "o": {"x": 1}, "nul": null}`, 0o600)
	tests := map[string]struct {
		want    string
		wantErr error
	}{
		"n":   {want: "12345678901234567890"},
		"f":   {want: "1.5"},
		"b":   {want: "true"},
		"o":   {want: `{"x":1}`},
		"nul": {wantErr: secrets.ErrNotFound},
		"x":   {wantErr: secrets.ErrNotFound},
	}
	for key, tt := range tests {
		t.Run(key, func(t *testing.T) {
			got, err := s.Get(context.Background(), "obj", key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got: %q want: %q", got, tt.want)
			}
		})
	}
}

func TestStore_traversalRefused(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, parent := newStore(t, beneath)
			writeFile(t, filepath.Join(parent, "x"), "outside", 0o600)
			for _, p := range []string{"../x", "a/../../x", "a/../x", "/etc/passwd", filepath.Join(parent, "x"), "./x", "a//b", "a/", "", ".hidden", "a/.nexus-tmp-1", "a\x00b"} {
				if _, err := s.Get(ctx, p, ""); !errors.Is(err, secrets.ErrInvalidPath) {
					t.Errorf("Get(%q) got: %v want: ErrInvalidPath", p, err)
				}
				if err := s.Put(ctx, p, "", "v"); !errors.Is(err, secrets.ErrInvalidPath) {
					t.Errorf("Put(%q) got: %v want: ErrInvalidPath", p, err)
				}
				if err := s.Delete(ctx, p, ""); !errors.Is(err, secrets.ErrInvalidPath) {
					t.Errorf("Delete(%q) got: %v want: ErrInvalidPath", p, err)
				}
			}
			if got, _ := os.ReadFile(filepath.Join(parent, "x")); string(got) != "outside" {
				t.Errorf("file outside the dir was changed: %q", got)
			}
		})
	}
}

func TestStore_symlinkOutsideRefused(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, parent := newStore(t, beneath)
			outside := filepath.Join(parent, "outside", "secret")
			writeFile(t, outside, "outside-value", 0o600)
			links := map[string]string{
				"abs-link": outside,                       // absolute, leads out
				"rel-link": "../outside/secret",           // relative, leads out
				"sub/deep": "../../outside/secret",        // from a subdirectory
				"proc":     "/proc/self/root" + outside,   // through a magic link
				"loop":     "loop",                        // a loop
				"dangling": filepath.Join(parent, "nope"), // out and missing
			}
			for name, target := range links {
				full := filepath.Join(s.Dir(), name)
				if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, full); err != nil {
					t.Fatal(err)
				}
			}
			for name := range links {
				_, err := s.Get(ctx, name, "")
				if name == "dangling" && !beneath {
					// The fallback cannot resolve a missing target to
					// tell where it leads; it is simply not found.
					if !errors.Is(err, secrets.ErrNotFound) && !errors.Is(err, secrets.ErrInvalidPath) {
						t.Errorf("Get(%q) got: %v want: ErrNotFound or ErrInvalidPath", name, err)
					}
					continue
				}
				if !errors.Is(err, secrets.ErrInvalidPath) {
					t.Errorf("Get(%q) got: %v want: ErrInvalidPath", name, err)
				}
				if err != nil && strings.Contains(err.Error(), "outside-value") {
					t.Errorf("error quotes the outside file's content: %v", err)
				}
			}
		})
	}
}

func TestStore_symlinkedDir(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, parent := newStore(t, beneath)
			outsideDir := filepath.Join(parent, "outside")
			writeFile(t, filepath.Join(outsideDir, "secret"), "outside-value", 0o600)
			if err := os.Symlink(outsideDir, filepath.Join(s.Dir(), "out")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "out/secret", ""); !errors.Is(err, secrets.ErrInvalidPath) {
				t.Errorf("Get through a symlinked dir outside got: %v want: ErrInvalidPath", err)
			}
			if err := s.Put(ctx, "out/planted", "", "v"); !errors.Is(err, secrets.ErrInvalidPath) {
				t.Errorf("Put through a symlinked dir outside got: %v want: ErrInvalidPath", err)
			}
			if err := s.Put(ctx, "out/new/planted", "", "v"); !errors.Is(err, secrets.ErrInvalidPath) {
				t.Errorf("Put creating dirs through a symlinked dir outside got: %v want: ErrInvalidPath", err)
			}
			if err := s.Delete(ctx, "out/secret", ""); !errors.Is(err, secrets.ErrInvalidPath) {
				t.Errorf("Delete through a symlinked dir outside got: %v want: ErrInvalidPath", err)
			}
			entries, _ := os.ReadDir(outsideDir)
			if len(entries) != 1 {
				t.Errorf("the outside dir got: %d entries want: 1 (nothing planted, nothing removed)", len(entries))
			}

			// Links that stay inside are followed, Kubernetes style.
			writeFile(t, filepath.Join(s.Dir(), "..2024", "token"), "inside-value", 0o600)
			if err := os.Symlink("..2024", filepath.Join(s.Dir(), "..data")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("..data/token", filepath.Join(s.Dir(), "token")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("..data", filepath.Join(s.Dir(), "current")); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"token", "current/token"} {
				got, err := s.Get(ctx, p, "")
				if err != nil {
					t.Fatalf("Get(%q) through inside links: %v", p, err)
				}
				if got != "inside-value" {
					t.Errorf("Get(%q) got: %q want: %q", p, got, "inside-value")
				}
			}
		})
	}
}

func TestNew_modes(t *testing.T) {
	parent := t.TempDir()
	loose := filepath.Join(parent, "loose")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(loose)
	if !errors.Is(err, secrets.ErrDenied) {
		t.Fatalf("New on a 0755 dir got: %v want: ErrDenied", err)
	}
	if !strings.Contains(err.Error(), "chmod 700 "+loose) {
		t.Errorf("error got: %q want: a `chmod 700 %s` hint", err, loose)
	}

	created := filepath.Join(parent, "a", "b", "secrets")
	s, err := New(created)
	if err != nil {
		t.Fatalf("New on a missing dir: %v", err)
	}
	for _, dir := range []string{created, filepath.Join(parent, "a", "b")} {
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s mode got: %04o want: 0700", dir, perm)
		}
	}

	if _, err := New(""); err == nil {
		t.Error("New(\"\") got: nil error")
	}
	file := filepath.Join(parent, "file")
	writeFile(t, file, "x", 0o600)
	if _, err := New(file); err == nil {
		t.Error("New on a regular file got: nil error")
	}

	// A symlinked root is resolved once and is fine.
	link := filepath.Join(parent, "link")
	if err := os.Symlink(created, link); err != nil {
		t.Fatal(err)
	}
	viaLink, err := New(link)
	if err != nil {
		t.Fatalf("New on a symlink to a good dir: %v", err)
	}
	if viaLink.Dir() != s.Dir() {
		t.Errorf("Dir got: %q want: %q", viaLink.Dir(), s.Dir())
	}
}

func TestStore_fileModes(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, false)
	secret := canary(t)
	loose := filepath.Join(s.Dir(), "loose")
	writeFile(t, loose, secret, 0o644)
	_, err := s.Get(ctx, "loose", "")
	if !errors.Is(err, secrets.ErrDenied) {
		t.Fatalf("Get of a 0644 file got: %v want: ErrDenied", err)
	}
	if !strings.Contains(err.Error(), "chmod 600 "+loose) {
		t.Errorf("error got: %q want: a `chmod 600 %s` hint", err, loose)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error contains the value: %q", err)
	}
	if err := s.Exists(ctx, "loose", ""); !errors.Is(err, secrets.ErrDenied) {
		t.Errorf("Exists of a 0644 file got: %v want: ErrDenied", err)
	}
	writeFile(t, filepath.Join(s.Dir(), "readonly"), "v", 0o400)
	if _, err := s.Get(ctx, "readonly", ""); err != nil {
		t.Errorf("Get of a 0400 file: %v", err)
	}

	// Put makes 0600 files and 0700 directories whatever the umask, and
	// tightens a file that was too loose.
	if err := s.Put(ctx, "new/dir/secret", "", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "loose", "", "v"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{"new": 0o700, "new/dir": 0o700, "new/dir/secret": 0o600, "loose": 0o600} {
		info, err := os.Stat(filepath.Join(s.Dir(), path))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode got: %04o want: %04o", path, got, want)
		}
	}
}

func TestStore_notARegularFile(t *testing.T) {
	s, _ := newStore(t, false)
	if err := os.Mkdir(filepath.Join(s.Dir(), "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, "dir", ""); !errors.Is(err, secrets.ErrInvalidPath) {
		t.Errorf("Get of a directory got: %v want: ErrInvalidPath", err)
	}
	if err := s.Put(ctx, "dir", "", "v"); !errors.Is(err, secrets.ErrInvalidPath) {
		t.Errorf("Put over a directory got: %v want: ErrInvalidPath", err)
	}
	if err := s.Delete(ctx, "dir", ""); !errors.Is(err, secrets.ErrInvalidPath) {
		t.Errorf("Delete of a directory got: %v want: ErrInvalidPath", err)
	}
	if _, err := s.Get(ctx, "dir/missing", ""); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Get of a missing file got: %v want: ErrNotFound", err)
	}
	writeFile(t, filepath.Join(s.Dir(), "file"), "v", 0o600)
	if _, err := s.Get(ctx, "file/below", ""); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Get below a file got: %v want: ErrNotFound", err)
	}
	if err := s.Put(ctx, "file/below", "", "v"); err == nil {
		t.Error("Put below a file got: nil error")
	}
}

func TestStore_tooLarge(t *testing.T) {
	s, _ := newStore(t, false)
	writeFile(t, filepath.Join(s.Dir(), "big"), strings.Repeat("x", MaxSecretSize+1), 0o600)
	if _, err := s.Get(context.Background(), "big", ""); err == nil {
		t.Error("Get of an oversized file got: nil error")
	}
	if err := s.Put(context.Background(), "big2", "", strings.Repeat("x", MaxSecretSize)); err == nil {
		t.Error("Put of an oversized value got: nil error")
	}
}

func TestStore_errorsNeverQuoteValues(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, false)
	secret := canary(t)
	writeFile(t, filepath.Join(s.Dir(), "plain"), secret, 0o600)
	writeFile(t, filepath.Join(s.Dir(), "broken"), `{"a": "`+secret+`" x}`, 0o600)
	writeFile(t, filepath.Join(s.Dir(), "obj"), `{"a": "`+secret+`"}`, 0o600)
	writeFile(t, filepath.Join(s.Dir(), "array"), `["`+secret+`"]`, 0o600)
	var errs []error
	for _, c := range []struct{ path, key string }{{"plain", "k"}, {"broken", "a"}, {"obj", "b"}, {"array", "a"}} {
		_, err := s.Get(ctx, c.path, c.key)
		if err == nil {
			t.Fatalf("Get(%q, %q) got: nil error", c.path, c.key)
		}
		errs = append(errs, err, s.Exists(ctx, c.path, c.key))
	}
	errs = append(errs, s.Put(ctx, "plain", "k", "v"), s.Delete(ctx, "plain", "k"), s.Delete(ctx, "obj", "b"))
	for _, err := range errs {
		if err == nil {
			t.Fatal("got: nil error want: an error")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error contains the secret value: %q", err)
		}
	}
	// A plain value is not clobbered by a keyed Put.
	if got, _ := s.Get(ctx, "plain", ""); got != secret {
		t.Errorf("plain file changed by a failed keyed Put")
	}
}

func TestStore_list(t *testing.T) {
	ctx := context.Background()
	for _, beneath := range resolvers(t) {
		t.Run(modeName(beneath), func(t *testing.T) {
			s, parent := newStore(t, beneath)
			for _, p := range []string{"db/password", "db/user", "dbx", "api/key", "z"} {
				if err := s.Put(ctx, p, "", "v"); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(s.Dir(), ".nexus-tmp-abc"), "partial", 0o600)
			writeFile(t, filepath.Join(s.Dir(), ".hidden", "x"), "v", 0o600)
			writeFile(t, filepath.Join(parent, "outside"), "v", 0o600)
			if err := os.Symlink("z", filepath.Join(s.Dir(), "zlink")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(parent, "outside"), filepath.Join(s.Dir(), "outlink")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(parent, filepath.Join(s.Dir(), "outdir")); err != nil {
				t.Fatal(err)
			}
			tests := map[string][]string{
				"":     {"api/key", "db/password", "db/user", "dbx", "z", "zlink"},
				"db":   {"db/password", "db/user", "dbx"},
				"db/":  {"db/password", "db/user"},
				"db/u": {"db/user"},
				"nope": nil,
			}
			for prefix, want := range tests {
				got, err := s.List(ctx, prefix)
				if err != nil {
					t.Fatalf("List(%q): %v", prefix, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("List(%q) got: %q want: %q", prefix, got, want)
				}
			}
			for _, prefix := range []string{"../", "/", "/etc", "a/../.."} {
				if _, err := s.List(ctx, prefix); !errors.Is(err, secrets.ErrInvalidPath) {
					t.Errorf("List(%q) got: %v want: ErrInvalidPath", prefix, err)
				}
			}
		})
	}
}

func TestStore_concurrentKeyedPuts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, false)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Put(ctx, "shared", fmt.Sprintf("k%02d", i), fmt.Sprint(i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		got, err := s.Get(ctx, "shared", fmt.Sprintf("k%02d", i))
		if err != nil || got != fmt.Sprint(i) {
			t.Errorf("key k%02d got: %q, %v want: %q", i, got, err, fmt.Sprint(i))
		}
	}
	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 1 {
		t.Errorf("dir entries got: %d want: 1 (no temporary files left)", len(entries))
	}
}

func TestStore_cancelledContext(t *testing.T) {
	s, _ := newStore(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, "x", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Get got: %v want: context.Canceled", err)
	}
	if err := s.Put(ctx, "x", "", "v"); !errors.Is(err, context.Canceled) {
		t.Errorf("Put got: %v want: context.Canceled", err)
	}
}
