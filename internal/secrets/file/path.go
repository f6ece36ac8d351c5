package file

import (
	"fmt"
	"strings"

	"github.com/nexus-run/nexus/internal/secrets"
)

// maxPathLen bounds a secret path; the kernel's own limit is PATH_MAX.
const maxPathLen = 4096

// checkPath refuses paths that are not plain relative file names under the
// directory. It is a syntactic check; the kernel (or the fallback) checks
// symlinks when the path is opened.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: the path is empty", secrets.ErrInvalidPath)
	case len(p) > maxPathLen:
		return fmt.Errorf("%w: the path is longer than %d bytes", secrets.ErrInvalidPath, maxPathLen)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is absolute; name a file relative to the secrets directory", secrets.ErrInvalidPath, p)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("%w: %q contains a NUL byte", secrets.ErrInvalidPath, p)
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment (a doubled or trailing '/')", secrets.ErrInvalidPath, p)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment; paths must stay inside the secrets directory", secrets.ErrInvalidPath, p, seg)
		case strings.HasPrefix(seg, "."):
			return fmt.Errorf("%w: %q has a segment starting with '.', names the provider keeps for its temporary files", secrets.ErrInvalidPath, p)
		}
	}
	return nil
}

// checkPrefix accepts what checkPath accepts, the empty prefix, and a
// prefix ending in '/'.
func checkPrefix(prefix string) error {
	trimmed := strings.TrimSuffix(prefix, "/")
	if trimmed == "" {
		if prefix == "/" {
			return fmt.Errorf("%w: prefix %q is absolute; use \"\" to list everything", secrets.ErrInvalidPath, prefix)
		}
		return nil
	}
	return checkPath(trimmed)
}
