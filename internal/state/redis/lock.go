package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/nexus-run/nexus/internal/state"
)

// heldLock is a lock this Store holds and renews.
type heldLock struct {
	key, value string // value: exactly what we SET, compared by the scripts
	info       state.LockInfo
	cancel     context.CancelFunc
	done       chan struct{} // closed when the renewal goroutine has returned
	lost       atomic.Bool   // renewal found the key gone or someone else's
}

// Lock takes the project's lock: SET NX PX LockTTL with info as the value,
// renewed every LockTTL/3 by a goroutine until Unlock or Close.
func (s *Store) Lock(ctx context.Context, project string, info state.LockInfo) error {
	if info.ID == "" {
		return fmt.Errorf("lock state of %q: lock info has no id", project)
	}
	if err := s.check(project); err != nil {
		return err
	}
	buf, _ := json.Marshal(info) // LockInfo always marshals
	key := s.keys(project).lock
	for range 3 { // the holder's key may expire between SET and GET
		ok, err := s.client.SetNX(ctx, key, buf, s.opts.LockTTL).Result()
		if err != nil {
			return s.wrap("lock", project, err)
		}
		if ok {
			return s.hold(project, &heldLock{key: key, value: string(buf), info: info})
		}
		holder, err := s.holder(ctx, key)
		if errors.Is(err, state.ErrNotLocked) {
			continue
		}
		if err != nil {
			return s.wrap("lock", project, err)
		}
		return &state.LockedError{Project: project, Holder: holder}
	}
	return &state.LockedError{Project: project, Holder: state.LockInfo{ID: "unknown", Who: "holders that come and go faster than we can read them"}}
}

// hold records a lock just taken and starts renewing it.
func (s *Store) hold(project string, l *heldLock) error {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	s.mu.Lock()
	old, closed := s.locks[project], s.closed
	if !closed {
		s.locks[project] = l
	}
	s.mu.Unlock()
	if old != nil { // a lock we lost (expired) and have just taken again
		old.cancel()
		<-old.done
	}
	if closed {
		close(l.done)
		_, _ = s.release(context.Background(), l)
		return fmt.Errorf("lock state of %q: %w", project, state.ErrClosed)
	}
	go s.renew(ctx, l)
	return nil
}

// renew extends the lock's TTL every LockTTL/3 while we own it. A failed
// renewal (Redis unreachable) is tried again at the next tick; finding the
// key gone or another's ends it.
func (s *Store) renew(ctx context.Context, l *heldLock) {
	defer close(l.done)
	t := time.NewTicker(s.opts.LockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := renewScript.Run(ctx, s.client, []string{l.key}, l.value, s.opts.LockTTL.Milliseconds()).Int()
		if err == nil && n == 0 {
			l.lost.Store(true)
			return
		}
	}
}

// release stops renewing l and deletes its key if it is still ours; it
// reports whether it was.
func (s *Store) release(ctx context.Context, l *heldLock) (bool, error) {
	l.cancel()
	<-l.done
	n, err := unlockScript.Run(ctx, s.client, []string{l.key}, l.value).Int()
	if err != nil {
		return false, fmt.Errorf("release lock %s: %w", l.key, err)
	}
	return n == 1, nil
}

// Unlock releases the lock with that id if this Store holds it. A lock
// with that id held by another client is reported as a *LockedError: it
// goes with its holder's Unlock, or its TTL once the holder is gone.
func (s *Store) Unlock(ctx context.Context, project, id string) error {
	if err := s.check(project); err != nil {
		return err
	}
	s.mu.Lock()
	l, ok := s.locks[project]
	if ok && l.info.ID == id {
		delete(s.locks, project)
	}
	s.mu.Unlock()
	if ok && l.info.ID == id {
		owned, err := s.release(ctx, l)
		if err != nil {
			return s.wrap("unlock", project, err)
		}
		if !owned {
			return fmt.Errorf("unlock state of %q: %w: lock %s expired while held (renewal failed for longer than %s)", project, state.ErrNotLocked, id, s.opts.LockTTL)
		}
		return nil
	}
	holder, err := s.holder(ctx, s.keys(project).lock)
	switch {
	case err == nil && holder.ID == id:
		return fmt.Errorf("unlock state of %q: the lock is held by another client, which releases it when it unlocks, or its TTL runs out once it is gone: %w",
			project, &state.LockedError{Project: project, Holder: holder})
	case err != nil && !errors.Is(err, state.ErrNotLocked):
		return s.wrap("unlock", project, err)
	}
	return fmt.Errorf("unlock state of %q: %w: no lock with id %s", project, state.ErrNotLocked, id)
}

// LockHolder returns who holds the project's lock, or ErrNotLocked.
func (s *Store) LockHolder(ctx context.Context, project string) (state.LockInfo, error) {
	if err := s.check(project); err != nil {
		return state.LockInfo{}, err
	}
	info, err := s.holder(ctx, s.keys(project).lock)
	if err != nil {
		return state.LockInfo{}, s.wrap("lock holder of", project, err)
	}
	return info, nil
}

func (s *Store) holder(ctx context.Context, key string) (state.LockInfo, error) {
	v, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, goredis.Nil) {
		return state.LockInfo{}, state.ErrNotLocked
	}
	if err != nil {
		return state.LockInfo{}, err
	}
	var info state.LockInfo
	if err := json.Unmarshal([]byte(v), &info); err != nil || info.ID == "" {
		return state.LockInfo{ID: "unknown", Who: fmt.Sprintf("an unknown holder (%s holds no lock info)", key)}, nil
	}
	return info, nil
}
