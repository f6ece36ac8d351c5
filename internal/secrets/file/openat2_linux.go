package file

import "golang.org/x/sys/unix"

// openat2Beneath opens rel relative to root with RESOLVE_BENEATH and
// RESOLVE_NO_MAGICLINKS: the kernel fails with EXDEV when resolution would
// leave root (through "..", an absolute path or a symlink) and refuses
// /proc magic links.
func openat2Beneath(root, rel string, flags int) (int, error) {
	rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rootfd)
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    0,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	// EAGAIN means a concurrent rename raced the lookup; EINTR a signal.
	for range 16 {
		fd, err := unix.Openat2(rootfd, rel, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// openat2Works reports whether openat2 with RESOLVE_BENEATH is usable on
// this kernel and under this process's seccomp profile.
func openat2Works(root string) bool {
	fd, err := openat2Beneath(root, ".", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
