package exec

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeSecretFiles makes dir hold exactly files (name → content): the dir
// 0700, each file 0600, written to a temporary name and renamed into place,
// so that a process never reads half a secret nor, on a rewrite, finds one
// missing. Files not in files are removed after. With no files there is
// no dir: a module without secret files gets neither it nor
// $NEXUS_SECRETS_DIR.
func writeSecretFiles(dir string, files map[string]string) error {
	if len(files) == 0 {
		return removeSecretFiles(dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret files: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // MkdirAll leaves an existing dir's mode alone
		return fmt.Errorf("secret files: %w", err)
	}
	for name, content := range files {
		if err := writeFile0600(filepath.Join(dir, name), content); err != nil {
			return fmt.Errorf("secret file %q: %w", name, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("secret files: %w", err)
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; !keep {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("secret files: %w", err)
			}
		}
	}
	return nil
}

func writeFile0600(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// removeSecretFiles removes dir and the secret files in it.
func removeSecretFiles(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove secret files: %w", err)
	}
	return nil
}
