package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
)

var nilObject = cty.EmptyObjectVal

// Errors returned (wrapped) by stores. Callers test them with errors.Is.
var (
	// ErrNotFound: the project has no state yet.
	ErrNotFound = errors.New("no state")
	// ErrCorrupt: the stored document cannot be read; it is left untouched.
	ErrCorrupt = errors.New("state is corrupt")
	// ErrUnsupportedVersion: the stored document has another format version.
	ErrUnsupportedVersion = errors.New("state format version is not supported")
	// ErrSerialConflict: a check-and-set write found another serial than expected.
	ErrSerialConflict = errors.New("state serial conflict")
	// ErrLineageMismatch: a pushed document belongs to another lineage.
	ErrLineageMismatch = errors.New("state lineage mismatch")
	// ErrLocked: the project's lock is held; the error is a *LockedError.
	ErrLocked = errors.New("state is locked")
	// ErrNotLocked: an unlock named a lock that is not held.
	ErrNotLocked = errors.New("state is not locked")
)

// LockInfo says who holds a project's lock, since when and for what.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	Node      string    `json:"node,omitempty"`
	Created   time.Time `json:"created"`
}

// String renders the holder for error messages.
func (l LockInfo) String() string {
	return fmt.Sprintf("lock %s held by %s for %q since %s", l.ID, l.Who, l.Operation, l.Created.UTC().Format(time.RFC3339))
}

// LockedError is returned when a lock is held by someone else.
type LockedError struct {
	Project string
	Holder  LockInfo
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("state of project %q is locked: %s", e.Project, e.Holder)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Change is one atomic write of module records: Set upserts records (keyed by
// their Spec.Address), Delete removes addresses.
type Change struct {
	Set    []*Module
	Delete []string
}

// HistoryEntry describes one past serial of a project's state.
type HistoryEntry struct {
	Serial  uint64    `json:"serial"`
	Lineage string    `json:"lineage"`
	Time    time.Time `json:"time"`
	Modules int       `json:"modules"`
	// Reason is what wrote it: "apply", "push", "state rm", ...
	Reason string `json:"reason,omitempty"`
}

// Store persists state documents, one per project. Implementations are safe
// for concurrent use by one process; across processes, the lock and the
// check-and-set on serial keep writers apart.
type Store interface {
	// Get returns the project's document, or an error wrapping ErrNotFound,
	// ErrCorrupt or ErrUnsupportedVersion.
	Get(ctx context.Context, project string) (*State, error)
	// Put replaces the whole document if the stored serial is prev (0 with
	// no stored document, in which case s's lineage is adopted). s.Serial
	// must be prev+1. Otherwise it fails with ErrSerialConflict or
	// ErrLineageMismatch and changes nothing.
	Put(ctx context.Context, s *State, prev uint64, reason string) error
	// Apply writes a Change atomically if the stored serial is prev, making
	// it prev+1. It must not rewrite the whole document (journal, rows or
	// hash fields), so per-transition persistence scales with the change,
	// not the topology.
	Apply(ctx context.Context, project string, prev uint64, c Change) error
	// Lock takes the project's lock, or fails with a *LockedError naming the
	// holder. A lock whose holder died (process gone, session closed, TTL
	// run out) is taken over. Lock does not wait; see WaitLock.
	Lock(ctx context.Context, project string, info LockInfo) error
	// Unlock releases the lock with that id, or fails with ErrNotLocked.
	Unlock(ctx context.Context, project, id string) error
	// LockHolder returns the current holder, or ErrNotLocked.
	LockHolder(ctx context.Context, project string) (LockInfo, error)
	// History returns up to n past serials, newest first.
	History(ctx context.Context, project string, n int) ([]HistoryEntry, error)
	Close() error
}

// WaitLock takes the lock, retrying until timeout while it is held; after
// that it returns the last *LockedError.
func WaitLock(ctx context.Context, s Store, project string, info LockInfo, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := 20 * time.Millisecond
	for {
		err := s.Lock(ctx, project, info)
		if err == nil || !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(min(backoff, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting: %v)", err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}
