package file

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/secrets"
)

// open opens rel (already checked by checkPath, or ".") beneath the root and
// returns the raw error for describe to explain.
func (s *Store) open(rel string, flags int) (int, error) {
	if s.beneath {
		return openat2Beneath(s.root, rel, flags)
	}
	return s.openFallback(rel, flags)
}

// openFallback resolves rel with EvalSymlinks, checks the result lies under
// the root and opens it without following a symlink that may have been
// swapped in since (see the package doc for the race this leaves).
func (s *Store) openFallback(rel string, flags int) (int, error) {
	resolved, err := filepath.EvalSymlinks(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			return -1, errno
		}
		return -1, unix.ELOOP // EvalSymlinks' only errno-less failure: too many links
	}
	if resolved != s.root && !strings.HasPrefix(resolved, s.root+string(filepath.Separator)) {
		return -1, unix.EXDEV
	}
	return unix.Open(resolved, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
}

// openParent opens the directory that holds rel for reading (so that it can
// be fsynced), creating missing directories 0700 when create is set, and
// returns it with rel's last segment.
func (s *Store) openParent(rel string, create bool) (dirfd int, base string, err error) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	} else if create {
		if err := s.mkdirs(dir); err != nil {
			return -1, "", err
		}
	}
	fd, err := s.open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, "", s.describe(dir, err)
	}
	return fd, base, nil
}

// mkdirs creates the missing directories of dir one segment at a time, each
// inside a parent opened beneath the root, so a symlink cannot redirect the
// creation outside it.
func (s *Store) mkdirs(dir string) error {
	segs := strings.Split(dir, "/")
	for i := range segs {
		sub := strings.Join(segs[:i+1], "/")
		fd, err := s.open(sub, unix.O_RDONLY|unix.O_DIRECTORY)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return s.describe(sub, err)
		}
		parent := "."
		if i > 0 {
			parent = strings.Join(segs[:i], "/")
		}
		pfd, err := s.open(parent, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return s.describe(parent, err)
		}
		err = unix.Mkdirat(pfd, segs[i], 0o700)
		unix.Close(pfd)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create directory %q in %s: %w", sub, s.root, err)
		}
	}
	return nil
}

// describe turns an open error on rel into a message that names the path
// and wraps the matching sentinel.
func (s *Store) describe(rel string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w: no file %q in %s (`nexus secrets put` creates one)", secrets.ErrNotFound, rel, s.root)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%w: %q in %s: a parent of it is a file, not a directory", secrets.ErrNotFound, rel, s.root)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: %q leads out of %s through a symlink (symlinks must be relative and stay inside the directory)", secrets.ErrInvalidPath, rel, s.root)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: %q in %s: too many levels of symlinks, or a /proc magic link", secrets.ErrInvalidPath, rel, s.root)
	case errors.Is(err, unix.ENAMETOOLONG):
		return fmt.Errorf("%w: %q is too long a file name", secrets.ErrInvalidPath, rel)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: %q in %s: the daemon's user cannot open it: %v", secrets.ErrDenied, rel, s.root, err)
	}
	return fmt.Errorf("open %q in %s: %w", rel, s.root, err)
}
