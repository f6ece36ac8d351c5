package procgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Command builds the command that runs argv in dir (the daemon's working
// directory when empty) with environment env, checking what can be checked
// before a start: argv[0] is looked up in the daemon's PATH when it is a bare
// name; a relative path is taken relative to dir, as a shell started in dir
// would. Errors name the program and say what to fix.
func Command(argv []string, dir string, env []string) (*exec.Cmd, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("command must name a program")
	}
	path, err := resolve(argv[0], dir)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("dir %q is not a directory the daemon can enter", dir)
		}
	}
	return &exec.Cmd{Path: path, Args: argv, Dir: dir, Env: env}, nil
}

func resolve(name, dir string) (string, error) {
	if !strings.Contains(name, "/") {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("program %q not found in the daemon's PATH (%s): use an absolute path or install it", name, os.Getenv("PATH"))
		}
		return path, nil
	}
	path := name
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("program %q: %w", name, err)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("program %q: %s does not exist", name, path)
	case err != nil:
		return "", fmt.Errorf("program %q: %w", name, err)
	case st.IsDir() || st.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("program %q: %s is not an executable file", name, path)
	}
	return path, nil
}
