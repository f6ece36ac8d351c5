package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/secrets"
)

// MaxSecretSize bounds one secret file; secrets are tokens, keys and
// certificates, and the bound keeps a wrong path (a log file, a device) from
// filling the daemon's memory.
const MaxSecretSize = 1 << 20

// Store is a directory of secret files. It is safe for concurrent use.
type Store struct {
	root    string     // absolute, symlinks resolved
	beneath bool       // openat2 with RESOLVE_BENEATH works on this host
	mu      sync.Mutex // serializes Put and Delete
}

// New opens the secrets directory dir, creating it (and its parents) with
// mode 0700 when it does not exist. It refuses a directory that group or
// others can access. A relative dir is taken from the working directory;
// symlinks in dir itself are resolved once, here.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("file secret provider: the directory is empty; set `dir`")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file secret provider: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("file secret provider: create %s: %w", abs, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("file secret provider: %w", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("file secret provider: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("file secret provider: %s is not a directory", root)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("file secret provider: %w: directory %s has mode %04o, which lets group or others in; run `chmod 700 %s`", secrets.ErrDenied, root, perm, root)
	}
	return &Store{root: root, beneath: openat2Works(root)}, nil
}

// Dir returns the directory's absolute path, symlinks resolved.
func (s *Store) Dir() string { return s.root }

// Get returns the content of the file at path with one trailing newline
// removed, or the field key of the JSON object it holds.
func (s *Store) Get(ctx context.Context, path, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	data, err := s.read(path, true)
	if err != nil {
		return "", err
	}
	if key == "" {
		return trimNewline(string(data)), nil
	}
	return s.field(path, data, key)
}

// Exists reports whether Get would succeed. Without a key it never reads
// the file's content.
func (s *Store) Exists(ctx context.Context, path, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(path); err != nil {
		return err
	}
	data, err := s.read(path, key != "")
	if err != nil || key == "" {
		return err
	}
	_, err = s.field(path, data, key)
	return err
}

func (s *Store) field(path string, data []byte, key string) (string, error) {
	fields, err := secrets.ParseObject(data)
	if err != nil {
		return "", fmt.Errorf("file %q %s, so key %q cannot be selected (`nexus secrets put` with a key writes such a file)", path, err.Error(), key)
	}
	v, err := secrets.Field(fields, key)
	if err != nil {
		return "", fmt.Errorf("file %q: %w", path, err)
	}
	return v, nil
}

// read opens the file at rel, checks it is a regular file only its owner
// can access, and returns its content when content is set.
func (s *Store) read(rel string, content bool) ([]byte, error) {
	fd, err := s.open(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, s.describe(rel, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(s.root, rel))
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %q in %s: %w", rel, s.root, err)
	}
	switch {
	case info.IsDir():
		return nil, fmt.Errorf("%w: %q in %s is a directory; name a file in it", secrets.ErrInvalidPath, rel, s.root)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %q in %s is not a regular file", secrets.ErrInvalidPath, rel, s.root)
	case info.Mode().Perm()&0o077 != 0:
		full := filepath.Join(s.root, rel)
		return nil, fmt.Errorf("%w: %s has mode %04o, which lets group or others read it; run `chmod 600 %s`", secrets.ErrDenied, full, info.Mode().Perm(), full)
	case info.Size() > MaxSecretSize:
		return nil, fmt.Errorf("%q in %s is %d bytes, more than the %d a secret may have", rel, s.root, info.Size(), MaxSecretSize)
	}
	if !content {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %q in %s: %w", rel, s.root, err)
	}
	if len(data) > MaxSecretSize {
		return nil, fmt.Errorf("%q in %s grew past the %d bytes a secret may have", rel, s.root, MaxSecretSize)
	}
	return data, nil
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(s string) string {
	if strings.HasSuffix(s, "\r\n") {
		return s[:len(s)-2]
	}
	return strings.TrimSuffix(s, "\n")
}

var (
	_ secrets.Provider = (*Store)(nil)
	_ secrets.Checker  = (*Store)(nil)
	_ secrets.Writer   = (*Store)(nil)
	_ secrets.Lister   = (*Store)(nil)
)
