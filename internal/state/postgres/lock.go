package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/state"
)

// heldLock is a project lock this Store holds: the session (a connection
// taken out of the pool) that holds the advisory lock.
type heldLock struct {
	conn    *pgx.Conn
	project string
	info    state.LockInfo
	ns, key int32
}

// release drops the advisory lock and the lock row, then closes the
// session; closing alone would release the lock too, so errors (a session
// already dead) change nothing and are not reported.
func (l *heldLock) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, `DELETE FROM nexus_state_locks WHERE project = $1 AND id = $2`, l.project, l.info.ID)
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, l.ns, l.key)
	_ = l.conn.Close(ctx)
}

// Lock takes the project's advisory lock on a session of its own, held
// until Unlock or Close, or until the session dies with this process, and
// records info in nexus_state_locks for others to read.
func (s *Store) Lock(ctx context.Context, project string, info state.LockInfo) error {
	if info.ID == "" {
		return fmt.Errorf("lock state of %q: lock info has no id", project)
	}
	if err := s.check(project); err != nil {
		return err
	}
	s.mu.Lock()
	if l, ok := s.locks[project]; ok {
		s.mu.Unlock()
		return &state.LockedError{Project: project, Holder: l.info}
	}
	// Claim the project in this Store while the lock is taken outside s.mu.
	claim := &heldLock{project: project, info: info, ns: lockNamespace(s.opts.Schema), key: lockKey(project)}
	s.locks[project] = claim
	s.mu.Unlock()
	conn, err := s.lock(ctx, claim)
	s.mu.Lock()
	defer s.mu.Unlock()
	claim.conn = conn
	if err != nil || s.closed {
		delete(s.locks, project)
		if err == nil { // closed meanwhile: Close did not see a session to release
			claim.release(ctx)
			claim.conn = nil
			return fmt.Errorf("lock state of %q: %w", project, state.ErrClosed)
		}
		return err
	}
	return nil
}

// lock takes the advisory lock on a new session and records l.info; it
// returns the session, which then holds the lock.
func (s *Store) lock(ctx context.Context, l *heldLock) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.wrap("lock", l.project, err)
	}
	conn := pc.Hijack() // a session of its own, out of the pool for as long as it holds the lock
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, l.ns, l.key).Scan(&ok); err != nil {
		conn.Close(ctx)
		return nil, s.wrap("lock", l.project, err)
	}
	if !ok {
		conn.Close(ctx)
		holder, err := s.holderWait(ctx, l.project)
		if err != nil {
			return nil, s.wrap("lock", l.project, err)
		}
		return nil, &state.LockedError{Project: l.project, Holder: holder}
	}
	_, err = conn.Exec(ctx, `INSERT INTO nexus_state_locks (project, id, operation, who, node, created, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, pg_backend_pid())
		ON CONFLICT (project) DO UPDATE SET id = EXCLUDED.id, operation = EXCLUDED.operation, who = EXCLUDED.who,
			node = EXCLUDED.node, created = EXCLUDED.created, backend_pid = EXCLUDED.backend_pid`,
		l.project, l.info.ID, l.info.Operation, l.info.Who, l.info.Node, l.info.Created)
	if err != nil {
		conn.Close(ctx) // releases the advisory lock
		return nil, s.wrap("lock", l.project, err)
	}
	return conn, nil
}

// Unlock releases the lock with that id if this Store holds it. A lock with
// that id held by another session is reported as a *LockedError: only its
// session (or its end) releases it.
func (s *Store) Unlock(ctx context.Context, project, id string) error {
	if err := s.check(project); err != nil {
		return err
	}
	s.mu.Lock()
	l, ok := s.locks[project]
	if ok && l.info.ID == id && l.conn != nil {
		delete(s.locks, project)
		s.mu.Unlock()
		l.release(ctx)
		return nil
	}
	s.mu.Unlock()
	holder, err := s.holder(ctx, project)
	switch {
	case err == nil && holder.ID == id:
		return fmt.Errorf("unlock state of %q: the lock is held by another session, which releases it when it unlocks or ends: %w",
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
	s.mu.Lock()
	if l, ok := s.locks[project]; ok && l.conn != nil {
		s.mu.Unlock()
		return l.info, nil
	}
	s.mu.Unlock()
	info, err := s.holder(ctx, project)
	if err != nil {
		return state.LockInfo{}, s.wrap("lock holder of", project, err)
	}
	return info, nil
}

// holder reads the lock row, believed only while the session it names
// holds the project's advisory lock (pg_locks says so). ErrNotLocked when
// no session does; an unknown holder when one does but has not written its
// row yet.
func (s *Store) holder(ctx context.Context, project string) (state.LockInfo, error) {
	var (
		info  state.LockInfo
		rowOK bool
		held  bool
	)
	err := read(ctx, func() error {
		return s.pool.QueryRow(ctx, `
		WITH adv AS (
			SELECT pid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 2
			  AND classid = $2::int4::oid AND objid = $3::int4::oid
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		)
		SELECT EXISTS (SELECT 1 FROM adv),
		       l.id IS NOT NULL, coalesce(l.id, ''), coalesce(l.operation, ''), coalesce(l.who, ''),
		       coalesce(l.node, ''), coalesce(l.created, 'epoch')
		FROM (SELECT 1) AS one
		LEFT JOIN nexus_state_locks l ON l.project = $1 AND l.backend_pid IN (SELECT pid FROM adv)`,
			project, lockNamespace(s.opts.Schema), lockKey(project)).
			Scan(&held, &rowOK, &info.ID, &info.Operation, &info.Who, &info.Node, &info.Created)
	})
	switch {
	case err != nil:
		return state.LockInfo{}, err
	case rowOK:
		info.Created = info.Created.UTC()
		return info, nil
	case held:
		return state.LockInfo{ID: "unknown", Who: "a session that has not recorded itself in nexus_state_locks yet"}, nil
	}
	return state.LockInfo{}, state.ErrNotLocked
}

// holderWait is holder for a lock just found taken: it gives the new holder
// a moment to record itself before reporting it unknown.
func (s *Store) holderWait(ctx context.Context, project string) (state.LockInfo, error) {
	deadline := time.Now().Add(time.Second)
	for {
		info, err := s.holder(ctx, project)
		if err != nil || info.ID != "unknown" || time.Now().After(deadline) {
			if errors.Is(err, state.ErrNotLocked) {
				// Released meanwhile: report the race as a held lock
				// anyway; WaitLock's next try will take it.
				return state.LockInfo{ID: "unknown", Who: "a session that released it just now"}, nil
			}
			return info, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
