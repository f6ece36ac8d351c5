package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/internal/records"
)

// Put replaces the project's module rows in one transaction, check-and-set
// on the project row's serial and lineage.
func (s *Store) Put(ctx context.Context, doc *state.State, prev uint64, reason string) error {
	if err := state.CheckPut(doc, prev); err != nil {
		return err
	}
	if err := s.check(doc.Project); err != nil {
		return err
	}
	mods := make([]*state.Module, 0, len(doc.Modules))
	for _, a := range doc.Addresses() {
		mods = append(mods, doc.Modules[a])
	}
	bodies, err := records.Encode(mods)
	if err != nil {
		return fmt.Errorf("put state of %q: %w", doc.Project, err)
	}
	w := write{project: doc.Project, prev: prev, lineage: doc.Lineage, reason: reason, digest: records.Digest(prev, "put:"+doc.Lineage, bodies...)}
	err = s.inTx(ctx, w, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM nexus_state_modules WHERE project = $1`, doc.Project); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"nexus_state_modules"}, []string{"project", "address", "body"},
			pgx.CopyFromSlice(len(mods), func(i int) ([]any, error) {
				return []any{doc.Project, mods[i].Spec.Address, string(bodies[i])}, nil
			}))
		return err
	})
	if err != nil {
		return s.wrap("put", doc.Project, err)
	}
	return nil
}

// Apply upserts and deletes only the changed module rows, in one
// transaction, check-and-set on the project row's serial. With prev 0 and
// no project row it creates one with a fresh lineage.
func (s *Store) Apply(ctx context.Context, project string, prev uint64, c state.Change) error {
	if err := state.CheckChange(c); err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	if err := s.check(project); err != nil {
		return err
	}
	c.Set = records.Dedup(c.Set)
	bodies, err := records.Encode(c.Set)
	if err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	addrs := make([]string, len(c.Set))
	for i, m := range c.Set {
		addrs[i] = m.Spec.Address
	}
	parts := append(bodies, []byte(strings.Join(c.Delete, "\n")))
	w := write{project: project, prev: prev, reason: "apply", digest: records.Digest(prev, "apply", parts...)}
	if prev == 0 {
		w.lineage = uuid.NewString()
	}
	err = s.inTx(ctx, w, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if len(c.Set) > 0 {
			b.Queue(`INSERT INTO nexus_state_modules (project, address, body)
				SELECT $1, a, b::json FROM unnest($2::text[], $3::text[]) AS u(a, b)
				ON CONFLICT (project, address) DO UPDATE SET body = EXCLUDED.body`, project, addrs, texts(bodies))
		}
		if len(c.Delete) > 0 {
			b.Queue(`DELETE FROM nexus_state_modules WHERE project = $1 AND address = ANY($2)`, project, c.Delete)
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return s.wrap("apply to", project, err)
	}
	return nil
}

func texts(bodies [][]byte) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		out[i] = string(b)
	}
	return out
}

// write describes one check-and-set write of a project.
type write struct {
	project string
	prev    uint64
	lineage string // Put: the document's; Apply with prev 0: a fresh one
	reason  string
	digest  string
}

// inTx runs one write: it moves the project row from serial prev to
// prev+1 (creating it when prev is 0), runs body, records history and
// commits; when the row is not at prev it rolls back and says why.
func (s *Store) inTx(ctx context.Context, w write, body func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var tag interface{ RowsAffected() int64 }
	if w.prev == 0 {
		tag, err = tx.Exec(ctx, `INSERT INTO nexus_state_projects (project, lineage, serial, version, last_write)
			VALUES ($1, $2, 1, $3, $4) ON CONFLICT (project) DO NOTHING`, w.project, w.lineage, state.FormatVersion, w.digest)
	} else {
		// lineage = coalesce(...) leaves Apply (no lineage) unchecked.
		tag, err = tx.Exec(ctx, `UPDATE nexus_state_projects SET serial = $2 + 1, last_write = $3, updated_at = now()
			WHERE project = $1 AND serial = $2 AND version = $4 AND lineage = coalesce(nullif($5, ''), lineage)`,
			w.project, int64(w.prev), w.digest, state.FormatVersion, w.lineage)
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return s.whyNot(ctx, tx, w)
	}
	if err := body(tx); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO nexus_state_history (project, serial, lineage, time, modules, reason)
		SELECT project, serial, lineage, now(), (SELECT count(*) FROM nexus_state_modules WHERE project = $1), $2
		FROM nexus_state_projects WHERE project = $1
		ON CONFLICT (project, serial) DO UPDATE SET lineage = EXCLUDED.lineage, time = EXCLUDED.time, modules = EXCLUDED.modules, reason = EXCLUDED.reason`,
		w.project, w.reason)
	b.Queue(`DELETE FROM nexus_state_history WHERE project = $1 AND serial <= $2`, w.project, int64(w.prev+1)-int64(s.opts.HistoryLimit))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// whyNot explains a write whose check-and-set matched no row. A retry of
// the write that made the current serial (its reply lost) is success.
func (s *Store) whyNot(ctx context.Context, tx pgx.Tx, w write) error {
	var (
		lineage, last string
		serial        int64
		version       int
	)
	err := tx.QueryRow(ctx, `SELECT lineage, serial, version, last_write FROM nexus_state_projects WHERE project = $1`, w.project).
		Scan(&lineage, &serial, &version, &last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: no state stored, want serial %d", state.ErrSerialConflict, w.prev)
	case err != nil:
		return err
	case version != state.FormatVersion:
		return fmt.Errorf("%w: nexus_state_projects row of %q has format version %d, this nexus writes version %d",
			state.ErrUnsupportedVersion, w.project, version, state.FormatVersion)
	case uint64(serial) == w.prev+1 && last == w.digest:
		return nil // done before: the caller retried after a lost reply
	case w.prev != 0 && w.lineage != "" && lineage != w.lineage:
		return fmt.Errorf("%w: stored lineage %s, document lineage %s", state.ErrLineageMismatch, lineage, w.lineage)
	}
	return fmt.Errorf("%w: stored serial %d, want %d", state.ErrSerialConflict, serial, w.prev)
}
