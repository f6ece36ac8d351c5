//go:build !linux

package file

import "golang.org/x/sys/unix"

// openat2Beneath is Linux-only; elsewhere the provider uses its fallback.
func openat2Beneath(root, rel string, flags int) (int, error) { return -1, unix.ENOSYS }

func openat2Works(root string) bool { return false }
