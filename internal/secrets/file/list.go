package file

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// List returns the paths of the secret files whose path starts with prefix
// (a plain string prefix: "db" matches "db/password" and "dbx"), sorted.
// Hidden entries are skipped and symlinked directories are not descended; a
// symlink is listed when it leads to a regular file inside the directory.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	var paths []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == s.root {
			return nil
		}
		relOS, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(relOS)
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if !strings.HasPrefix(rel+"/", prefix) && !strings.HasPrefix(prefix, rel+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(rel, prefix) && s.isFile(rel, d) {
			paths = append(paths, rel)
		}
		return nil
	})
	if err != nil {
		return nil, s.describe(prefix, err)
	}
	sort.Strings(paths)
	return paths, nil
}

// isFile reports whether rel is a regular file, or a symlink that resolves
// to one inside the directory.
func (s *Store) isFile(rel string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fd, err := s.open(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
}
