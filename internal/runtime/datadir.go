package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// maxDirName keeps a module's directory name within the 255 bytes most
// file systems allow.
const maxDirName = 200

// dirName maps a module id to a directory name. It is injective: '/' (the
// group/name separator) becomes '.', letters, digits, '_' and '-' stay, and
// every other byte (including '.' and '%') is written %XX, so
// "synapse/bus" is "synapse.bus" and `tasks/report["daily"]` is
// "tasks.report%5B%22daily%22%5D". A name longer than maxDirName is cut and
// suffixed with a hash of the whole id.
func dirName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '/':
			b.WriteByte('.')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if s == "" || s == "." || s == ".." {
		s = "%" + hex.EncodeToString([]byte(id))
	}
	if len(s) > maxDirName {
		sum := sha256.Sum256([]byte(id))
		s = s[:maxDirName-17] + "~" + hex.EncodeToString(sum[:8])
	}
	return s
}

// moduleDir returns the module's own directory under root/modules, or ""
// when root is. It does no file system work: the module's first call of
// Context.DataDir creates the directory (0700), so modules that never use
// one cost nothing.
func moduleDir(root, id string) string {
	if root == "" {
		return ""
	}
	return filepath.Join(root, "modules", dirName(id))
}
