package file

import (
	"path"
	"strings"
	"testing"
)

func FuzzCheckPath(f *testing.F) {
	for _, seed := range []string{"a", "a/b", "../x", "a/../../x", "/abs", "./x", ".hidden", "a//b", "a/", "", "x\x00y", "..data/token"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkPath(p) != nil {
			return
		}
		// An accepted path is already clean, relative and stays below
		// the directory lexically; symlinks are the kernel's business.
		if path.Clean(p) != p || path.IsAbs(p) || strings.HasPrefix(p, "..") || strings.Contains(p, "/.") || strings.HasPrefix(p, ".") {
			t.Errorf("checkPath accepted %q", p)
		}
		if !strings.HasPrefix(path.Join("/root", p), "/root/") {
			t.Errorf("checkPath accepted %q, which leaves the directory", p)
		}
	})
}
