// Package file is the secret provider that keeps secrets as files in one
// directory: the daemon's default provider "file" at ./.nexus/secrets, and
// any `secrets "file" "<name>" { dir = "…" }` block.
//
// # Layout
//
// A secret's path is a file under the directory: secret("file", "bus/token")
// reads <dir>/bus/token. Without a key the value is the file's content with
// one trailing newline removed (so `echo token > file` works); with a key the
// file holds a JSON object and the key selects a field. Put writes a value
// followed by a newline, so what Put stored Get returns exactly.
//
// # Strictness
//
// Like Vault and OpenSSH, the provider refuses rather than warns:
//
//   - New refuses a directory that group or others can access (mode 0700 is
//     expected) and creates a missing one 0700;
//   - reading a file that group or others can access (anything looser than
//     0600, such as 0644) fails with ErrDenied and says which chmod fixes it;
//   - a path must be relative, made of non-empty segments, with no "." or
//     ".." segment and no segment starting with '.' (hidden names are kept
//     for the provider's temporary files);
//   - a path must not leave the directory through a symlink: symlinks inside
//     the directory that point inside it are followed (Kubernetes-style
//     "..data" links work), symlinks pointing outside, absolute symlinks and
//     /proc magic links are refused with ErrInvalidPath.
//
// A file's owner is not checked: the mode check and the 0700 directory keep
// out everyone but the daemon's user and root.
//
// # Resolution
//
// On Linux 5.6 and later every path is opened with openat2(2) and
// RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS relative to the directory, so the
// kernel itself refuses any escape, atomically. Where openat2 is missing or
// blocked (old kernels, some seccomp profiles), the provider resolves the
// path with filepath.EvalSymlinks, checks that the result lies inside the
// directory and opens it with O_NOFOLLOW; a symlink swapped in between the
// check and the open can still win that race, which is why openat2 is
// preferred. The fallback also accepts absolute symlinks that point inside
// the directory, which openat2 refuses.
//
// # Writes
//
// Put and Delete are atomic: the new content goes to a temporary file in the
// same directory (mode 0600), is fsynced and renamed over the old file, and
// the directory is fsynced. Missing parent directories are created 0700.
// With a key, Put and Delete read, modify and rewrite the JSON object; a
// Store serializes its own writes, so concurrent writers must share one
// Store (the daemon does: `nexus secrets put` goes through it).
package file
