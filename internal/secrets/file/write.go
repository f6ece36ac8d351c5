package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/secrets"
)

// tmpPrefix starts the names of files being written; checkPath refuses
// paths with such hidden segments, so a secret never collides with one.
const tmpPrefix = ".nexus-tmp-"

// Put stores value at path (followed by a newline, which Get removes), or
// in the field key of the JSON object at path, keeping its other fields. The
// write is atomic and the file ends up with mode 0600.
func (s *Store) Put(ctx context.Context, path, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(path); err != nil {
		return err
	}
	if len(value) >= MaxSecretSize {
		return fmt.Errorf("the value for %q is %d bytes, more than a secret may have (%d)", path, len(value), MaxSecretSize-1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		return s.writeAtomic(path, []byte(value+"\n"))
	}
	obj, err := s.readObject(path, true)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encode the value of key %q: not valid text", key)
	}
	obj[key] = raw
	return s.writeObject(path, obj)
}

// Delete removes the file at path, or only the field key of the JSON object
// it holds.
func (s *Store) Delete(ctx context.Context, path, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(path); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		obj, err := s.readObject(path, false)
		if err != nil {
			return err
		}
		if _, ok := obj[key]; !ok {
			return fmt.Errorf("%w: file %q has no field %q", secrets.ErrNotFound, path, key)
		}
		delete(obj, key)
		return s.writeObject(path, obj)
	}
	dirfd, base, err := s.openParent(path, false)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := unix.Unlinkat(dirfd, base, 0); err != nil {
		if errors.Is(err, unix.EISDIR) {
			return fmt.Errorf("%w: %q in %s is a directory; remove the secrets in it one by one", secrets.ErrInvalidPath, path, s.root)
		}
		return s.describe(path, err)
	}
	if err := unix.Fsync(dirfd); err != nil {
		return fmt.Errorf("sync the directory of %q: %w", path, err)
	}
	return nil
}

// readObject reads the JSON object at path for a read-modify-write; a
// missing file is an empty object when missingOK is set.
func (s *Store) readObject(path string, missingOK bool) (map[string]json.RawMessage, error) {
	data, err := s.read(path, true)
	if errors.Is(err, secrets.ErrNotFound) && missingOK {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, err
	}
	// ParseObject's errors never quote the content.
	if _, err := secrets.ParseObject(data); err != nil {
		return nil, fmt.Errorf("file %q %s; it holds a plain value, so it has no keys: write it without a key, or remove it first", path, err.Error())
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("file %q is not a JSON object", path)
	}
	return obj, nil
}

func (s *Store) writeObject(path string, obj map[string]json.RawMessage) error {
	data, err := json.MarshalIndent(obj, "", "  ") // keys sorted
	if err != nil {
		return fmt.Errorf("encode file %q: %w", path, err)
	}
	if len(data) >= MaxSecretSize {
		return fmt.Errorf("file %q would grow to %d bytes, more than a secret may have (%d); split it", path, len(data)+1, MaxSecretSize)
	}
	return s.writeAtomic(path, append(data, '\n'))
}

// writeAtomic replaces the file at rel with data: a temporary file in the
// same directory, mode 0600, fsynced, renamed over rel, directory fsynced.
func (s *Store) writeAtomic(rel string, data []byte) error {
	dirfd, base, err := s.openParent(rel, true)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("write %q: %w", rel, err)
	}
	tmp := tmpPrefix + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("write %q in %s: %w", rel, s.root, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	err = writeSync(f, data)
	if err == nil {
		err = unix.Renameat(dirfd, tmp, dirfd, base)
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("%w: %q in %s is a directory", secrets.ErrInvalidPath, rel, s.root)
		}
		return fmt.Errorf("write %q in %s: %w", rel, s.root, err)
	}
	if err := unix.Fsync(dirfd); err != nil {
		return fmt.Errorf("sync the directory of %q: %w", rel, err)
	}
	return nil
}

// writeSync writes data, forces mode 0600 whatever the umask, fsyncs and
// closes f.
func writeSync(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
