package telemetry

import (
	"context"
	"errors"
	"time"

	"github.com/nexus-run/nexus/internal/state"
)

// InstrumentStore returns s with every call measured in
// nexus_state_store_duration_seconds{store=kind}. The result label is ok
// (including a Get of a project with no state yet: a normal answer), locked
// (a Lock that found the lock held), conflict (a check-and-set that found
// another serial or lineage) or error. With a nil m, s is returned as is.
func InstrumentStore(s state.Store, kind string, m *Metrics) state.Store {
	if m == nil {
		return s
	}
	return &timedStore{Store: s, kind: kind, m: m}
}

type timedStore struct {
	state.Store
	kind string
	m    *Metrics
}

var _ state.Store = (*timedStore)(nil)

func (t *timedStore) observe(op string, start time.Time, err error) {
	t.m.StoreCall(t.kind, op, storeResult(err), time.Since(start))
}

func storeResult(err error) string {
	switch {
	case err == nil, errors.Is(err, state.ErrNotFound):
		return "ok"
	case errors.Is(err, state.ErrLocked):
		return "locked"
	case errors.Is(err, state.ErrSerialConflict), errors.Is(err, state.ErrLineageMismatch):
		return "conflict"
	}
	return "error"
}

func (t *timedStore) Get(ctx context.Context, project string) (_ *state.State, err error) {
	defer func(start time.Time) { t.observe("get", start, err) }(time.Now())
	return t.Store.Get(ctx, project)
}

func (t *timedStore) Put(ctx context.Context, s *state.State, prev uint64, reason string) (err error) {
	defer func(start time.Time) { t.observe("put", start, err) }(time.Now())
	return t.Store.Put(ctx, s, prev, reason)
}

func (t *timedStore) Apply(ctx context.Context, project string, prev uint64, c state.Change) (err error) {
	defer func(start time.Time) { t.observe("apply", start, err) }(time.Now())
	return t.Store.Apply(ctx, project, prev, c)
}

func (t *timedStore) Lock(ctx context.Context, project string, info state.LockInfo) (err error) {
	defer func(start time.Time) { t.observe("lock", start, err) }(time.Now())
	return t.Store.Lock(ctx, project, info)
}

func (t *timedStore) Unlock(ctx context.Context, project, id string) (err error) {
	defer func(start time.Time) { t.observe("unlock", start, err) }(time.Now())
	return t.Store.Unlock(ctx, project, id)
}

// Unwrap returns the store InstrumentStore wrapped.
func (t *timedStore) Unwrap() state.Store { return t.Store }
