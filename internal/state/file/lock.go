package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/state"
)

// heldLock is a project lock this Store holds: the open, flock'd lock file.
type heldLock struct {
	f    *os.File
	info state.LockInfo
}

// Lock takes the project's lock: an exclusive flock on <project>/lock, held
// by an open file until Unlock or Close, or until this process dies. The
// file then holds info as JSON for others to read.
func (s *Store) Lock(ctx context.Context, project string, info state.LockInfo) error {
	if info.ID == "" {
		return fmt.Errorf("lock state of %q: lock info has no id", project)
	}
	p, err := s.project(project)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lock != nil {
		return &state.LockedError{Project: project, Holder: p.lock.info}
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("lock state of %q: %w", project, err)
	}
	f, err := os.OpenFile(p.path(lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock state of %q: %w", project, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return &state.LockedError{Project: project, Holder: readHolder(ctx, p.path(lockName))}
		}
		return fmt.Errorf("lock state of %q: flock %s: %w", project, p.path(lockName), err)
	}
	buf, _ := json.Marshal(info) // LockInfo always marshals
	if err := writeHolder(f, buf); err != nil {
		f.Close() // releases the flock
		return fmt.Errorf("lock state of %q: write %s: %w", project, p.path(lockName), err)
	}
	p.lock = &heldLock{f: f, info: info}
	return nil
}

func writeHolder(f *os.File, buf []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the LockInfo of a lock held by someone else. The holder
// writes it just after taking the flock, so an empty or partial file is
// read again for a moment before it is reported as unknown.
func readHolder(ctx context.Context, path string) state.LockInfo {
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		var info state.LockInfo
		buf, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(buf, &info) == nil && info.ID != "" {
			return info
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return state.LockInfo{ID: "unknown", Who: "an unknown process (" + path + " is flock'd but holds no lock info)"}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Unlock releases the lock with that id if this Store holds it. A lock with
// that id held by another process is reported as a *LockedError: a flock
// goes only with its holder, which releases it when it exits.
func (s *Store) Unlock(ctx context.Context, project, id string) error {
	p, err := s.project(project)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lock != nil && p.lock.info.ID == id {
		if err := p.releaseLock(); err != nil {
			return fmt.Errorf("unlock state of %q: %w", project, err)
		}
		return nil
	}
	holder, err := p.holder(ctx)
	if err == nil && holder.ID == id {
		return fmt.Errorf("unlock state of %q: the lock is held by another running process, which releases it when it exits: %w",
			project, &state.LockedError{Project: project, Holder: holder})
	}
	if err != nil && !errors.Is(err, state.ErrNotLocked) {
		return fmt.Errorf("unlock state of %q: %w", project, err)
	}
	return fmt.Errorf("unlock state of %q: %w: no lock with id %s", project, state.ErrNotLocked, id)
}

// releaseLock empties the lock file, so no stale holder lingers in it, and
// closes it, which releases the flock. Call with p.mu held.
func (p *project) releaseLock() error {
	l := p.lock
	p.lock = nil
	terr := l.f.Truncate(0)
	if err := l.f.Close(); err != nil {
		return err
	}
	return terr
}

// LockHolder returns who holds the project's lock, or ErrNotLocked. The
// lock file's content is believed only while its flock is really held.
func (s *Store) LockHolder(ctx context.Context, project string) (state.LockInfo, error) {
	p, err := s.project(project)
	if err != nil {
		return state.LockInfo{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	info, err := p.holder(ctx)
	if err != nil {
		return state.LockInfo{}, fmt.Errorf("lock holder of %q: %w", project, err)
	}
	return info, nil
}

// holder finds the lock holder. Call with p.mu held.
func (p *project) holder(ctx context.Context) (state.LockInfo, error) {
	if p.lock != nil {
		return p.lock.info, nil
	}
	f, err := os.Open(p.path(lockName))
	if errors.Is(err, os.ErrNotExist) {
		return state.LockInfo{}, state.ErrNotLocked
	}
	if err != nil {
		return state.LockInfo{}, err
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	switch {
	case err == nil:
		return state.LockInfo{}, state.ErrNotLocked // closing f drops our probe
	case errors.Is(err, unix.EWOULDBLOCK):
		return readHolder(ctx, p.path(lockName)), nil
	default:
		return state.LockInfo{}, fmt.Errorf("flock %s: %w", p.path(lockName), err)
	}
}
